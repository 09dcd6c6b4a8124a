"""E1xx: raw bytes to text.

Order of evidence: a BOM; valid UTF-8; otherwise the Chinese legacy codecs (GB18030, which covers
GBK and GB2312, and Big5-HKSCS), judged by how plausible the decoded Chinese is, with
charset-normalizer consulted for other legacy encodings. Files whose encoding changes part-way are
decoded line by line and every switch is recorded. Bytes no codec explains are decoded by a
shortest-path search over the byte string (each step an ASCII byte, a valid multi-byte character
or one damaged byte), so a deleted or stray byte costs one replacement character instead of
misaligning the rest of the line.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any

from repair.records import Change
from repair.registry import Rule, register

LEGACY_CJK = ("gb18030", "big5hkscs")
SAMPLE_BYTES = 1 << 16
# A decoding whose Chinese is less plausible than this (mean log-probability per character) is
# not accepted on the Chinese model's word alone.
PLAUSIBLE_CHINESE = -9.0
BEAM = 6  # paths kept per byte position in the damaged-line search
DAMAGED_BYTE_COST = 14.0  # nats: dearer than a rare character, cheaper than a misaligned run
TIE_NATS = 0.2  # model scores this close cannot choose between two decodings

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


class _ByteRule(Rule):
    text_rule = False  # reported by the decoder, not run over text


@register
class BomRemoved(_ByteRule):
    """A byte-order mark at the start of the file. Output is UTF-8 without a BOM: the BOM is dropped."""

    code = "E101"
    name = "bom-removed"
    summary = "Byte-order mark dropped; output is UTF-8 without BOM"
    example = ("\ufeff中文", "中文")


@register
class LegacyEncoding(_ByteRule):
    """The file is not UTF-8 (GB18030/GBK/GB2312, Big5/HKSCS, UTF-16/32, or another legacy
    encoding). It is decoded and written back as UTF-8; the report names the encoding and why."""

    code = "E102"
    name = "legacy-encoding"
    summary = "File decoded from a legacy encoding and written as UTF-8"
    example = ("b'\\xd6\\xd0\\xce\\xc4' (GBK)", "中文")


@register
class MixedEncoding(_ByteRule):
    """Parts of the file are in different encodings (for example a GBK file appended to a UTF-8
    one). Each line is decoded with the encoding that explains it; every switch is recorded."""

    code = "E103"
    name = "mixed-encoding"
    summary = "Encoding changes part-way through the file; decoded per line"
    example = ("UTF-8 lines, then GBK lines", "all UTF-8")


@register
class UndecodableBytes(_ByteRule):
    """Bytes that no encoding explains (a deleted, inserted or corrupted byte). They become U+FFFD
    and are flagged; a fix never writes over a file that could not be fully decoded."""

    code = "E104"
    name = "undecodable-bytes"
    summary = "Bytes that no encoding explains; replaced by U+FFFD and flagged"
    example = ("b'\\xd6\\xce\\xc4' (one byte of 中 lost)", "\ufffd文")
    fixable = False


@register
class BinaryFile(_ByteRule):
    """NUL bytes or control characters in quantity, and no text encoding explains them:
    the file is skipped with a warning, never rewritten."""

    code = "E105"
    name = "binary-file"
    summary = "Binary content; file skipped"
    example = ("b'\\x89PNG\\r\\n\\x1a\\n\\x00...'", "(skipped)")
    fixable = False


@dataclass
class Decoded:
    text: str
    encoding: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    complete: bool = True  # False: some bytes could not be decoded; never overwrite the source
    binary: bool = False

    @property
    def info(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "encoding_reason": self.reason}


def _record(rule: type[Rule], start: int, end: int, before: str, after: str | None, message: str) -> Change:
    return Change(rule.code, rule.name, start, end, before, after, 1.0, message, applied=after is not None)


def decode_bytes(data: bytes, path: str | None = None) -> Decoded:
    """Decode raw file content; see the module docstring for the order of evidence."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with_bom(data, bom, encoding)
    if _looks_binary(data):
        return Decoded("", "binary", "NUL or control bytes", binary=True)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", "valid UTF-8")
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data)


def _decode_with_bom(data: bytes, bom: bytes, encoding: str) -> Decoded:
    body = data[len(bom):]
    try:
        text = body.decode(encoding)
        complete = True
    except UnicodeDecodeError:
        text = body.decode(encoding, errors="replace")
        complete = False
    changes = [_record(BomRemoved, 0, 0, "\ufeff", "", f"{encoding} byte-order mark dropped")]
    if encoding != "utf-8":
        changes.append(_record(LegacyEncoding, 0, len(text), "", "", f"decoded as {encoding} (byte-order mark)"))
    changes.extend(_flag_replacements(text, "bytes invalid in " + encoding) if not complete else [])
    return Decoded(text, encoding, "byte-order mark", changes, complete)


def _looks_binary(data: bytes) -> bool:
    sample = data[:SAMPLE_BYTES]
    if b"\x00" in sample:
        return True
    return len(_CONTROL_BYTES.findall(sample)) > max(8, len(sample) // 100)


def _decode_legacy(data: bytes) -> Decoded:
    lines = data.splitlines(keepends=True)
    utf8_lines = [_try(line, "utf-8") for line in lines]
    near_utf8 = [_damaged_utf8(line) if text is None else None for line, text in zip(lines, utf8_lines)]
    foreign = [line for line, text, near in zip(lines, utf8_lines, near_utf8) if text is None and near is None]
    if not foreign:  # UTF-8 throughout, a few bytes damaged: only those become U+FFFD
        text = "".join(t if t is not None else n for t, n in zip(utf8_lines, near_utf8))
        return _finish(text, "utf-8", "UTF-8 with undecodable bytes", [], damaged=True)
    if any(near_utf8):  # decode them as UTF-8, not as the legacy codec the other lines use
        utf8_lines = [t if t is not None else n for t, n in zip(utf8_lines, near_utf8)]
    encoding, reason = _choose_legacy(b"".join(foreign))
    has_utf8_text = any(text is not None and not text.isascii() for text in utf8_lines)
    if not has_utf8_text:
        pieces, damaged = _decode_lines(lines, [None] * len(lines), encoding)
        text = "".join(pieces)
        changes = [_record(LegacyEncoding, 0, len(text), "", "", f"decoded as {encoding}: {reason}")]
        return _finish(text, encoding, reason, changes, damaged)
    # Some lines are UTF-8 with non-ASCII text, the others are not: a mixed file.
    pieces, damaged = _decode_lines(lines, utf8_lines, encoding)
    changes = _record_switches(utf8_lines, pieces, encoding)
    return _finish("".join(pieces), f"utf-8+{encoding}", f"mixed: UTF-8 and {encoding} ({reason})", changes, damaged)


def _damaged_utf8(line: bytes) -> str | None:
    """`line` decoded as UTF-8 if it is UTF-8 with a few bad bytes, else None. UTF-8 resynchronises
    after a bad byte, so damaged UTF-8 keeps most of its characters; a GBK or Big5 line read as
    UTF-8 fails on nearly every character."""
    text = line.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - line.count("\ufffd".encode("utf-8"))  # U+FFFD already in the line is text
    good = len(text) - bad - len(text.encode("ascii", errors="ignore"))
    return text if bad and good >= 4 * bad else None


def _finish(text: str, encoding: str, reason: str, changes: list[Change], damaged: bool) -> Decoded:
    if damaged:
        changes.extend(_flag_replacements(text, f"byte(s) no {encoding} character explains"))
    return Decoded(text, encoding, reason, changes, complete=not damaged)


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _choose_legacy(sample: bytes) -> tuple[str, str]:
    """Pick the legacy codec that best explains `sample` and say why."""
    sample = sample[:SAMPLE_BYTES]
    scored = []
    for encoding in LEGACY_CJK:
        text = sample.decode(encoding, errors="replace")
        strict = _try(sample, encoding) is not None
        scored.append((strict, _plausibility(text), encoding))
    scored.sort(reverse=True)
    strict, plausibility, best = scored[0]
    if plausibility >= PLAUSIBLE_CHINESE:
        how = "decodes strictly" if strict else "decodes with damaged bytes"
        return best, f"{how}; most plausible Chinese of {', '.join(LEGACY_CJK)} ({plausibility:.1f}/char)"
    other = _charset_normalizer_guess(sample)
    if other is not None:
        return other, "charset-normalizer; not plausible as Chinese"
    return best, f"best of {', '.join(LEGACY_CJK)} though implausible ({plausibility:.1f}/char)"


def _plausibility(text: str) -> float:
    from repair import lm

    text = "".join(ch for ch in text if not ch.isspace())
    return lm.mean_logprob(text[:4000]) if text else 0.0


def _charset_normalizer_guess(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or _try(sample, best.encoding) is None:
        return None
    return best.encoding


def _decode_lines(lines: list[bytes], known: list[str | None], encoding: str) -> tuple[list[str], bool]:
    """Decode each line not already decoded; repair damaged lines by the shortest-path search."""
    out = []
    damaged = False
    for line, text in zip(lines, known):
        if text is None:
            text = _try(line, encoding)
        if text is None:
            text = decode_damaged(line, encoding)
            damaged = True
        out.append(text)
    return out, damaged


def _record_switches(utf8_lines: list[str | None], pieces: list[str], encoding: str) -> list[Change]:
    """One record per run of lines in one encoding; ASCII-only lines belong to the run they are in."""
    runs: list[list[Any]] = []  # [encoding, start offset, end offset, first line, last line]
    offset = 0
    for number, (utf8_text, piece) in enumerate(zip(utf8_lines, pieces), 1):
        kind = "utf-8" if utf8_text is not None else encoding
        if runs and utf8_text is not None and utf8_text.isascii():
            kind = runs[-1][0]
        end = offset + len(piece)
        if runs and runs[-1][0] == kind:
            runs[-1][2], runs[-1][4] = end, number
        else:
            runs.append([kind, offset, end, number, number])
        offset = end
    return [
        _record(MixedEncoding, start, end, "", "", f"lines {first}-{last} decoded as {kind}")
        for kind, start, end, first, last in runs
    ]


def _flag_replacements(text: str, why: str) -> list[Change]:
    return [
        _record(UndecodableBytes, m.start(), m.end(), m.group(), None, why)
        for m in re.finditer("\ufffd+", text)
    ]


# --- damaged lines: the cheapest explanation of the bytes ----------------------------------------

# Bytes below 0x30 (controls, space, line ends, ASCII punctuation) are whole characters in every
# legacy encoding decoded here: never a trail byte, nor inside a GB18030 four-byte character.
_WHOLE_CHARACTER_BYTE = re.compile(rb"[\x00-\x2f]")


def decode_damaged(data: bytes, encoding: str) -> str:
    """Decode `data` as `encoding`, treating as few bytes as possible as damaged.

    Only the stretch around each spot where strict decoding fails goes through the search
    (:func:`_cheapest_reading`): from the last byte below 0x30 before it to the next one after it.
    A misreading cannot cross such a byte, and a long line with one bad byte then costs a short
    search instead of one over the whole line. Bytes that decode strictly, and encodings other than
    the Chinese ones (UTF-16 splits any byte), are searched whole.
    """
    if encoding not in LEGACY_CJK or _try(data, encoding) is not None:
        return _cheapest_reading(data, encoding)
    pieces = []
    pos = 0
    while pos < len(data):
        try:
            pieces.append(data[pos:].decode(encoding))
            break
        except UnicodeDecodeError as exc:
            error = pos + exc.start
        start = pos
        for match in _WHOLE_CHARACTER_BYTE.finditer(data, pos, error):
            start = match.end()
        following = _WHOLE_CHARACTER_BYTE.search(data, error + 1)
        stop = following.start() if following else len(data)
        pieces.append(data[pos:start].decode(encoding))
        left = pieces[-1][-1:] or (pieces[-2][-1:] if len(pieces) > 1 else "")
        pieces.append(_cheapest_reading(data[start:stop], encoding, left))
        pos = stop
    return "".join(pieces)


def _cheapest_reading(data: bytes, encoding: str, left: str = "") -> str:
    """Decode `data` as `encoding`, treating as few bytes as possible as damaged.

    Dynamic programming over byte positions, keeping the best few paths per byte (the language
    model scores each character given the last real one before it): a step consumes an ASCII
    byte, one valid multi-byte character, or one damaged byte (a fixed high cost, output U+FFFD).
    A deleted byte then costs one U+FFFD instead of a misaligned run of unlikely characters.
    `left` is the character before `data`, the model's context for the first one.
    """
    from repair import lm

    n = len(data)
    start = (left, left)  # (last character, last real character)
    # states[i]: key -> _Path ending at byte i
    states: list[dict[tuple[str, str], _Path]] = [dict() for _ in range(n + 1)]
    states[0][start] = _Path(0.0, -1, start, -1)
    for i in range(n):
        if len(states[i]) > BEAM:
            states[i] = dict(sorted(states[i].items(), key=lambda kv: kv[1].cost)[:BEAM])
        for key, path in states[i].items():
            context = key[1]
            steps = [(w, ch, -lm.logprob(ch, left=context)) for w, ch in _steps(data, i, encoding)]
            steps.append((1, "\ufffd", DAMAGED_BYTE_COST))
            for width, char, step_cost in steps:
                damage = i if char == "\ufffd" else path.last_damage
                candidate = _Path(path.cost + step_cost, i, key, damage)
                new_key = (char, context if char == "\ufffd" else char)
                known = states[i + width].get(new_key)
                if known is None or candidate.beats(known):
                    states[i + width][new_key] = candidate
    pieces = []
    key = min(states[n], key=lambda k: states[n][k].cost)
    pos = n
    while pos > 0:
        path = states[pos][key]
        pieces.append(key[0])
        pos, key = path.prev_pos, path.prev_key
    return "".join(reversed(pieces))


@dataclass
class _Path:
    cost: float
    prev_pos: int
    prev_key: tuple[str, str]
    last_damage: int  # byte position of the latest damaged byte on this path

    def beats(self, other: _Path) -> bool:
        # Bytes before the damage are aligned from the line start; between explanations the model
        # cannot tell apart, the one that keeps that alignment longer is right.
        if abs(self.cost - other.cost) <= TIE_NATS:
            return self.last_damage > other.last_damage
        return self.cost < other.cost


def _steps(data: bytes, i: int, encoding: str):
    if data[i] < 0x80:
        yield 1, chr(data[i])
        return
    for width in (2, 4) if encoding == "gb18030" else (2,):
        chunk = data[i : i + width]
        if len(chunk) == width:
            char = _try(chunk, encoding)
            # Private-use code points are where damaged bytes land, not text.
            if char is not None and len(char) == 1 and not 0xE000 <= ord(char) <= 0xF8FF:
                yield width, char
