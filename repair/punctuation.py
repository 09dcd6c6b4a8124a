"""P1xx: invisible characters and punctuation conventions.

P101 and P102 remove characters that clean text never contains (control characters, zero-width
spaces) and are on by default; they keep what some scripts need (ZWJ in emoji and Indic text,
ZWSP between Thai words). P103 rewrites visible punctuation, so it is off by default: an
NFKC-normalised corpus writes `,:;()!?` in ASCII between Hanzi, and that is a convention, not damage.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from repair.records import Change
from repair.registry import Context, Rule, register

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANZI = re.compile(f"[{_HAN}]")


@register
class ControlCharacter(Rule):
    """C0 and C1 control characters other than tab, newline, carriage return and form feed, and
    ANSI terminal escape sequences (ESC [ 31 m), which text copied from a terminal or a broken
    export carries. A C1 character next to other Latin-1 characters is left alone: it is more
    likely a piece of mojibake (UTF-8 read as Latin-1) for the M rules than a stray control."""

    code = "P101"
    name = "control-character"
    summary = "Control character (C0/C1 other than \\t \\n \\r \\f, ANSI escape) removed"
    example = ("中文\x00内容\x1b[31m红\x1b[0m", "中文内容红")

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        done = 0  # end of the last escape sequence
        for hit in _CONTROL.finditer(text):
            start = hit.start()
            if start < done or _is_mojibake_piece(text, start):
                continue
            escape = _ANSI_ESCAPE.match(text, start) if text[start] == "\x1b" else None
            done = escape.end() if escape else start + 1
            yield self.fix(text, start, done, "", 0.95, f"control character {_names(text[start:done])} removed")


# One character class first: clean text is scanned at memchr-like speed, hits are judged in Python.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def _is_mojibake_piece(text: str, i: int) -> bool:
    """A C1 character next to another Latin-1 character (â\x80\x9c): UTF-8 read as Latin-1."""
    if not "\x80" <= text[i] <= "\x9f":
        return False
    return (i > 0 and "\x80" <= text[i - 1] <= "\xff") or (i + 1 < len(text) and "\x80" <= text[i + 1] <= "\xff")


def _names(chars: str) -> str:
    if chars.startswith("\x1b["):
        return f"sequence {chars!r}"
    return " ".join(f"U+{ord(c):04X}" for c in chars)


@register
class ZeroWidthCharacter(Rule):
    """Zero-width space (U+200B), zero-width no-break space / stray BOM (U+FEFF) and word joiner
    (U+2060) inside text, and zero-width (non-)joiners between two Hanzi, where they do nothing.
    Kept: ZWJ/ZWNJ anywhere else (emoji sequences, Indic and Persian text) and ZWSP between Thai,
    Lao, Khmer or Myanmar letters, where it marks word boundaries."""

    code = "P102"
    name = "zero-width-character"
    summary = "Invisible zero-width character removed"
    example = ("中\u200b文\ufeff", "中文")

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        for hit in _ZERO_WIDTH.finditer(text):
            start, end = hit.span()
            before = text[start - 1] if start else ""
            after = text[end] if end < len(text) else ""
            for i in range(start, end):
                if _removable(text[i], before, after):
                    yield self.fix(text, i, i + 1, "", 0.95, f"{_names(text[i])} removed")


_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]+")
_THAI_LIKE = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")  # Thai, Lao, Myanmar, Khmer


def _removable(char: str, before: str, after: str) -> bool:
    """Whether a zero-width character between `before` and `after` does nothing."""
    if char in "\u200c\u200d":  # joiners shape emoji and Indic/Arabic text; between Hanzi they do nothing
        return bool(_HANZI.match(before) and _HANZI.match(after))
    if char == "\u200b":  # marks word breaks in scripts written without spaces
        return not (_THAI_LIKE.match(before) and _THAI_LIKE.match(after))
    return True


_ASCII_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}
_FULL_TO_ASCII = {v: k for k, v in _ASCII_TO_FULL.items()}
_OPENERS = "“‘「『《〈（【"
_CLOSERS = "”’」』》〉）】"
# A separator between two Hanzi; ! and ? may also end a clause; parentheses only as a pair around Hanzi.
# The mark comes first and the Hanzi before it is checked by a lookbehind over both: the regex
# then skips to candidate marks instead of testing a lookbehind at every position.
_SEPARATOR = re.compile(f"[,:;，：；](?<=[{_HAN}].)(?=[{_HAN}{_OPENERS}])")
_END_MARK = re.compile(f"[!?！？](?<=[{_HAN}].)(?=[{_HAN}{_OPENERS}{_CLOSERS}\\s]|$)", re.MULTILINE)
_PAIR = re.compile(f"[(（](?=[{_HAN}])[^()（）\\n]{{1,40}}(?<=[{_HAN}])[)）]")


@register
class PunctuationConvention(Rule):
    """Punctuation between Hanzi that does not follow the document's own convention: where most
    of `, : ; ( ) ! ?` between Hanzi are fullwidth (，：；（）！？), the ASCII ones become fullwidth,
    and the other way round for a corpus that was NFKC-normalised. Off by default: both
    conventions are legitimate. A document without a clear majority (`min-share` of the marks,
    at least `min-marks` of them) is left alone."""

    code = "P103"
    name = "punctuation-convention"
    summary = "Punctuation between Hanzi unified to the document's dominant convention"
    example = ("我们,你们：他们，它们；好的！", "我们，你们：他们，它们；好的！")
    default = False
    options = {"min-share": 0.75, "min-marks": 3}

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        if not _HANZI.search(text):
            return
        marks = _marks(text)
        full = sum(1 for mark in marks if mark[0][1] in _FULL_TO_ASCII)
        ascii_ = len(marks) - full
        options = ctx.options(self)
        dominant = max(full, ascii_)
        if dominant < options["min-marks"] or dominant < options["min-share"] * len(marks) or full == ascii_:
            return
        mapping = _ASCII_TO_FULL if full > ascii_ else _FULL_TO_ASCII
        share = f"{dominant} of {len(marks)} marks between Hanzi are {'fullwidth' if full > ascii_ else 'ASCII'}"
        for mark in marks:
            for position, char in mark:
                if char in mapping:
                    message = f"{char!r} -> {mapping[char]!r}: {share}"
                    yield self.fix(text, position, position + 1, mapping[char], 0.9, message)


def _marks(text: str) -> list[tuple[tuple[int, str], ...]]:
    """Every convention-bearing mark between Hanzi as (position, character); a pair of
    parentheses is one mark of two characters."""
    found = [((m.start(), m.group()),) for regex in (_SEPARATOR, _END_MARK) for m in regex.finditer(text)]
    for pair in _PAIR.finditer(text):
        opening, closing = pair.group()[0], pair.group()[-1]
        if (opening == "(") == (closing == ")"):  # a mixed pair (…）is left for a person
            found.append(((pair.start(), opening), (pair.end() - 1, closing)))
    return sorted(found)
