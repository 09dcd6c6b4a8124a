"""Script rules (S1xx): which script a document is written in, and conversion to the configured one.

OpenCC loads lazily. The official binding (``opencc`` with ``__version__`` and its C library,
about 35 MB/s) is preferred; opencc-python-reimplemented installs a module of the same name with
the same ``OpenCC(name).convert(text)`` call but no ``__version__`` (about 1 MB/s). Both accept the
bare config names used here ("t2s", "s2tw", ...).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import compress, count
from operator import ne
from pathlib import Path
from typing import Any

from repair.records import Change
from repair.registry import Context, Rule, register

# config.script -> the OpenCC conversion that produces it.
CONVERSIONS = {"simplified": "t2s", "traditional": "s2t", "tw": "s2tw", "hk": "s2hk", "twp": "s2twp"}

# The blocks OpenCC's character tables cover (unified ideographs, extension A, compatibility).
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_KANA = re.compile(r"[\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff]")
# The report's `script` reads at most this many characters, in evenly spaced slices (about 0.1 ms);
# S102, when selected, reads the whole document.
SAMPLE_CHARS = 2_048
_SAMPLE_SLICES = 8
CONVERTED_MEMO = "S101-output"


def opencc_backend() -> str:
    """'official' (the C++ binding), 'reimplemented' (pure Python) or 'missing'."""
    try:
        import opencc
    except ImportError:
        return "missing"
    return "official" if hasattr(opencc, "__version__") else "reimplemented"


@lru_cache(maxsize=None)
def converter(conversion: str) -> Any:
    """An OpenCC converter for a config name such as "t2s" (either backend)."""
    try:
        import opencc
    except ImportError as exc:
        raise RuntimeError("script conversion needs OpenCC: pip install opencc (or opencc-python-reimplemented)") from exc
    return opencc.OpenCC(conversion)


def convert(text: str, conversion: str) -> str:
    return converter(conversion).convert(text)


SCRIPT_CHARS_PATH = Path(__file__).resolve().parent / "data" / "script_chars.txt"


@lru_cache(maxsize=1)
def script_chars() -> tuple[frozenset[str], frozenset[str]]:
    """(traditional-only, simplified-only) characters: `derive_script_chars` as
    scripts/build_startup_tables.py shipped it, so that telling the scripts apart does not load
    OpenCC (a twentieth of a second in every process) and does not depend on its backend."""
    traditional, simplified = SCRIPT_CHARS_PATH.read_text(encoding="utf-8").split("\n")[:2]
    return frozenset(traditional), frozenset(simplified)


def derive_script_chars() -> tuple[frozenset[str], frozenset[str]]:
    """(traditional-only, simplified-only) characters, as OpenCC converts them one at a time.

    A character counts as traditional when t2s changes it and s2t does not, and the other way
    round; characters both tables change (compatibility ideographs) belong to neither.
    """
    chars = "".join(chr(cp) for lo, hi in _HAN_RANGES for cp in range(lo, hi + 1))
    joined = "\n".join(chars)  # one character per line, so no phrase spans two of them

    def changed(conversion: str) -> set[str]:
        out = convert(joined, conversion).split("\n")
        return {a for a, b in zip(chars, out) if a != b}

    to_simplified, to_traditional = changed("t2s"), changed("s2t")
    return frozenset(to_simplified - to_traditional), frozenset(to_traditional - to_simplified)


# Nats against restoring a character of the script the surrounding text does not use (a search
# over lost bytes or characters sees both scripts; the bigram model cannot tell them apart).
OTHER_SCRIPT = 4.0


def foreign_script(text: str) -> frozenset[str]:
    """The traditional-only characters when `text` is clearly simplified, else none: simplified
    text hardly ever uses them (a lost 记 is not 記), while traditional text often keeps
    characters OpenCC counts as simplified (并, 台, 着)."""
    traditional, simplified = script_chars()
    counts = Counter(text)  # counted in C; the sums then run over distinct characters only
    trad = sum(n for ch, n in counts.items() if ch in traditional)
    simp = sum(n for ch, n in counts.items() if ch in simplified)
    return traditional if simp > 3 * trad + 2 else frozenset()


@lru_cache(maxsize=1)
def _script_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    traditional, simplified = script_chars()
    return tuple(re.compile("[" + "".join(sorted(chars)) + "]") for chars in (traditional, simplified))


def traditional_chars() -> frozenset[str]:
    return script_chars()[0]


def _sample(text: str, size: int = SAMPLE_CHARS) -> str:
    if len(text) <= size:
        return text
    step, width = len(text) // _SAMPLE_SLICES, size // _SAMPLE_SLICES
    return "".join(text[i : i + width] for i in range(0, step * _SAMPLE_SLICES, step))


def count_script_chars(text: str) -> tuple[int, int]:
    """(traditional-only, simplified-only) character counts in `text`."""
    trad, simp = _script_patterns()
    return len(trad.findall(text)), len(simp.findall(text))


def classify(traditional: int, simplified: int, min_share: float, min_chars: int) -> str:
    """'simplified', 'traditional', 'mixed', or 'none' when nothing tells the scripts apart."""
    total = traditional + simplified
    if total == 0:
        return "none"
    minority = min(traditional, simplified)
    if minority >= min_chars and minority >= min_share * total:
        return "mixed"
    return "traditional" if traditional > simplified else "simplified"


def document_script(text: str, min_share: float, min_chars: int, sample: int | None = SAMPLE_CHARS) -> str:
    """The script of `text` (of `sample` characters of it; None: all of it); 'japanese' when kana
    show it is not Chinese."""
    if text.isascii():
        return "none"
    if sample is not None:
        text = _sample(text, sample)
    traditional, simplified = count_script_chars(text)
    if _KANA.search(text) and len(_KANA.findall(text)) >= max(5, (traditional + simplified) // 4):
        return "japanese"
    return classify(traditional, simplified, min_share, min_chars)


def changed_runs(before: str, after: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, replacement) for each maximal run where `after` differs from `before`."""
    if len(before) == len(after):
        yield from _equal_length_runs(before, after, 0)
        return
    before_lines, after_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(before_lines) != len(after_lines):
        yield from _matcher_runs(before, after, 0)
        return
    offset = 0
    for old, new in zip(before_lines, after_lines):
        if old != new:
            runs = _equal_length_runs(old, new, offset) if len(old) == len(new) else _matcher_runs(old, new, offset)
            yield from runs
        offset += len(old)


def _equal_length_runs(before: str, after: str, offset: int) -> Iterator[tuple[int, int, str]]:
    # The differing positions come from C-level iteration; Python only walks the changed ones.
    differing = compress(count(), map(ne, before, after))
    start = end = next(differing, None)
    if start is None:
        return
    for i in differing:
        if i != end + 1:
            yield offset + start, offset + end + 1, after[start : end + 1]
            start = i
        end = i
    yield offset + start, offset + end + 1, after[start : end + 1]


def _matcher_runs(before: str, after: str, offset: int) -> Iterator[tuple[int, int, str]]:
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            yield offset + i1, offset + i2, after[j1:j2]


@register
class MixedScript(Rule):
    """A document that mixes simplified-only and traditional-only characters.

    Counts the characters OpenCC's tables mark as traditional-only and simplified-only in the whole
    document (the report's `script` otherwise reads a sample). The document is mixed when the
    smaller count is at least `min-chars` and at least `min-share` of both counts together. Clean
    text legitimately holds some forms of the other script (names, quotations, 乾隆 in simplified
    text, 台 in Taiwanese text), so the thresholds leave those alone; and the rule is off by
    default because mixing is a property of the source, not damage this tool can undo. Each run
    of minority-script characters is flagged. Japanese text (kana) is never called mixed.
    """

    code = "S102"
    name = "mixed-script"
    summary = "Document mixes simplified and traditional characters"
    example = ("这个項目已经開始", "这个項目已经開始")
    fixable = False
    default = False
    options = {"min-share": 0.1, "min-chars": 10}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        opts = ctx.options(self)
        script = _record_script(text, ctx)
        if script != "mixed":
            return
        traditional, simplified = count_script_chars(text)
        minority = _script_patterns()[0 if traditional < simplified else 1]
        label, majority = ("traditional", "simplified") if traditional < simplified else ("simplified", "traditional")
        message = (
            f"{label} characters in a {majority} document ({min(traditional, simplified)} of "
            f"{traditional + simplified} script-specific characters; min-share {opts['min-share']})"
        )
        for match in re.finditer(f"(?:{minority.pattern})+", text):
            yield self.flag(text, match.start(), match.end(), 0.6, message)


def _record_script(text: str, ctx: Context) -> str:
    """Set ctx.info['script'] once per document (on the text as the script rules first see it)."""
    script = ctx.info.get("script")
    if script is None:
        opts = ctx.config.rule_options(MixedScript)
        sample = None if ctx.config.is_selected(MixedScript) else SAMPLE_CHARS
        script = document_script(text, float(opts["min-share"]), int(opts["min-chars"]), sample)
        ctx.info["script"] = script
    return script


@register
class ScriptConversion(Rule):
    """Convert the document to the configured script with OpenCC.

    `script = "keep"` (the default) leaves the text alone; "simplified" applies t2s, "traditional"
    s2t, and "tw", "hk", "twp" the regional variants s2tw, s2hk, s2twp (twp also converts
    Taiwanese vocabulary). Japanese documents (kana) are left alone. The rule also records the
    document's script (simplified, traditional, mixed, japanese or none) as `script` in the report,
    whatever the setting, and the OpenCC backend that converted as `opencc`. One record is made
    per run of converted characters.
    """

    code = "S101"
    name = "script-conversion"
    summary = "Convert to the configured script (OpenCC)"
    example = ("区政府工作报告", "區政府工作報告")
    options: dict[str, Any] = {}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        script = _record_script(text, ctx)
        conversion = CONVERSIONS.get(ctx.config.script)
        if conversion is None or script == "japanese" or text.isascii():  # Japanese kanji are not Chinese
            return
        # OpenCC is not idempotent (a phrase can match only once its neighbours are converted), so
        # text this rule produced in an earlier pass is not converted again.
        if ctx.memo(CONVERTED_MEMO, text, lambda _: False):
            return
        converted = convert(text, conversion)
        ctx.memo(CONVERTED_MEMO, converted, lambda _: True)
        ctx.info["opencc"] = opencc_backend()  # the two backends differ in a few phrases
        if converted == text:
            return
        for start, end, after in changed_runs(text, converted):
            yield self.fix(text, start, end, after, 1.0, f"{conversion}: {text[start:end]} -> {after}")
