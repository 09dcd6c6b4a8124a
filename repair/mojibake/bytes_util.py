"""Byte arithmetic for double-byte Chinese codecs (GBK, GB18030, Big5, cp950), shared by the rules.

Python's CJK decoders with ``errors="replace"`` replace exactly one byte per U+FFFD and resume at
the next byte, so a lost lead byte leaves its trail byte behind (Big5 ``A1 41`` read as GBK is
``\\ufffdA``) and the stream may drift out of step. A "-q" decoder shows ``?`` instead of U+FFFD;
a Windows-style decoder drops an unmapped pair silently. Text damaged that way is turned back
into a byte *template*: known bytes, and placeholders for bytes the wrong decoder lost.
"""
from __future__ import annotations

import codecs
from collections.abc import Iterable
from functools import lru_cache

LOST = -1  # a byte the wrong decoder replaced (U+FFFD)
QMARK = -2  # a "?" that is either a real question mark or a byte a "-q" decoder replaced
Template = list[int]  # byte values, LOST and QMARK; one entry per byte


@lru_cache(maxsize=None)
def pair_table(codec: str) -> dict[int, str]:
    """Every two-byte code the codec decodes strictly to one character: (lead << 8 | trail) -> char."""
    trails = range(0x40, 0xFF)
    table = {}
    for lead in range(0x81, 0xFF):
        # All of a row in one decoder call: each pair is followed by a newline, which no double-byte
        # codec pairs with anything, and a pair the codec rejects comes out as U+FFFD, alone or
        # beside its trail byte's own reading, never as one character.
        row = b"\n".join(bytes((lead, trail)) for trail in trails).decode(codec, "replace").split("\n")
        for trail, ch in zip(trails, row):
            if len(ch) == 1 and ch != "\ufffd":
                table[lead << 8 | trail] = ch
    return table


@lru_cache(maxsize=None)
def merged_table(names: tuple[str, ...]) -> dict[int, str]:
    """Pairs of several related codecs, the first one's reading winning (cp950 over big5)."""
    table: dict[int, str] = {}
    for name in reversed(names):
        table.update(pair_table(name))
    return table


@lru_cache(maxsize=None)
def common_pairs(names: tuple[str, ...]) -> frozenset[int]:
    """Pairs every one of the codecs decodes: a byte pair outside it fails in at least one."""
    tables = [pair_table(name) for name in names]
    return frozenset(set(tables[0]).intersection(*tables[1:]))


def _drop_pair(error: UnicodeDecodeError) -> tuple[str, int]:
    """Windows-style decoding: an unmapped lead byte takes a plausible trail byte with it."""
    data, pos = error.object, error.start
    if 0x81 <= data[pos] <= 0xFE and pos + 1 < len(data) and 0x40 <= data[pos + 1] <= 0xFE and data[pos + 1] != 0x7F:
        return "", pos + 2
    return "", pos + 1


def _question_mark(error: UnicodeDecodeError) -> tuple[str, int]:
    return "?", error.start + 1


codecs.register_error("repair-drop-pair", _drop_pair)
codecs.register_error("repair-question-mark", _question_mark)

# How a wrong decoder may have treated bytes it could not map.
ERROR_MODES = ("replace", "repair-question-mark", "repair-drop-pair")


def wrong_decodings(data: bytes, codec_names: Iterable[str]) -> set[str]:
    """Every text the given decoders produce from `data` in each error mode."""
    out = set()
    for name in codec_names:
        for mode in ERROR_MODES:
            out.add(data.decode(name, mode))
    return out


def template_of(text: str, encoders: tuple[str, ...], lost_marks: str = "\ufffd?") -> Template | None:
    """The bytes a wrong decoder read to show `text` (None if some character is not one of its).

    U+FFFD becomes LOST and "?" becomes QMARK (when the marks are listed); the encoders are tried
    in order for every other character (e.g. gbk, then gb18030 for its user-defined area).
    """
    out: Template = []
    for ch in text:
        if ch in lost_marks:
            out.append(LOST if ch == "\ufffd" else QMARK)
            continue
        if ch < "\x80":
            out.append(ord(ch))
            continue
        raw = char_bytes(ch, encoders)
        if raw is None:
            return None
        out.extend(raw)
    return out


@lru_cache(maxsize=65536)
def char_bytes(ch: str, encoders: tuple[str, ...]) -> bytes | None:
    """The two bytes of a non-ASCII character in the first encoder that has it, else None."""
    for name in encoders:
        try:
            raw = ch.encode(name)
        except UnicodeEncodeError:
            continue
        if len(raw) == 2:
            return raw
    return None
