"""M102-M105: text decoded with the wrong codec (UTF-8 read as GBK, GBK or Big5 read as Latin-1,
UTF-8 read as Windows-1252) and the traces of bytes lost that way.

Every repair is byte arithmetic checked by the Chinese language model (``repair.lm``): the damaged
characters go back to the bytes the wrong decoder saw, and those bytes are decoded with the right
codec. Where the wrong decoder lost bytes (U+FFFD, ``?``, bytes it dropped silently) the lost
values are searched among those the codec structure allows, and the language model chooses.
A line is decoded by a shortest-path search over its characters: each character either stays as
it is or contributes its bytes to the re-decoding, and the cost of every choice is the language
model's surprise at the characters it yields, so clean text next to a damaged clause stays put.
"""
from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from repair import lm
from repair.records import Change
from repair.registry import Context, Rule, register
from repair.script import OTHER_SCRIPT, foreign_script

# ------------------------------------------------------------------ bytes and their characters

Element = int | frozenset  # a known byte, or the values a lost byte may have had
Pattern = tuple  # tuple[Element, ...]

CONTINUATION = frozenset(range(0x80, 0xC0))
LEAD3 = frozenset(range(0xE0, 0xF0))
# Bytes Windows-1252 leaves undefined: a strict or "ignore" decoder drops them.
CP1252_UNDEFINED = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))
# A byte a Windows code page 936 decoder swallows with the lead byte before it: no valid trail.
INVALID_TRAIL = frozenset((*range(0x00, 0x40), 0x7F, 0xFF))
# ASCII characters a lost byte may have been (printable, plus line break and tab).
_LOST_ASCII = frozenset((0x09, 0x0A, *range(0x20, 0x7F)))

# Latin-1, Windows-1252 and "sloppy" Windows-1252 (undefined bytes kept as C1 controls): one
# character per byte, and the three agree wherever more than one defines a byte.
_CP1252_EXTRA = {bytes([b]).decode("cp1252"): b for b in range(0x80, 0xA0) if b not in CP1252_UNDEFINED}
SINGLE_BYTE = {**{chr(b): b for b in range(0x100)}, **_CP1252_EXTRA}
_HIGH_CHARS = "".join(re.escape(ch) for ch, b in SINGLE_BYTE.items() if b >= 0x80)
_LATIN1_HIGH = "\x80-\xff"  # the same bytes without the cp1252 punctuation (“” … — are common)
_CONT_CHARS = "".join(re.escape(ch) for ch, b in SINGLE_BYTE.items() if 0x80 <= b < 0xC0)

_HIGH_RUN = re.compile(f"[{_HIGH_CHARS}]")
# UTF-8 read as cp1252: a lead byte character followed by a continuation byte character.
_UTF8_AS_CP1252 = re.compile(f"[\u00c2-\u00f4][{_CONT_CHARS}]")
# GBK/Big5 read as Latin-1: two characters that stand for bytes >= 0x80 in a row, one of them
# from Latin-1 proper (so `”“` between Chinese sentences does not trigger it).
# (Written to look for the Latin-1 character first: the regex engine skips text fastest that way.)
_LEGACY_AS_LATIN1 = re.compile(f"[{_LATIN1_HIGH}](?:(?<=[{_HIGH_CHARS}][{_LATIN1_HIGH}])|(?=[{_HIGH_CHARS}]))")
# Traces of lost bytes: U+FFFD (EF BF BD) pairs read as GBK, uninitialised-memory fills
# (0xCC and 0xCD bytes shown as 烫 and 屯), U+FFFD read as cp1252.
_TRACE_SEEDS = ("锟斤", "烫烫烫烫", "屯屯屯屯", "ï¿½")
_LOST_BYTES_TRACE = re.compile("(?:锟斤拷)+(?:锟斤?)?|锟斤|烫{4,}|屯{4,}|(?:ï¿½)+")


@lru_cache(maxsize=1)
def _utf8_as_gbk_signature() -> re.Pattern[str]:
    """Two characters as GBK makes them of UTF-8 CJK text: the lead byte of a character (E3-E9,
    EF) with its first continuation byte, then a continuation byte with the next lead byte (or
    a mark of a lost byte). Both are rare characters in real text; the pair is in every run."""
    leads = (*range(0xE3, 0xEA), 0xEF)
    first = _gbk_chars((a, b) for a in leads for b in range(0x80, 0xC0))
    # (a continuation byte with a lead byte; or, when the pair between them was dropped, with
    # another continuation byte: then only the rare GBK/3 characters, not the CJK punctuation)
    second = _gbk_chars([(a, b) for a in range(0x80, 0xC0) for b in leads] + [(a, b) for a in range(0x81, 0xA1) for b in range(0x80, 0xC0)])
    return re.compile(f"[{first}][{second}\ue000-\uf8ff€?\ufffd]")


def _gbk_chars(pairs: Iterable[tuple[int, int]]) -> str:
    chars = set()
    for pair in pairs:
        try:
            chars.add(bytes(pair).decode("gbk"))
        except UnicodeDecodeError:
            pass
    return "".join(re.escape(ch) for ch in sorted(chars))


def _utf8_need(lead: int) -> int:
    """Continuation bytes a UTF-8 lead byte takes (-1: not a lead byte)."""
    if lead < 0x80:
        return 0
    if 0xC2 <= lead <= 0xDF:
        return 1
    if 0xE0 <= lead <= 0xEF:
        return 2
    if 0xF0 <= lead <= 0xF4:
        return 3
    return -1


@lru_cache(maxsize=131072)
def _char_ok(ch: str, guessed: bool) -> bool:
    """Could `ch` be in the original text? A guessed character (lost bytes filled in) must be
    Chinese text: Han, CJK or fullwidth punctuation; a decoded one anything but a control."""
    if unicodedata.category(ch) in ("Co", "Cn", "Cs"):
        return False
    cls = lm.char_class(ch)
    if not guessed:  # C1 controls stand for bytes in a text read twice with the wrong codec
        return cls != lm.BAD or "\x80" <= ch <= "\x9f" or ch in "\t\n"
    if cls == lm.BAD:
        return False
    if cls == lm.HAN:
        return -lm.logprob(ch) < GUESS_MAX_COST
    return "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e" or ch in "“”‘’—…·"


# A lost character is guessed only among Han characters the language model knows (unknown ones
# cost about 20 nats): a rare character is never invented.
GUESS_MAX_COST = 19.0


class Candidates(tuple):
    """The characters a lost byte may complete, hashed by identity: the sets are built once
    per byte pattern and used as cache keys many times."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other


@lru_cache(maxsize=65536)
def _resolve_utf8(pattern: Pattern) -> str | Candidates | None:
    """The character(s) a complete UTF-8 byte pattern may stand for (None: none)."""
    if all(isinstance(e, int) for e in pattern):
        try:
            ch = bytes(pattern).decode("utf-8")
        except UnicodeDecodeError:
            return None
        return ch if _char_ok(ch, guessed=False) else None
    found = []
    for combo in itertools.product(*((e,) if isinstance(e, int) else sorted(e) for e in pattern)):
        try:
            ch = bytes(combo).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _char_ok(ch, guessed=True):
            found.append(ch)
    return Candidates(found) if found else None


@lru_cache(maxsize=64)
def _ascii_candidates(values: frozenset) -> Candidates:
    return Candidates(chr(b) for b in sorted(values))


def push_utf8(pending: Pattern, element: Element) -> list[tuple[Pattern, object]]:
    """Feed one byte (or lost byte) to a UTF-8 decoder holding `pending`.

    Returns the possible (new pending bytes, emitted item) pairs; an item is a str, a tuple of
    candidate characters, or None while a character is incomplete. [] means invalid UTF-8."""
    if not pending:
        if isinstance(element, int):
            need = _utf8_need(element)
            if need == 0:
                return [((), chr(element))]
            return [((element,), None)] if need > 0 else []
        out: list[tuple[Pattern, object]] = []
        ascii_values = element & _LOST_ASCII
        if ascii_values:
            out.append(((), _ascii_candidates(ascii_values)))
        leads = element & LEAD3
        if leads:
            out.append(((frozenset(leads),), None))
        return out
    if isinstance(element, int):
        if not 0x80 <= element < 0xC0:
            return []
    else:
        element = element & CONTINUATION
        if not element:
            return []
    grown = pending + (element,)
    lead = grown[0]
    need = 2 if isinstance(lead, frozenset) else _utf8_need(lead)
    if len(grown) <= need:
        return [(grown, None)]
    item = _resolve_utf8(grown)
    return [((), item)] if item else []


def make_push_dbcs(codec: str) -> Callable[[Pattern, Element], list[tuple[Pattern, object]]]:
    """A push function (see push_utf8) for a double-byte codec: GBK or Big5."""

    @lru_cache(maxsize=65536)
    def pair(lead: int, trail: int) -> str | None:
        try:
            ch = bytes((lead, trail)).decode(codec)
        except UnicodeDecodeError:
            return None
        return ch if _char_ok(ch, guessed=False) else None

    def push(pending: Pattern, element: Element) -> list[tuple[Pattern, object]]:
        if not isinstance(element, int):
            return []
        if not pending:
            if element < 0x80:
                return [((), chr(element))]
            return [((element,), None)] if 0x81 <= element <= 0xFE else []
        ch = pair(pending[0], element)
        return [((), ch)] if ch else []

    return push


# ------------------------------------------------------------------ the shortest-path decoder

@dataclass(frozen=True)
class Token:
    """One character of the damaged text and the byte patterns it may stand for, with costs."""

    char: str
    patterns: tuple[tuple[Pattern, float], ...]


RAW = "raw"  # item: the token kept as it is

# The language model conditions on the previous character only through its class, or itself if
# Han: one stand-in per class keeps the search's states few.
_CLASS_STAND_IN = {"punct": ",", "digit": "0", "latin": "a", "space": " ", "newline": "\n", "kana": "\u3042",
                   "hangul": "\uac00", "symbol": "\u00a9", "bad": "\ufffd"}


@lru_cache(maxsize=65536)
def _context(ch: str) -> str:
    cls = lm.char_class(ch)
    return ch if cls == lm.HAN else _CLASS_STAND_IN[cls]


def _cost(prev: str, ch: str) -> float:
    """The language model's surprise at `ch` after `prev` (a _context key), in nats."""
    return -lm.step(prev, ch)


def _emit_cost(prev: str, items: list) -> tuple[float, str]:
    """Cost of emitting `items` after context `prev`, and the context after them."""
    total = 0.0
    for item in items:
        if isinstance(item, str):
            total += _cost(prev, item)
            prev = _context(item)
        else:
            cost, prev = _best_candidate(prev, item)
            total += cost
    return total, prev


SHORTLIST = 20


@lru_cache(maxsize=4096)
def _shortlist(cands: Candidates) -> tuple[str, ...]:
    """The candidates most probable out of context: the search prices a lost character among
    these; `choose` picks among all of them afterwards."""
    return tuple(sorted(cands, key=lambda c: _cost("\n", c))[:SHORTLIST])


@lru_cache(maxsize=65536)
def _best_candidate(prev: str, cands: Candidates) -> tuple[float, str]:
    cost, ch = min((_cost(prev, c), c) for c in _shortlist(cands))
    return cost, _context(ch)


BEAM = 32


def shortest_decoding(
    tokens: list[Token],
    push: Callable[[Pattern, Element], list[tuple[Pattern, object]]],
    insertions: tuple[tuple[Pattern, float], ...] = (),
    left: str = "\n",
    insert_at: Sequence[int] | None = None,
) -> list[tuple[int, object]]:
    """The cheapest reading of `tokens`: each token kept raw or re-decoded through `push`,
    optionally with lost bytes (`insertions`) put back between tokens.

    Returns (token index, item) pairs; item RAW keeps the token. Costs are the language model's
    surprise at the characters produced (given the character before) plus the costs of the
    patterns used."""
    # state: (pending bytes, context) -> (cost, backpointer node); node = (previous node, token index, item)
    states: dict[tuple[Pattern, str], tuple[float, tuple | None]] = {((), _context(left[-1:] or "\n")): (0.0, None)}
    for i, token in enumerate(tokens):
        if insertions and (insert_at is None or insert_at[i]):
            states = _with_insertions(states, insertions, push, i)
        nxt: dict[tuple[Pattern, str], tuple[float, tuple | None]] = {}
        for (pending, prev), (cost, node) in states.items():
            for pattern, extra in token.patterns:
                for new_pending, items in _feed(pending, pattern, push):
                    _advance(nxt, new_pending, prev, cost + extra, node, i, items)
            if not pending:  # offered last: at equal cost, ASCII joins the decoded text around it
                _offer(nxt, ((), _context(token.char)), cost + _cost(prev, token.char), (node, i, RAW))
        states = dict(sorted(nxt.items(), key=lambda kv: kv[1][0])[:BEAM])
    if insertions and tokens and (insert_at is None or insert_at[-1]):  # bytes lost at the very end
        states = _with_insertions(states, insertions, push, len(tokens) - 1)
    ends = [(cost, node) for (pending, _), (cost, node) in states.items() if not pending]
    node = min(ends, key=lambda e: e[0])[1] if ends else None
    out: list[tuple[int, object]] = []
    while node is not None:
        node, i, item = node
        out.append((i, item))
    out.reverse()
    return out


def _advance(states, pending, prev, cost, node, i, items) -> None:
    extra, prev = _emit_cost(prev, items)
    for it in items:
        node = (node, i, it)
    _offer(states, (pending, prev), cost + extra, node)


def _offer(states: dict, key: tuple, cost: float, node: tuple | None) -> None:
    known = states.get(key)
    if known is None or cost < known[0]:
        states[key] = (cost, node)


def _feed(pending: Pattern, pattern: Pattern, push) -> list[tuple[Pattern, list]]:
    """All ways the bytes of `pattern` continue a decoder holding `pending`."""
    paths: list[tuple[Pattern, list]] = [(pending, [])]
    for element in pattern:
        grown = []
        for held, items in paths:
            for new_held, item in push(held, element):
                grown.append((new_held, items + [item] if item is not None else items))
        paths = grown
        if not paths:
            break
    return paths


def _with_insertions(states, insertions, push, i):
    out = dict(states)
    for (pending, prev), (cost, node) in states.items():
        if not pending:  # a dropped pair starts with a continuation byte: never between characters
            continue
        for pattern, extra in insertions:
            for new_pending, items in _feed(pending, pattern, push):
                _advance(out, new_pending, prev, cost + extra, node, i, items)
    return out


# Bytes dropped from UTF-8 break the stream where they were dropped: UTF-8 resynchronises at the
# next lead byte, so the decoder fails within a character of the gap. Tokens further than
# DROP_REACH from a failure are not searched for dropped bytes, and stretches further than
# WINDOW_REACH from one decode as they stand: the search runs only in the windows around failures.
DROP_REACH = 3
WINDOW_REACH = 6


@dataclass
class Utf8Layout:
    """The tokens' bytes as UTF-8: where decoding fails, and where it could be cut."""

    data: bytes
    offsets: list[int]  # byte offset of each token, and the total at the end
    failures: list[int]  # indices of the tokens where decoding fails (uncertain tokens included)

    def near(self, reach: int) -> list[bool]:
        """For each token: whether a failure lies within `reach` tokens of it."""
        n = len(self.offsets) - 1
        edges = [0] * (n + 1)
        for f in self.failures:
            edges[max(0, f - reach)] += 1
            edges[min(n, f + reach + 1)] -= 1
        return [depth > 0 for depth in itertools.accumulate(edges[:n])]

    def is_cut(self, i: int) -> bool:
        """Whether a character of the valid decoding starts at token i's first byte."""
        k = self.offsets[i]
        return k == len(self.data) or not 0x80 <= self.data[k] < 0xC0


# The byte spans a decoding failed on, collected by an error handler in one pass of the C decoder.
_FAILED_SPANS: list[list[tuple[int, int]]] = []


def _record_failure(exc: UnicodeError) -> tuple[str, int]:
    _FAILED_SPANS[-1].append((exc.start, max(exc.end, exc.start + 1)))
    return "", exc.end


codecs.register_error("repair-record-failures", _record_failure)


def utf8_layout(tokens: list[Token]) -> Utf8Layout:
    data = bytearray()
    offsets: list[int] = []
    owner: list[int] = []
    for i, token in enumerate(tokens):
        pattern = token.patterns[0][0] if len(token.patterns) == 1 else None
        if pattern is None or not all(isinstance(e, int) for e in pattern):
            pattern = (0xFF,)  # never valid in UTF-8: marks the uncertain token as a failure
        offsets.append(len(data))
        data.extend(pattern)
        owner.extend([i] * len(pattern))
    offsets.append(len(data))
    failed: list[tuple[int, int]] = []
    _FAILED_SPANS.append(failed)
    try:
        bytes(data).decode("utf-8", "repair-record-failures")
    finally:
        _FAILED_SPANS.pop()
    failures = sorted({owner[k] for first, last in failed for k in range(first, min(last + 1, len(owner)))})
    return Utf8Layout(bytes(data), offsets, failures)


def _zones(layout: Utf8Layout, n_tokens: int) -> list[tuple[int, int, bool]]:
    """(start, end, search) token ranges covering all tokens: `search` ranges hold every failure
    with WINDOW_REACH tokens around it; the others start and end on character boundaries and
    decode without error."""
    near = layout.near(WINDOW_REACH)
    zones: list[tuple[int, int, bool]] = []
    i = 0
    while i < n_tokens:
        j = i
        while j < n_tokens and not near[j]:
            j += 1
        # a clean stretch [i, j): shrink it to character boundaries
        a = i
        while a < j and not layout.is_cut(a):
            a += 1
        b = j
        while b > a and not layout.is_cut(b):
            b -= 1
        if b - a > WINDOW_REACH:
            if a > (zones[-1][1] if zones else 0):
                _extend_search(zones, a)
            zones.append((a, b, False))
        k = j
        while k < n_tokens and near[k]:
            k += 1
        _extend_search(zones, k)
        i = k
    if not zones or zones[-1][1] < n_tokens:
        _extend_search(zones, n_tokens)
    return zones


def _extend_search(zones: list[tuple[int, int, bool]], end: int) -> None:
    """Let the search zone reach `end` (open one after the last zone if needed)."""
    begin = zones[-1][1] if zones else 0
    if end <= begin:
        return
    if zones and zones[-1][2]:
        zones[-1] = (zones[-1][0], end, True)
    else:
        zones.append((begin, end, True))


def _strict_items(layout: Utf8Layout, start: int, end: int) -> list[tuple[int, object]] | None:
    """The decoding of tokens [start, end) as they stand: each character given to the token
    holding its last byte. None if a character is one the search would never produce."""
    out: list[tuple[int, object]] = []
    offsets = layout.offsets
    text = layout.data[offsets[start]:offsets[end]].decode("utf-8")
    k = offsets[start]
    token = start
    for ch in text:
        if not _char_ok(ch, guessed=False):
            return None
        k += len(ch.encode("utf-8")) if ch >= "\x80" else 1
        while offsets[token + 1] < k:
            token += 1
        out.append((token, ch))
    return out


def windowed_utf8_decoding(
    tokens: list[Token], insertions: tuple[tuple[Pattern, float], ...], left: str
) -> list[tuple[int, object]]:
    """shortest_decoding for UTF-8, run only in the windows around decoding failures."""
    layout = utf8_layout(tokens)
    insert_at = layout.near(DROP_REACH)
    decoding: list[tuple[int, object]] = []
    zones = _zones(layout, len(tokens))
    for start, end, search in zones:
        items = None if search else _strict_items(layout, start, end)
        if items is None:
            window = shortest_decoding(tokens[start:end], push_utf8, insertions, left, insert_at[start:end])
            items = [(i + start, item) for i, item in window]
        decoding.extend(items)
        last = next((item for _, item in reversed(items) if item is not RAW), None)
        if isinstance(last, str):
            left = last
        elif items and items[-1][1] is RAW:
            left = tokens[items[-1][0]].char
        elif last is not None:
            left = _shortlist(last)[0]
    return decoding


# ------------------------------------------------------------------ regions and choices

@dataclass
class Region:
    """A stretch of a line that re-decodes: source span and the decoded items."""

    start: int
    end: int
    items: list[object]


def regions(decoding: list[tuple[int, object]], n_tokens: int) -> list[Region]:
    """Maximal stretches between raw tokens that contain a decoded non-ASCII character."""
    found: list[Region] = []
    start = 0
    items: list[object] = []
    for i, item in decoding + [(n_tokens, RAW)]:
        if item is RAW:
            if items and any(not isinstance(it, str) or not it.isascii() for it in items):
                found.append(Region(start, i, items))
            start, items = i + 1, []
        else:
            items.append(item)
    return found


@dataclass
class Choice:
    """A lost character chosen by the language model."""

    index: int  # position in the region's decoded text
    best: str
    runner_up: str
    margin: float


def choose(items: list[object], left: str, right: str) -> tuple[str, list[Choice]]:
    """Fill each candidate set with the language model's choice in context, left to right."""
    text = [it if isinstance(it, str) else _shortlist(it)[0] for it in items]  # type: ignore[arg-type]
    # the script of the text around the lost characters (a bounded stretch: `left` may be a whole block)
    foreign = foreign_script(left[-lm.BRACKET_REACH:] + "".join(it for it in items if isinstance(it, str)) + right)
    choices: dict[int, Choice] = {}
    for _ in range(2):  # the second round sees the neighbours the first one chose
        for k, it in enumerate(items):
            if isinstance(it, str):
                continue
            before = (left[-lm.BRACKET_REACH:] + "".join(text[max(0, k - lm.BRACKET_REACH) : k]))[-lm.BRACKET_REACH:]
            after = "".join(text[k + 1 : k + 3]) + right
            opened = lm.unclosed_bracket(before)
            # lm.logprob(c, before, after) for one character c: the steps into and out of it.
            into, out_of = before[-1:], after[:1]
            scored = sorted(((lm.step(into, c) + (lm.step(c, out_of) if out_of else 0.0)
                              + lm.bracket_fit(c, opened, before) - (OTHER_SCRIPT if c in foreign else 0.0), c)
                             for c in it), reverse=True)
            text[k] = scored[0][1]
            runner = scored[1] if len(scored) > 1 else (float("-inf"), "")
            choices[k] = Choice(k, scored[0][1], runner[1], scored[0][0] - runner[0])
    return "".join(text), list(choices.values())


# A lost character is filled in when the language model prefers it to the runner-up by this
# much (measured: right 97% of the time at 3 nats, 99.9% at 6); otherwise it becomes U+FFFD and
# the candidates are reported.
FILL_MARGIN = 3.0


def _mark_unsure(text: str, choices: list[Choice]) -> str:
    chars = list(text)
    for c in choices:
        if c.margin < FILL_MARGIN:
            chars[c.index] = "\ufffd"
    return "".join(chars)


def trim(before: str, after: str) -> tuple[int, int]:
    """Lengths of the common prefix and suffix of two strings (so a change spans only the damage)."""
    p = 0
    n = min(len(before), len(after))
    while p < n and before[p] == after[p]:
        p += 1
    s = 0
    while s < n - p and before[-1 - s] == after[-1 - s]:
        s += 1
    return p, s


def lines_matching(text: str, pattern: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    """(offset, line) of every line with a match, found with one scan of the whole text."""
    last = -1
    for m in pattern.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        if start <= last:
            continue
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        last = end
        yield start, text[start:end]


@dataclass
class Repair:
    start: int  # in the line
    end: int
    before: str
    after: str
    margin: float  # language-model gain, nats
    choices: list[Choice]


def make_repair(line: str, start: int, end: int, decoded: str, choices: list[Choice]) -> Repair | None:
    """The change that turns line[start:end] into `decoded` (lost characters the language model
    could not choose clearly marked U+FFFD), narrowed to what differs. The margin is the
    language model's gain with every lost character at its best candidate."""
    before = line[start:end]
    p, s = trim(before, decoded)
    if p == len(before) == len(decoded):
        return None
    left, right = line[max(0, start + p - 4) : start + p], line[end - s : end - s + 2]
    old, new = before[p : len(before) - s], decoded[p : len(decoded) - s]
    kept = [Choice(c.index - p, c.best, c.runner_up, c.margin) for c in choices if p <= c.index < len(decoded) - s]
    best = list(new)
    for c in kept:
        best[c.index] = c.best
    margin = lm.compare("".join(best), old, left, right)
    return Repair(start + p, end - s, old, _mark_unsure(new, kept), margin, kept)


def segments(line: str, encodable: Callable[[str], bool]) -> Iterator[tuple[int, int]]:
    """Maximal runs of characters the wrong decoder can have produced."""
    start = None
    for k, ch in enumerate(line):
        if encodable(ch):
            if start is None:
                start = k
        elif start is not None:
            yield start, k
            start = None
    if start is not None:
        yield start, len(line)


def decode_line(
    line: str,
    encodable: Callable[[str], bool],
    strict: Callable[[str], str | None],
    tokens_for: Callable[[str], list[Token]],
    push,
    insertions: tuple[tuple[Pattern, float], ...] = (),
) -> list[Repair]:
    """Re-decode every segment of a line: whole, when its bytes decode without error (`strict`),
    otherwise by the shortest-path search, which also finds the damaged part of a segment."""
    out = []
    for start, end in segments(line, encodable):
        decoded = strict(line[start:end])
        if decoded is not None:
            rep = make_repair(line, start, end, decoded, [])
            if rep:
                out.append(rep)
            continue
        tokens = tokens_for(line[start:end])
        if push is push_utf8:
            decoding = windowed_utf8_decoding(tokens, insertions, line[:start][-1:])
        else:
            decoding = shortest_decoding(tokens, push, insertions, line[:start][-1:])
        found = regions(decoding, len(tokens))
        for region in found:
            rs, rend = start + region.start, start + region.end
            # At the end of the line the newline is the right context: a line ends on 。 far
            # more often than on 、 (the model's line-end costs).
            after, choices = choose(region.items, line[:rs], line[rend : rend + 2] or "\n")
            rep = make_repair(line, rs, rend, after, choices)
            if rep:
                out.append(rep)
    return out


def _plausible(decoded: str) -> bool:
    return all(_char_ok(ch, guessed=False) for ch in decoded)


# ------------------------------------------------------------------ the rules


def _confidence(margin: float, choices: list[Choice], clear: float) -> float:
    """0.95 when the decoding and every filled-in character are clear; 0.9 when some lost
    characters were left as U+FFFD; below 0.9 when the decoding itself is not clear."""
    if margin < clear:
        return 0.5
    return 0.95 if all(c.margin >= clear for c in choices) else 0.9


def _message(repair: Repair, what: str) -> str:
    msg = f"{what}: {repair.before!r} -> {repair.after!r} (language model +{repair.margin:.0f} nats)"
    guessed = [c for c in repair.choices if FILL_MARGIN <= c.margin < 6.0]
    lost = [c for c in repair.choices if c.margin < FILL_MARGIN]
    if guessed:
        msg += "; lost bytes filled in by the language model: " + _candidates(guessed)
    if lost:
        msg += "; characters lost (U+FFFD), best candidates: " + _candidates(lost)
    return msg


def _candidates(choices: list[Choice]) -> str:
    shown = ", ".join(f"{c.best!r} (then {c.runner_up!r}, +{c.margin:.1f})" for c in choices[:5])
    return shown + (f" and {len(choices) - 5} more" if len(choices) > 5 else "")


# ---- M102: UTF-8 read as GBK

@lru_cache(maxsize=65536)
def _gbk_bytes(ch: str) -> bytes | None:
    if ch < "\x80":
        return ch.encode()
    if ch == "€":
        return b"\x80"  # code page 936 keeps this one single byte
    try:
        return ch.encode("gbk")
    except UnicodeEncodeError:
        pass
    # GB18030 gives GBK's unassigned codes characters (private use, ideographic description)
    encoded = ch.encode("gb18030")
    return encoded if len(encoded) == 2 else None


@lru_cache(maxsize=1)
def _dropped_pairs() -> tuple[Pattern, ...]:
    """Byte pairs a code page 936 decoder drops silently (valid lead and trail, no character)
    that UTF-8 text can produce, as insertion patterns: one per set of first bytes that share
    the same second bytes, so each pattern allows exactly the unassigned codes."""
    by_seconds: dict[frozenset, set[int]] = {}
    for a in range(0x81, 0xC0):
        seconds = set()
        for b in (*range(0x40, 0x7F), *range(0x80, 0xC0), *range(0xE0, 0xF0)):
            try:
                bytes((a, b)).decode("gbk")
            except UnicodeDecodeError:
                seconds.add(b)
        if seconds:
            by_seconds.setdefault(frozenset(seconds), set()).add(a)
    return tuple((frozenset(firsts), seconds) for seconds, firsts in by_seconds.items())


LOST_BYTE_COST = 2.0
DROPPED_PAIR_COST = 5.0
UNSEEN_DECODER_COST = 4.0
SWALLOWED_COST = 6.0


@lru_cache(maxsize=512)
def _lost_before(next_byte: int | None) -> frozenset:
    """Values a byte lost by a GBK or GB18030 decoder with replacement can have had, given the
    byte after it: the decoder drops a byte only when it cannot pair it with that next byte
    (0x80 never pairs; GB18030 pairs every valid trail, GBK only its assigned codes)."""
    if next_byte is None or next_byte < 0x40 or next_byte in (0x7F, 0xFF):
        return CONTINUATION
    lost = {0x80}
    for b in range(0x81, 0xC0):
        try:
            bytes((b, next_byte)).decode("gbk")
        except UnicodeDecodeError:
            lost.add(b)
    return frozenset(lost)


def _gbk_tokens(line: str, win936: bool) -> list[Token]:
    tokens = []
    last = len(line) - 1
    for k, ch in enumerate(line):
        if ch in "?\ufffd":
            following = _gbk_bytes(line[k + 1]) if k < last and line[k + 1] not in "?\ufffd" else None
            # Code page 936 swallows the byte after a lost one, unless the input ended there.
            alone = LOST_BYTE_COST + (SWALLOWED_COST if win936 and k < last else 0.0)
            patterns = [((_lost_before(following[0] if following else None),), alone)]
            if ch == "?":
                patterns.append(((0x3F,), 0.0))
                if win936:
                    patterns.append(((CONTINUATION, INVALID_TRAIL), LOST_BYTE_COST))
            patterns = tuple(patterns)
        else:
            encoded = _gbk_bytes(ch)
            patterns = ((tuple(encoded), 0.0),) if encoded else ()
        tokens.append(Token(ch, patterns))
    return tokens


@register
class Utf8ReadAsGbk(Rule):
    """UTF-8 bytes decoded as GBK, GB18030 or Windows code page 936: every Chinese character
    became one and a half rare ones (`鍩洪噾` for 基金).

    The characters are encoded back to GBK/GB18030 and the bytes decoded as UTF-8. A decoder
    with replacement lost a byte wherever the pairing failed (shown as U+FFFD or `?`; code page
    936 also swallows the byte after it and drops unassigned pairs without a trace): the lost
    bytes are searched among the values UTF-8 allows and the language model chooses. A repair
    is applied when the decoded text beats the damaged text by a clear language-model margin and
    every lost byte was chosen clearly; otherwise it is reported with the best candidate."""

    code = "M102"
    name = "utf8-read-as-gbk"
    summary = "UTF-8 text decoded as GBK/GB18030 (鍩洪噾 for 基金)"
    example = ("鍩洪噾绠＄悊", "基金管理")
    options = {"min-margin": 6.0}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        signature = _utf8_as_gbk_signature()
        if not signature.search(text):
            return
        clear = float(ctx.options(self)["min-margin"])
        win936 = "€" in text  # code page 936 is the one decoder that keeps 0x80, as the euro sign
        # It also drops unassigned pairs silently. Without the euro sign that is still possible
        # (a short text, copy and paste through Windows), at a higher cost; not where U+FFFD
        # shows that the decoder marked every byte it lost.
        if win936:
            dropped = tuple((p, DROPPED_PAIR_COST) for p in _dropped_pairs())
        elif "\ufffd" not in text:
            dropped = tuple((p, DROPPED_PAIR_COST + UNSEEN_DECODER_COST) for p in _dropped_pairs())
        else:
            dropped = ()
        for offset, line in lines_matching(text, signature):
            for rep in decode_line(line, _gbk_encodable, _strict_utf8_from_gbk, lambda seg: _gbk_tokens(seg, win936), push_utf8, dropped):
                if _has_wide(rep.after):
                    yield from _emit(self, text, offset, rep, clear, "UTF-8 read as GBK")


def _gbk_encodable(ch: str) -> bool:
    return ch == "\ufffd" or _gbk_bytes(ch) is not None


def _strict_utf8_from_gbk(segment: str) -> str | None:
    if "\ufffd" in segment:
        return None
    try:
        decoded = b"".join(_gbk_bytes(ch) for ch in segment).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if _plausible(decoded) else None


def _emit(rule: Rule, text: str, offset: int, rep: Repair, clear: float, what: str) -> Iterator[Change]:
    """A repair when the language model clearly prefers it, a flag when it only leans to it."""
    confidence = _confidence(rep.margin, rep.choices, clear)
    start, end = offset + rep.start, offset + rep.end
    if rep.margin >= clear:
        yield rule.fix(text, start, end, rep.after, confidence, _message(rep, what))
    elif rep.margin >= clear / 2:
        yield rule.flag(text, start, end, confidence, _message(rep, what + " (not clear enough to repair)"))


# ---- M103: traces of lost bytes

@register
class LostBytesTrace(Rule):
    """Traces of bytes that were lost before the text reached us: `锟斤拷` is U+FFFD (EF BF BD)
    written as UTF-8 and read as GBK, `ï¿½` the same read as Windows-1252, runs of `烫` and
    `屯` are uninitialised memory (0xCC, 0xCD) printed as GBK. The original characters are gone;
    the rule reports them and never invents text."""

    code = "M103"
    name = "lost-bytes-trace"
    summary = "Trace of lost bytes (锟斤拷, 烫烫烫烫): the original text is gone"
    example = ("数据锟斤拷锟斤拷", "数据锟斤拷锟斤拷")
    fixable = False

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not any(seed in text for seed in _TRACE_SEEDS):  # substring search: far cheaper than the regex
            return
        for m in _LOST_BYTES_TRACE.finditer(text):
            lost = len(m.group()) // 3 if m.group()[0] in "锟ï" else len(m.group())
            yield self.flag(text, m.start(), m.end(), 0.95,
                            f"trace of lost bytes ({lost} replacement characters' worth); the original text cannot be recovered")


# ---- M104: GBK or Big5 read as Latin-1 / Windows-1252

_PUSH_GBK = make_push_dbcs("gbk")
_PUSH_BIG5 = make_push_dbcs("big5")


def _single_byte_tokens(line: str) -> list[Token]:
    return [Token(ch, (((b,), 0.0),) if (b := SINGLE_BYTE.get(ch)) is not None else ()) for ch in line]


def _has_wide(s: str) -> bool:
    """True if `s` has a character UTF-8 writes in three bytes or more (CJK, not Latin)."""
    return any(ch >= "\u0800" for ch in s)


def _outweighed(line: str, rep: Repair, others: list[Repair], by: float = 0.0) -> bool:
    """Does the stretch `rep` covers read better (by more than `by` nats) with the other
    repairs that overlap it instead? Compared over the union of their spans."""
    overlapping = [o for o in others if _overlap(o, rep)]
    if not overlapping:
        return False
    start, end = min(rep.start, overlapping[0].start), max(rep.end, overlapping[-1].end)
    left, right = line[max(0, start - 4) : start], line[end : end + 2]
    return lm.compare(_applied(line, start, end, overlapping), _applied(line, start, end, [rep]), left, right) > by


def _overlap(a: Repair, b: Repair) -> bool:
    return a.start < b.end and b.start < a.end


def _applied(line: str, start: int, end: int, reps: list[Repair]) -> str:
    """line[start:end] with the (sorted, non-overlapping) repairs applied."""
    pieces, cursor = [], start
    for r in reps:
        pieces += [line[cursor : r.start], r.after]
        cursor = r.end
    pieces.append(line[cursor:end])
    return "".join(pieces)


def _cjk_count(s: str) -> int:
    return sum(1 for ch in s if ch >= "\u2000")


@register
class LegacyCjkReadAsLatin1(Rule):
    """GBK (or Big5) bytes decoded as Latin-1 or Windows-1252: each Chinese character became two
    accented letters or symbols (`ÖÐÎÄ` for 中文). The characters go back to their single bytes
    and are decoded as GBK, or as Big5 when that reads clearly better. Runs before M105: once
    UTF-8 repair has touched such text it cannot be recovered. Accented Latin text does not
    decode into plausible Chinese and is left alone."""

    code = "M104"
    name = "legacy-cjk-read-as-latin1"
    summary = "GBK/Big5 text decoded as Latin-1 or Windows-1252 (ÖÐÎÄ for 中文)"
    example = ("ÖÐÎÄ×Ö·û", "中文字符")
    options = {"min-margin": 6.0}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not _LEGACY_AS_LATIN1.search(text):
            return
        clear = float(ctx.options(self)["min-margin"])
        lines = []
        gain = {"gbk": 0.0, "big5": 0.0}
        for offset, line in lines_matching(text, _LEGACY_AS_LATIN1):
            utf8 = [r for r in _utf8_readings_shared(ctx, line) if _has_wide(r.after)]
            if utf8 and _covers_high(line, utf8):
                continue  # UTF-8 read as cp1252 through and through: M105's
            readings = {"gbk": [], "big5": []}
            for codec, strict, push in (("gbk", _STRICT_GBK, _PUSH_GBK), ("big5", _STRICT_BIG5, _PUSH_BIG5)):
                reps = decode_line(line, _single_byte_encodable, strict, _single_byte_tokens, push)
                readings[codec] = [r for r in reps if _cjk_count(r.after) and not _outweighed(line, r, utf8)]
                gain[codec] += sum(r.margin for r in readings[codec])
                if readings[codec] and all(lm.mean_logprob(r.after) > PLAUSIBLE_CHINESE for r in readings[codec]):
                    break  # reads as Chinese already: the other codec could not do clearly better
            lines.append((offset, line, readings))
        # One document, one codec: the other is taken only where it reads clearly better.
        usual, other = ("gbk", "big5") if gain["gbk"] >= gain["big5"] else ("big5", "gbk")
        found = []
        for offset, line, readings in lines:
            kept = [r for r in readings[usual] if not _outweighed(line, r, readings[other], clear)]
            found += [(offset, r, usual) for r in kept]
            found += [(offset, r, other) for r in readings[other] if not any(_overlap(r, k) for k in kept)]
        # A lone character (`ºÍ` for 和 between ASCII words) is trusted only in a document that
        # also has longer runs of the same damage.
        if not any(_cjk_count(rep.after) >= 2 and rep.margin >= clear for _, rep, _ in found):
            return
        for offset, rep, codec in found:
            yield from _emit(self, text, offset, rep, clear, f"{codec.upper()} read as Latin-1")


# Mean log-probability per character above which a decoding reads as Chinese (clean text scores
# about -5.5 to -7, mojibake -10 to -13; see repair.lm).
PLAUSIBLE_CHINESE = -8.5


def _single_byte_encodable(ch: str) -> bool:
    return ch in SINGLE_BYTE


def _strict_dbcs(codec: str) -> Callable[[str], str | None]:
    """Decode a whole segment's single bytes with `codec` (None: they do not decode)."""

    def strict(segment: str) -> str | None:
        data = bytes(SINGLE_BYTE[ch] for ch in segment)
        try:
            as_utf8 = data.decode("utf-8")
            if not as_utf8.isascii() and _utf8_result_ok(as_utf8):
                return segment  # UTF-8 read as cp1252: M105's to repair
        except UnicodeDecodeError:
            pass
        try:
            decoded = data.decode(codec)
        except UnicodeDecodeError:
            return None
        return decoded if _plausible(decoded) else None

    return strict


_STRICT_GBK = _strict_dbcs("gbk")
_STRICT_BIG5 = _strict_dbcs("big5")


# ---- M105: UTF-8 read as Windows-1252 / Latin-1

def _cp1252_tokens(line: str) -> list[Token]:
    tokens = []
    for ch in line:
        b = SINGLE_BYTE.get(ch)
        if ch == " ":  # a no-break space (A0) some decoders print as a plain space
            patterns = (((0x20,), 0.0), ((0xA0,), LOST_BYTE_COST))
        elif ch in "?\ufffd":  # a byte Windows-1252 does not define, replaced
            patterns = (((b,), 0.0),) if ch == "?" else ()
            patterns += (((CP1252_UNDEFINED,), LOST_BYTE_COST),)
        else:
            patterns = (((b,), 0.0),) if b is not None else ()
        tokens.append(Token(ch, patterns))
    return tokens


# What a repair of UTF-8 read as cp1252 may produce: CJK, kana and Hangul, Latin-1 and Latin
# Extended-A letters (ftfy's common case, `Ã©` for é), punctuation and symbols; not the Greek,
# Cyrillic or rarer scripts that GBK bytes read as Latin-1 can also spell as UTF-8.
@lru_cache(maxsize=1)
def _utf8_result() -> re.Pattern[str]:
    return re.compile("[\t\n\x20-\x7e\xa0-\u017f\u2000-\u2bff\u2e80-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff00-\uffef\ufffd]*")


def _utf8_result_ok(after: str) -> bool:
    return _utf8_result().fullmatch(after) is not None


# Bytes that vanish from UTF-8 read as cp1252: the five it leaves undefined (a strict decoder
# with errors="ignore") and the no-break space (stripped as whitespace); one or two in a row.
_VANISHING = CP1252_UNDEFINED | {0xA0}
_DROPPED_UNDEFINED = (((_VANISHING,), LOST_BYTE_COST + 1.0), ((_VANISHING, _VANISHING), 2 * LOST_BYTE_COST + 2.0))
MAX_LAYERS = 3


@lru_cache(maxsize=1)
def _ftfy_config():
    from ftfy import TextFixerConfig

    # Only the encoding repair: every other fixer changes legitimate Chinese text.
    return TextFixerConfig(
        unescape_html=False, remove_terminal_escapes=False, fix_encoding=True, restore_byte_a0=True,
        replace_lossy_sequences=False, decode_inconsistent_utf8=False, fix_c1_controls=False,
        fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False, fix_line_breaks=False,
        fix_surrogates=False, remove_control_chars=False, normalization=None, explain=False,
    )


def _strict_utf8_layers(segment: str) -> str | None:
    """The segment's bytes decoded as UTF-8 as many times as they decode (None: not even once)."""
    text = segment
    for _ in range(MAX_LAYERS):
        try:
            decoded = bytes(SINGLE_BYTE[ch] for ch in text).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            break
        if decoded == text or not _plausible(decoded):
            break
        text = decoded
    if text == segment and not segment.isascii():
        return None
    return text


def _utf8_readings_shared(ctx: Context, line: str) -> list[Repair]:
    """_utf8_readings, computed once per line for M104 and M105."""
    return ctx.memo(f"utf8-as-cp1252:{line}", line, _utf8_readings)


def _covers_high(line: str, reps: list[Repair]) -> bool:
    """Do the repairs cover every character of the line that stands for a byte >= 0x80?"""
    cursor = 0
    for r in reps:
        if _HIGH_RUN.search(line, cursor, r.start):
            return False
        cursor = r.end
    return not _HIGH_RUN.search(line, cursor)


def _utf8_readings(line: str) -> list[Repair]:
    """Every stretch of the line that reads as UTF-8 taken for cp1252, all layers undone."""
    found = []
    for rep in decode_line(line, _single_byte_encodable, _strict_utf8_layers, _cp1252_tokens, push_utf8, _DROPPED_UNDEFINED):
        rep = _decode_cp1252_layers(rep)
        if _UTF8_AS_CP1252.search(line, max(0, rep.start - 1), rep.end + 1) and _utf8_result_ok(rep.after):
            found.append(rep)
    return found


def _decode_cp1252_layers(rep: Repair) -> Repair:
    """Undo further layers: the decoded text may itself be UTF-8 read as cp1252."""
    for _ in range(MAX_LAYERS - 1):
        if not _UTF8_AS_CP1252.search(rep.after):
            break
        inner = rep.after
        deeper = decode_line(inner, _single_byte_encodable, _strict_utf8_layers, _cp1252_tokens, push_utf8, _DROPPED_UNDEFINED)
        if not deeper:
            break
        pieces, cursor = [], 0
        for d in deeper:
            pieces += [inner[cursor : d.start], d.after]
            cursor = d.end
        pieces.append(inner[cursor:])
        rep = Repair(rep.start, rep.end, rep.before, "".join(pieces), rep.margin, rep.choices)
    return rep


@register
class Utf8ReadAsCp1252(Rule):
    """UTF-8 bytes decoded as Windows-1252 or Latin-1 (`ä¸­æ–‡` for 中文), possibly twice.

    The characters go back to their single bytes and are decoded as UTF-8, layer by layer.
    Bytes Windows-1252 leaves undefined (81 8D 8F 90 9D) that a decoder dropped, and no-break
    spaces printed as spaces, are put back where UTF-8 needs them, the language model choosing
    among the possible values. Lines this cannot explain are tried with ftfy's encoding repair
    (other single-byte codecs), with every ftfy fixer that alters Chinese text switched off."""

    code = "M105"
    name = "utf8-read-as-cp1252"
    summary = "UTF-8 text decoded as Windows-1252/Latin-1 (ä¸­æ–‡ for 中文)"
    example = ("ä¸­æ–‡", "中文")
    options = {"min-margin": 6.0}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not _UTF8_AS_CP1252.search(text):
            return
        clear = float(ctx.options(self)["min-margin"])
        for offset, line in lines_matching(text, _UTF8_AS_CP1252):
            found = _utf8_readings_shared(ctx, line)
            for rep in found:
                yield from _emit(self, text, offset, rep, clear, "UTF-8 read as Windows-1252")
            if not found:
                yield from self._with_ftfy(text, offset, line, clear)

    def _with_ftfy(self, text: str, offset: int, line: str, clear: float) -> Iterator[Change]:
        import ftfy
        fixed = ftfy.fix_encoding(line, _ftfy_config())
        if fixed == line:
            return
        p, s = trim(line, fixed)
        before, after = line[p : len(line) - s], fixed[p : len(fixed) - s]
        if not _utf8_result_ok(after):
            return
        margin = lm.compare(after, before, line[max(0, p - 4) : p], line[len(line) - s :][:2])
        rep = Repair(p, len(line) - s, before, after, margin, [])
        yield from _emit(self, text, offset, rep, clear, "mojibake repaired by ftfy's encoding repair")
