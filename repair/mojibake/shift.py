"""M101: GBK decoded one byte out of step, then NFKC-normalised or fullwidth-folded.

When a GBK byte stream is read one byte late, every character is read from the second byte of
one character and the first byte of the next.  The run ends by itself ("resynchronises") where
that pairing fails: at an invalid pair (the decoder writes U+FFFD for one byte, shown as ``?``)
or at a byte below 0x80 (the second byte of a GBK extension character, such as the ``M`` of
進 = DF 4D, or real ASCII).  The orphan first byte is shown as ``?`` or lost.  Some decoders
drop an invalid pair silently instead, which removes two bytes from the middle of a run.

Repair works on bytes: each character of a suspected run goes back to its GBK bytes (ASCII
punctuation and letters may stand for the fullwidth forms NFKC folded), the bytes are re-paired
one byte earlier, the lost lead and trail bytes are chosen by the language model among the codes
the byte arithmetic allows, and dropped pairs are searched where they make the text far more
probable.  A run is repaired only when the re-decoded text beats the text as it stands by a clear
language-model margin; a weaker case is reported with its best candidate.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from math import log1p

from repair.registry import Context, Rule, register
from repair.script import OTHER_SCRIPT

# A possible end of a misaligned run ("terminator"): a `?` (one byte the decoder gave up on) or
# a lone ASCII byte in 0x40-0x7E (a GBK trail byte that resynchronised the decoder).
_TRIGGER = re.compile(
    r"[\x40-\x7e?](?:"  # one ASCII byte; the context is checked behind it (a far faster scan)
    r"(?<=[^\x00-\x7f]\?)|(?<=\?)(?=[^\x00-\x7f])"  # `?` touching a non-ASCII character
    r"|(?<=[^\x00-\u024f?][\x40-\x7e])(?![A-Za-z])"  # a lone ASCII byte after Chinese (not after Latin)
    r"|(?<=\?[\x40-\x7e])(?=[^\x00-\u024f])"  # ... or right after the `?` of a lost lead byte
    r"|(?<=[a-z\u00e0-\u01dc]\)\?)|(?<=[a-z\u00e0-\u01dc]\)[\x40-\x7e])(?![A-Za-z]))"  # ... or after a lost character's pinyin
)
# The trace of a misread character that a converter annotated with its pinyin and that was then
# lost, opening parenthesis and all (seed 004: `勇?lián)?dāng)轉` for 勇擔當轉).
_PINYIN = "a-z\u00e0-\u00fc\u0101-\u01dc\u0144\u0148\u01f9\u1e3f"
_LOST_ANNOTATED = re.compile(rf"\?([{_PINYIN}]+)\)")
_ANNOTATION_REST = re.compile(rf"([{_PINYIN}]+)\)")
_LOST_LEAD = re.compile(r"[\u3400-\u9fff][\x40-\x7e][\u3400-\u9fff]")
_HAN_STRETCH = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_BESIDE_HAN = re.compile(r"(?<=[\u3400-\u9fff])[^\u3400-\u9fff]|[^\u3400-\u9fff](?=[\u3400-\u9fff])")

# A `?` between Chinese characters where nothing around it is misread; in a document that shows
# misaligned runs it is a character whose span was damaged alone, unless its sentence asks.
_LONE_MARK = re.compile(r"(?<=[\u3400-\u9fff])\?(?=[\u3400-\u9fff])")
_QUESTION = re.compile("[吗嗎呢谁誰哪怎几幾么麼岂豈]|为何|為何|如何|何时|何時|何处|何處|多少|是否|难道|難道")
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?!\d)")
_CLAUSE_END = re.compile(r"[，。！？；：、,!?;:\n]")
_SENTENCE_REACH = 200  # characters looked back for the sentence's start (and ahead for the clause)
_NEIGHBOURS = 6  # characters on each side of a lone `?` that must read as Chinese


def _in_question(text: str, pos: int) -> bool:
    """Whether the sentence that a `?` at `pos` ends, or the clause right after it, holds a
    question word (`奇怪?为什么...`: a question follows)."""
    sentence = text[max(0, pos - _SENTENCE_REACH):pos]
    ends = [m.end() for m in _SENTENCE_END.finditer(sentence)]
    after = text[pos + 1:pos + 1 + _SENTENCE_REACH]
    clause_end = _CLAUSE_END.search(after)
    return (_QUESTION.search(sentence, ends[-1] if ends else 0) is not None
            or _QUESTION.search(after, 0, clause_end.start() if clause_end else len(after)) is not None)


def _amid_chinese(text: str, pos: int) -> bool:
    """Whether the characters on both sides of `pos` read as Chinese: a lone `?` inside another
    mojibake (a lost byte of Big5 or UTF-8 read as GBK) is that mojibake's."""
    return (_reads_clean(text[max(0, pos - _NEIGHBOURS):pos])
            and _reads_clean(text[pos + 1:pos + 1 + _NEIGHBOURS]))


_MAX_RUN = 48  # characters a run may reach back from its terminator
_COMMON_LOST = 150  # a wholly lost character is sought among this many commonest ones (and the document's)
_GIVE_UP = 25.0  # nats below the best start found: the run cannot begin further left
_JOINT = 15  # candidates of each side kept when two lost characters are chosen together
_GAP_TRIES = 3  # candidate runs per terminator searched for dropped byte pairs
_MAX_GAPS = 4  # dropped pairs per run
_GAP_GAIN = 5.0  # nats a dropped pair must add (per character of text) to be assumed
_PAIR_SIDE = 16  # likeliest heads and tails of a dropped pair scored together
_GAP_CLEAR = 10.0  # nats a dropped pair must add before the repair counts as clear (else reported)
_CHAR_COST = 6.0  # nats: what a typical character of clean Chinese costs the language model
_MISREAD_TAIL = -16.0  # nats for the two characters before a terminator: misread ones cost more
_SAMPLE = 1500  # Han characters sampled to judge whether a document reads as Chinese at all
_SAMPLE_MIN = 200  # below this many Han characters a text is judged line by line only
_GARBLED_DOC = -9.0  # mean nats per Han character below which a whole document is garbled
_CLEAN_LINE = -7.6  # mean nats per Han character: clean text -5 to -7, other mojibake -8 to -14


@dataclass(frozen=True)
class Candidate:
    start: int  # span in the line, including a `?` standing for the lost lead byte
    end: int
    repaired: str
    margin: float  # language-model log probability gained (nats)
    chars: str = ""  # the re-decoded characters before folding to the file's convention
    clear: float = float("inf")  # the least lead of a guessed character over its runner-up (nats)


# ---------------------------------------------------------------- GBK code tables (built lazily)

@lru_cache(maxsize=1)
def _gbk() -> tuple[dict[int, str], dict[str, int]]:
    """Every valid two-byte GBK code and its character, as Python's decoder maps them."""
    by_code: dict[int, str] = {}
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                ch = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            by_code[lead << 8 | trail] = ch
    by_char = {ch: code for code, ch in sorted(by_code.items(), reverse=True)}
    return by_code, by_char


@lru_cache(maxsize=1)
def _folded_sources() -> dict[str, tuple[int, ...]]:
    """Text that NFKC (or a fullwidth fold) makes out of a GBK character -> the codes it may be."""
    sources: dict[str, list[int]] = {}
    for code, ch in _gbk()[0].items():
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch and folded.isascii() and folded.strip():
            sources.setdefault(folded, []).append(code)
    # Fullwidth forms (row A3) are by far the commonest source; try them first.
    return {k: tuple(sorted(v, key=lambda code: (code >> 8 != 0xA3, code))) for k, v in sources.items()}


@lru_cache(maxsize=1)
def _by_byte() -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Characters grouped by lead byte and by trail byte."""
    by_lead: dict[int, list[str]] = {}
    by_trail: dict[int, list[str]] = {}
    for code, ch in _gbk()[0].items():
        by_lead.setdefault(code >> 8, []).append(ch)
        by_trail.setdefault(code & 0xFF, []).append(ch)
    return by_lead, by_trail


def _pair(lead: int, trail: int) -> str | None:
    return _gbk()[0].get(lead << 8 | trail)


def _resyncs(byte: int, following: int | None) -> bool:
    """Whether a decoder reading `byte` as a lead byte gives up on it (and writes one U+FFFD)."""
    if byte < 0x80:
        return False
    if byte in (0x80, 0xFF) or following is None:
        return True
    return _pair(byte, following) is None


def _first_byte(ch: str) -> int | None:
    """The first byte the next character contributes after a run (None at the end of the text)."""
    if not ch:
        return None
    folded = _folded_sources().get(ch)
    if ch.isascii() and not (folded and not ch.isalnum()):  # ASCII punctuation was fullwidth before NFKC
        return ord(ch)
    code = _gbk()[1].get(ch)
    if code is not None:
        return code >> 8
    return folded[0] >> 8 if folded else 0x81


# ---------------------------------------------------------------- the run as GBK code units

def _units_before(line: str, end: int, floor: int) -> list[tuple[int, tuple[int, ...]]]:
    """GBK code units of line[floor:end], right to left, until a character no GBK code explains.

    Each unit is (start index, possible codes); fullwidth forms folded to ASCII, and compatibility
    characters NFKC expanded (``(1)`` from ⑴), are read back to their GBK codes.
    """
    by_char = _gbk()[1]
    folded = _folded_sources()
    units: list[tuple[int, tuple[int, ...]]] = []
    pos = end
    while pos > floor and len(units) < _MAX_RUN:
        trace = _lost_annotated_ending_at(line, floor, pos) if line[pos - 1] == ")" else None
        if trace:
            # `?pinyin)`: a misread character the converter annotated, then lost.  It was read
            # from the last byte of the intact character before it, which fixes its lead byte.
            lead = _last_byte(line[trace.start() - 1:trace.start()])
            codes = tuple(c for c in _codes_read(trace.group(1)) if c >> 8 == lead)
            if codes:
                units.append((trace.start(), codes))
            break
        for width in (4, 3, 2):  # NFKC expansions such as "(10)", "(1)", "1."
            piece = line[pos - width:pos] if pos - width >= floor else ""
            if len(piece) == width and piece in folded and not piece.isalnum():
                units.append((pos - width, folded[piece]))
                pos -= width
                break
        else:
            ch = line[pos - 1]
            codes = ((by_char[ch],) if ch in by_char else ()) + folded.get(ch, ())
            if not codes or ch in "\n\r\t":
                break
            units.append((pos - 1, codes))
            pos -= 1
    return units


def _lost_annotated_ending_at(line: str, floor: int, pos: int) -> re.Match | None:
    for trace in _LOST_ANNOTATED.finditer(line, max(floor, pos - 10), pos):  # a syllable is short
        if trace.end() == pos:
            return trace
    return None


def _lone_byte_can_end_run(before: str) -> bool:
    """A lone ASCII letter is a trail byte whose lead was lost only after Chinese or a `?`
    (``p壞`` was 損 = 93 70); after punctuation it is ordinary text (``“A級``)."""
    return before == "?" or (before != "" and _lm().char_class(before) == "han")


def _last_byte(ch: str) -> int | None:
    code = _gbk()[1].get(ch)
    return code & 0xFF if code is not None else None


@lru_cache(maxsize=256)
def _codes_read(reading: str) -> tuple[int, ...]:
    """GBK codes of the characters pronounced `reading` (tone-marked pinyin)."""
    return tuple(code for ch, code in _gbk()[1].items() if reading in _readings().get(ch, ()))


def _chars_read(reading: str) -> list[str]:
    by_code = _gbk()[0]
    return [by_code[code] for code in _codes_read(reading)]


@lru_cache(maxsize=1)
def _readings() -> dict[str, tuple[str, ...]]:
    from repair.pinyin_table import pinyin_dict  # only for text that carries annotation traces

    table = pinyin_dict()
    return {ch: tuple(table[ord(ch)].split(",")) for ch in _gbk()[1] if ord(ch) in table}


# ---------------------------------------------------------------- scoring

@lru_cache(maxsize=1)
def _lm():
    from repair import lm  # heavy data file: loaded on the first suspicious line only

    return lm


def _fold_like(text: str, ascii_punct: bool) -> str:
    """Write restored characters in the file's convention (NFKC-style ASCII punctuation or not)."""
    if ascii_punct:
        return unicodedata.normalize("NFKC", text)
    return text


class DocStats:
    """Character and bigram counts of the document: a cache model that tells the language model
    which of several equally plausible characters this document actually uses (字串 in a
    Taiwanese manual, ``,`` in an NFKC corpus)."""

    def __init__(self, text: str):
        self.text = text
        self.ascii_punct = _ascii_convention(text)
        self._script: str | None = None
        self._readable: bool | None = None
        self._next: dict[str, set[str]] | None = None
        self._prev: dict[str, set[str]] = {}
        self.gap_pairs: dict[tuple[int, str, str], tuple[str, str] | None] = {}  # see _best_gap_pair

    @cached_property
    def chars(self) -> Counter:
        """Han characters as often as they occur; other characters only as often as they touch
        Han ones (the `.` of version numbers says nothing about `.` inside Chinese)."""
        counts = Counter("".join(_HAN_STRETCH.findall(self.text)))
        counts.update(_BESIDE_HAN.findall(self.text))
        return counts

    @cached_property
    def pairs(self) -> Counter:
        return Counter(map("".join, zip(self.text, self.text[1:])))

    def neighbours(self, left: str, right: str) -> set[str]:
        """Characters this document writes after `left` or before `right`."""
        return self.followers(left[-1:]) | self._leaders().get(right[:1], set())

    def followers(self, ch: str) -> set[str]:
        """Characters this document writes after `ch`."""
        self._leaders()
        return self._next.get(ch, set())

    def _leaders(self) -> dict[str, set[str]]:
        if self._next is None:
            self._next, self._prev = {}, {}
            for pair in self.pairs:
                self._next.setdefault(pair[0], set()).add(pair[1])
                self._prev.setdefault(pair[1], set()).add(pair[0])
        return self._prev

    def readable(self) -> bool:
        """Whether the document's Chinese mostly reads as Chinese (a sample of its Han stretches).
        A misread run is local damage; a document garbled throughout is another mojibake."""
        if self._readable is None:
            logprob = _lm().logprob
            total = count = 0
            for stretch in _HAN_STRETCH.findall(self.text):
                total += logprob(stretch)
                count += len(stretch)
                if count > _SAMPLE:
                    break
            # A short text is judged line by line instead (one misread run may be most of it).
            self._readable = count < _SAMPLE_MIN or total / count > _GARBLED_DOC
        return self._readable

    def script(self) -> str:
        """"simplified", "traditional" or "" (mixed or unknown): what this document writes."""
        if self._script is None:
            scripts = _scripts_of(list(self.chars))
            simplified = sum(n for ch, n in self.chars.items() if scripts[ch] == "simplified")
            traditional = sum(n for ch, n in self.chars.items() if scripts[ch] == "traditional")
            self._script = ("simplified" if simplified > 3 * traditional + 2
                            else "traditional" if traditional > 3 * simplified + 2 else "")
        return self._script

    def bonus(self, ch: str, left: str, right: str) -> float:
        """Nats added for a candidate the document itself uses, alone and next to these neighbours."""
        own = self.script()
        if len(ch) == 1:  # most candidates: one character, which the document does not use
            if own and _script_of(ch) not in ("", own):
                return -OTHER_SCRIPT
            if ch not in self.chars:
                return 0.0
        elif own and any(_script_of(c) not in ("", own) for c in ch):
            return -OTHER_SCRIPT  # a simplified character restored into traditional text, or back
        around = left[-1:] + ch + right[:1]
        return (sum(log1p(self.chars[c]) for c in ch) / max(len(ch), 1)
                + sum(log1p(self.pairs[around[i:i + 2]]) for i in range(len(around) - 1)))


def _fit(text: str, before: str, after: str) -> float:
    """logprob(text, before, after) from the model's cached steps (a search asks for the same
    pairs again and again); `before` and `after` are single characters or ""."""
    step = _lm().step
    total, prev = 0.0, before
    for ch in text:
        total += step(prev, ch)
        prev = ch
    return total + step(prev, after) if after else total


def _best_char(options: Iterable[str], left: str, right: str, stats: DocStats) -> tuple[str, float]:
    """The option that reads best between `left` and `right`, and its lead over the runner-up."""
    ascii_punct = stats.ascii_punct
    before, after = left[-1:], right[:1]
    scores: dict[str, tuple[float, str]] = {}
    for ch in options:
        shown = _fold_like(ch, ascii_punct)
        score = _fit(shown, before, after) + stats.bonus(shown, left, right)
        if score > scores.get(shown, (float("-inf"), ""))[0]:
            scores[shown] = (score, ch)
    ranked = sorted(scores.values(), reverse=True)
    if not ranked:
        return "", 0.0
    lead = ranked[0][0] - ranked[1][0] if len(ranked) > 1 else float("inf")
    return ranked[0][1], lead


@lru_cache(maxsize=1)
def _common_chars() -> tuple[str, ...]:
    """Characters plausible enough to be a wholly lost one, commonest first (rare ones never win)."""
    logprob = _lm().logprob
    scored = ((logprob(unicodedata.normalize("NFKC", ch)), ch) for ch in _gbk()[1])
    return tuple(ch for score, ch in sorted(scored, reverse=True) if score > -11.0)


@lru_cache(maxsize=512)
def _lost_pair_options(following: int | None) -> tuple[str, ...]:
    """Whole characters lost (lead byte shown as `?` or dropped, trail byte given up on), commonest first."""
    by_char = _gbk()[1]
    return tuple(ch for ch in _common_chars() if _resyncs(by_char[ch] & 0xFF, following))


def _lost_char_options(following: int | None, left: str, right: str, stats: DocStats) -> list[str]:
    """The commonest candidates, plus those this document uses next to the same neighbours."""
    by_char = _gbk()[1]
    options = list(_lost_pair_options(following)[:_COMMON_LOST])
    for ch in sorted(stats.neighbours(left, right)):
        code = by_char.get(ch)
        if code is not None and _resyncs(code & 0xFF, following):
            options.append(ch)
    return options


def _lost_trail_options(lead: int, following: int | None) -> list[str]:
    """Characters (lead, x) whose trail byte x the decoder would have given up on."""
    by_char = _gbk()[1]
    return [ch for ch in _by_byte()[0].get(lead, ()) if _resyncs(by_char[ch] & 0xFF, following)]


def _choose_readings(units: list[tuple[int, tuple[int, ...]]], terminator: str) -> list[int]:
    """One GBK code per unit: where a unit has several readings (``V`` = Ｖ or Ⅴ), the one whose
    re-paired neighbours read best."""
    codes = [u[1][0] for u in units]
    logprob = _lm().logprob
    for i, (_, readings) in enumerate(units):
        if len(readings) < 2:
            continue

        def score(code: int) -> float:
            total = 0.0
            right = (codes[i - 1] >> 8) if i else (ord(terminator) if terminator != "?" else None)
            if right is not None:
                ch = _pair(code & 0xFF, right)
                total += logprob(ch) if ch else -30.0
            if i + 1 < len(codes):
                ch = _pair(codes[i + 1] & 0xFF, code >> 8)
                total += logprob(ch) if ch else -30.0
            return total

        codes[i] = max(readings, key=score)
    return codes


# ---------------------------------------------------------------- candidate runs

def _candidates_at(line: str, end: int, terminator: str, stats: DocStats) -> Iterator[Candidate]:
    """Runs ending at line[end]: a `?` (one byte the decoder gave up on) or an ASCII trail byte.

    For k code units u_1..u_k before the terminator the original characters are
    (L, u_1[0]), (u_1[1], u_2[0]), ..., (u_k[1], t): the lost lead byte L, and for a `?` the
    lost trail byte t, are chosen by the language model among the codes GBK allows.
    """
    logprob = _lm().logprob
    fold = stats.ascii_punct
    # After a `?`, a lost annotated character may follow: `?dāng)` was 當(dāng), read in step again.
    resumed = _ANNOTATION_REST.match(line, end + 1) if terminator == "?" else None
    stop = resumed.end() if resumed else end + 1
    after = line[stop:stop + 1]
    following = None if resumed else _first_byte(after)
    # Cheap screen: a run of k >= 1 characters ends in misread characters, which read badly.
    tail = line[max(0, end - 2):end]
    misread = ("?" in tail or logprob(tail, line[max(0, end - 3):max(0, end - 2)]) < _MISREAD_TAIL
               or (end and line[end - 1] == ")" and _lost_annotated_ending_at(line, 0, end) is not None))
    units = _units_before(line, end, 0) if misread or resumed else []
    traced = bool(units) and _LOST_ANNOTATED.match(line, units[-1][0]) is not None
    codes = _choose_readings(units, terminator)  # right to left
    inner: list[str] = []  # re-paired characters between the first and the last, right to left
    last, last_lead = "", float("inf")
    best = float("-inf")
    for k in range(len(units) + 1):
        if k >= 2:
            ch = _pair(codes[k - 1] & 0xFF, codes[k - 2] >> 8)
            if ch is None:  # this pairing would have resynchronised: the run cannot start earlier
                return
            inner.append(ch)
        if k == 1 or (k == 2 and terminator == "?"):
            last, last_lead = _last_char(codes[0], terminator, following, inner[:1], after, stats)
            if last is None:
                return
        middle = "".join(reversed(inner))
        start = units[k - 1][0] if k else end
        if not k and terminator != "?" and not _lone_byte_can_end_run(line[end - 1:end]):
            continue
        here = float("-inf")
        for span_start in (start - 1, start):  # with the `?` of the lost lead byte, or without
            if span_start < 0 or (span_start < start and (traced or line[span_start] != "?")):
                continue
            if not k and terminator == "?" and span_start == start:
                continue  # a lone `?` is a question mark unless misread text or a lost lead byte goes with it
            left = line[span_start - 1:span_start]
            if traced and k == len(units):  # the annotated character's lead byte is known
                restored, lead = middle + last, last_lead
            elif k == 1 and terminator == "?":  # both bytes around one misread character were lost
                restored, lead = _best_both(codes[0], following, left, after, stats)
            elif k:
                rest = middle + last
                first, lead = _best_char(_by_byte()[1].get(codes[k - 1] >> 8, ()), left,
                                         _fold_like(rest[:1], fold), stats)
                restored = first + rest
                lead = min(lead, last_lead)
            else:  # the lost lead byte and the terminator make one character
                options = (_lost_char_options(following, left, after, stats) if terminator == "?"
                           else _by_byte()[1].get(ord(terminator), ()))
                restored, lead = _best_char(options, left, after, stats)
            if resumed and k and restored:  # choose the last character and the resumed one together
                prefix = restored[:-1]
                pair, pair_lead = _best_pair(codes[0], resumed.group(1), (prefix or left)[-1:], after, stats)
                restored, lead = prefix + pair, min(lead, pair_lead)
            elif resumed and restored:
                aligned, aligned_lead = _best_char(_chars_read(resumed.group(1)), restored[-1], after, stats)
                restored, lead = restored + aligned, min(lead, aligned_lead)
            if not restored:
                continue
            shown = _fold_like(restored, fold)
            before = line[span_start:stop]
            margin = logprob(shown, left, after) - logprob(before, left, after)
            here = max(here, margin)
            yield Candidate(span_start, stop, shown, margin, restored, lead)
        best = max(best, here)
        if here < best - _GIVE_UP:  # well into clean text: the run cannot begin further left
            return


def _best_both(code: int, following: int | None, left: str, after: str, stats: DocStats) -> tuple[str, float]:
    """The two characters one misread character straddles, (L, code[0]) and (code[1], x), with
    both L and x lost: chosen together among the likeliest of each."""
    fold = stats.ascii_punct
    firsts = _by_byte()[1].get(code >> 8, ())
    lasts = _lost_trail_options(code & 0xFF, following)

    def alone(ch: str, before: str, behind: str) -> float:
        shown = _fold_like(ch, fold)
        return _fit(shown, before[-1:], behind[:1]) + stats.bonus(shown, before, behind)

    possible_lasts = set(lasts)
    pairs = {a + b for a in firsts for b in stats.followers(a) if b in possible_lasts}  # the document's own
    firsts = sorted(firsts, key=lambda ch: alone(ch, left, ""), reverse=True)[:_JOINT]
    lasts = sorted(lasts, key=lambda ch: alone(ch, "", after), reverse=True)[:_JOINT]
    pairs.update(a + b for a in firsts for b in lasts)
    return _best_char(sorted(pairs), left, after, stats)


def _best_pair(code: int, reading: str, left: str, after: str, stats: DocStats) -> tuple[str, float]:
    """The end of a run followed by `?pinyin)`.  If a character that the run's last byte leads is
    pronounced so, the annotation is its own: its trail byte went with the `(` (出?!睂?shí) for
    出海”實).  Otherwise the run's last character lost its trail byte and the annotated character
    after it, pronounced `reading`, was lost whole (勇?lián)?dāng) for 勇擔當): chosen together."""
    by_char = _gbk()[1]
    own = [ch for ch in _chars_read(reading) if by_char[ch] >> 8 == code & 0xFF]
    if own:
        return _best_char(own, left, after, stats)
    options = [last + aligned for aligned in _chars_read(reading)
               for last in _lost_trail_options(code & 0xFF, by_char[aligned] >> 8)]
    return _best_char(options, left, after, stats)


def _last_char(code: int, terminator: str, following: int | None, left: list[str], after: str,
               stats: DocStats) -> tuple[str | None, float]:
    """The character the run's last code unit makes with the terminator, and how clearly it was chosen."""
    if terminator != "?":
        return _pair(code & 0xFF, ord(terminator)), float("inf")
    ch, lead = _best_char(_lost_trail_options(code & 0xFF, following), "".join(left), after, stats)
    return ch or None, lead


# ---------------------------------------------------------------- the rule

def _ascii_convention(text: str) -> bool:
    """Whether the file writes ,:;()!? between Chinese characters in ASCII (an NFKC-normalised corpus)."""
    ascii_count = len(re.findall(r"[\u4e00-\u9fff][,:;!?)]|[(][\u4e00-\u9fff]", text))
    fullwidth_count = len(re.findall(r"[\u4e00-\u9fff][，：；！？）]|（[\u4e00-\u9fff]", text))
    return ascii_count >= fullwidth_count


@lru_cache(maxsize=8192)
def _script_of(ch: str) -> str:
    """"simplified" or "traditional" for a character only one script uses, else ""."""
    if not "\u4e00" <= ch <= "\u9fff":
        return ""
    s2t, t2s = _converters()
    if s2t.convert(ch) != ch:
        return "simplified"
    if t2s.convert(ch) != ch:
        return "traditional"
    return ""


def _scripts_of(chars: list[str]) -> dict[str, str]:
    """_script_of for many characters at once: one OpenCC call per direction, one character a line."""
    han = [ch for ch in chars if "\u4e00" <= ch <= "\u9fff"]
    s2t, t2s = _converters()
    joined = "\n".join(han)
    to_traditional, to_simplified = s2t.convert(joined).split("\n"), t2s.convert(joined).split("\n")
    if len(to_traditional) != len(han) or len(to_simplified) != len(han):
        return {ch: _script_of(ch) for ch in chars}
    found = dict.fromkeys(chars, "")
    for ch, trad, simp in zip(han, to_traditional, to_simplified):
        found[ch] = "simplified" if trad != ch else "traditional" if simp != ch else ""
    return found


def _converters():
    from repair.script import converter  # one OpenCC instance per table, shared with S101 and A101

    return converter("s2t"), converter("t2s")


def _with_dropped_pairs(line: str, cand: Candidate, stats: DocStats) -> Candidate:
    """Search the run for byte pairs a decoder dropped as invalid (``社?;鸸芾恚婪`` lost
    F9 BD and AC B7): a re-paired character (a, b) becomes (a, x)(y, b) for an invalid pair
    (x, y), where that makes the text far more probable.  The lost lead byte is then re-chosen."""
    logprob = _lm().logprob
    fold = stats.ascii_punct
    left, right = line[cand.start - 1:cand.start], line[cand.end:cand.end + 1]
    chars = list(cand.chars)
    by_char = _gbk()[1]
    by_trail = _by_byte()[1]
    changed, weakest = False, float("inf")
    for _ in range(_MAX_GAPS):
        current = logprob(_fold_like("".join(chars), fold), left, right)
        best_gain, best_at = _GAP_GAIN, None
        for j in range(1, len(chars) - 1):
            code = by_char.get(chars[j])
            if code is None:
                continue
            before, after = _fold_like(chars[j - 1], fold), _fold_like(chars[j + 1], fold)
            found = _best_gap_pair(code, before, after, stats)
            if found is None:
                continue
            head, tail = found
            trial = chars[:j] + [head, tail] + chars[j + 1:]
            pair = _fold_like(head + tail, fold)
            # A bigram model charges every extra character its typical cost; the comparison is per
            # character of text, so one character's worth is given back.
            gain = (logprob(_fold_like("".join(trial), fold), left, right) - current + _CHAR_COST
                    + stats.bonus(pair, before, after) - stats.bonus(_fold_like(chars[j], fold), before, after))
            if gain > best_gain:
                best_gain, best_at = gain, trial
        if best_at is None:
            break
        chars, changed = best_at, True
        weakest = min(weakest, best_gain)
    if not changed:
        return cand
    code = by_char.get(chars[0])
    if code is not None:  # the lost lead byte, chosen again now that its right neighbour is known
        chars[0], _ = _best_char(by_trail.get(code & 0xFF, ()), left, _fold_like(chars[1], fold), stats)
    shown = _fold_like("".join(chars), fold)
    added = len(chars) - len(cand.chars)
    margin = logprob(shown, left, right) - logprob(line[cand.start:cand.end], left, right) + _CHAR_COST * added
    return Candidate(cand.start, cand.end, shown, margin, "".join(chars),
                     min(cand.clear, weakest - _GAP_CLEAR))


def _best_gap_pair(code: int, before: str, after: str, stats: DocStats) -> tuple[str, str] | None:
    """The likeliest (head, tail) a re-paired character `code` may have hidden a dropped pair in:
    heads share its lead byte, tails its trail byte.  Only the likeliest few of each side are
    scored together, and each question is answered once per document."""
    key = (code, before, after)
    if key in stats.gap_pairs:
        return stats.gap_pairs[key]
    logprob = _lm().logprob
    fold = stats.ascii_punct
    by_char = _gbk()[1]
    by_lead, by_trail = _by_byte()
    heads = [ch for ch in by_lead.get(code >> 8, ()) if _may_be_dropped(by_char[ch] & 0xFF)]
    tails = by_trail.get(code & 0xFF, ())
    heads = sorted(heads, key=lambda ch: logprob(_fold_like(ch, fold), before), reverse=True)[:_PAIR_SIDE]
    tails = sorted(tails, key=lambda ch: logprob(_fold_like(ch, fold), "", after), reverse=True)[:_PAIR_SIDE]
    pairs = [(head, tail) for head in heads for tail in tails
             if _resyncs(by_char[head] & 0xFF, by_char[tail] >> 8)]
    # The document cache counts here too: no simplified 护 restored into traditional text.
    best = max(pairs, key=lambda p: logprob(_fold_like(p[0] + p[1], fold), before, after)
               + stats.bonus(_fold_like(p[0] + p[1], fold), before, after)) if pairs else None
    stats.gap_pairs[key] = best
    return best


def _may_be_dropped(byte: int) -> bool:
    """Whether a pair led by `byte` can be invalid: leads of user-defined or sparse GBK rows."""
    return byte in (0x80, 0xFF) or 0xA1 <= byte <= 0xAF or byte >= 0xF8


def find_runs(line: str, stats: DocStats | None = None) -> list[Candidate]:
    """The best non-overlapping misaligned runs in one line, with their margins (any sign);
    `stats` describes the whole document (the line alone by default)."""
    stats = stats if stats is not None else DocStats(line)
    best: list[Candidate] = []
    for match in _TRIGGER.finditer(line):
        end = match.start()
        if not _may_end_run(line, end, match.group()):
            continue
        scored = sorted(_candidates_at(line, end, match.group(), stats), key=lambda c: -c.margin)
        if match.group() != "?":  # a decoder that writes U+FFFD for invalid pairs drops none
            scored += [_with_dropped_pairs(line, c, stats) for c in scored[:_GAP_TRIES] if c.margin > 0]
        if scored:
            best.append(max(scored, key=lambda c: c.margin))
    chosen: list[Candidate] = []
    for cand in sorted(best, key=lambda c: -c.margin):
        if cand.margin > 0 and all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    chosen.sort(key=lambda c: c.start)
    if chosen and not _reads_clean(_apply(line, chosen)):
        return []  # a misread run sits in clean text; a line that stays garbage is another mojibake
    return chosen


def _may_end_run(text: str, end: int, terminator: str) -> bool:
    """Cheap screen of a terminator at text[end]: a misaligned run ends in misread characters,
    which read badly, or leaves a `?` for a lost byte or a `?pinyin)` trace next to it.  A question
    mark or a lone letter after clean Chinese is left alone without a search."""
    line_start = text.rfind("\n", 0, end) + 1
    if "?" in text[max(line_start, end - 1):end] + text[end + 1:end + 2]:
        return True
    if terminator == "?" and _ANNOTATION_REST.match(text, end + 1):
        return True
    if end and _LOST_LEAD.match(text, end - 1):  # 從p壞: 損 (93 70) lost its lead byte whole
        return True
    if end and text[end - 1] == ")":
        return _lost_annotated_ending_at(text, line_start, end) is not None
    tail_start = max(line_start, end - 2)
    return _lm().logprob(text[tail_start:end], text[max(line_start, tail_start - 1):tail_start]) < _MISREAD_TAIL


def _next_trigger(text: str, pos: int) -> re.Match | None:
    """The next terminator from `pos` on that passes the cheap screen."""
    match = _TRIGGER.search(text, pos)
    while match and not _may_end_run(text, match.start(), match.group()):
        match = _TRIGGER.search(text, match.end())
    return match


def _apply(line: str, runs: list[Candidate]) -> str:
    for run in reversed(runs):
        line = line[:run.start] + run.repaired + line[run.end:]
    return line


def _reads_clean(text: str) -> bool:
    """Whether the Chinese of a repaired line reads as Chinese (scored over its Han stretches only,
    so that ASCII in man pages and code neither helps nor hurts)."""
    logprob = _lm().logprob
    stretches = _HAN_STRETCH.findall(text)
    count = sum(map(len, stretches))
    return not count or sum(map(logprob, stretches)) / count > _CLEAN_LINE


def _clear_enough(run: Candidate, opts: dict) -> bool:
    """Every guessed character beats its runner-up, or the whole span gains so much that a close
    runner-up for one lost byte is worth the risk; a doubtful dropped pair (negative lead) never is."""
    return run.clear >= opts["min-lead"] or (run.clear >= 0 and run.margin >= opts["sure-margin"])


@register
class GbkMisalignment(Rule):
    """GBK text decoded one byte out of step: each character was read from the second byte of one
    character and the first byte of the next, until the decoder resynchronised at an invalid pair
    (shown as `?`) or at a byte below 0x80 (an ASCII letter in the middle of Chinese).  The orphan
    first byte shows as `?` or is lost, and NFKC later turned fullwidth ！；，：（） into ASCII.

    The rule maps each character of a suspected run back to its GBK bytes (an ASCII `!;,:?()`
    may stand for its fullwidth form, `?` for a lost byte), re-pairs them one byte earlier, lets
    the language model choose the lost bytes among the codes GBK allows, and searches for byte
    pairs a decoder dropped.  A `?pinyin)` left where a converter annotated a misread character
    counts as that character, pronounced so.  It repairs the smallest span that explains the
    damage and writes restored punctuation in the file's own convention.

    A repair needs a clear language-model margin over the text as it stands (`fix-margin`, nats)
    and every guessed character must beat its runner-up (`min-lead`, nats), unless the span as a
    whole gains `sure-margin` nats and no dropped pair is in doubt; otherwise the run is reported
    with its best reading (from `flag-margin` up).  A lone `?` with nothing misread
    around it is a question mark, except in a document where runs were repaired: there, between
    Chinese characters that read as Chinese and with no question word in its sentence or in the
    clause after it, it is a character lost whole (restored as `，` in the file's convention, or
    a character that fits far better).  A document garbled throughout is left to the other M rules.
    """

    code = "M101"
    name = "gbk-misalignment"
    summary = "GBK read one byte out of step (then NFKC-normalised)"
    example = ("投資?!白叱鋈ァ⒄堖M來”", "投資。“走出去、請進來”")
    # Margins in nats over the text as it stands; `min-lead`: how far each guessed character must
    # beat its runner-up (a repair that hinges on a coin toss is reported, not applied).
    options = {"fix-margin": 6.0, "flag-margin": 5.0, "min-lead": 0.5, "sure-margin": 12.0}

    def find(self, text: str, ctx: Context) -> Iterator:
        first = None if text.isascii() else _next_trigger(text, 0)  # misread GBK is never ASCII
        if not first:
            return
        opts = ctx.options(self)
        stats = ctx.memo("M101.stats", text, DocStats)
        if not stats.readable():  # garbled throughout: another mojibake, for the rules after this one
            return
        pos = first.start()
        repaired: list[tuple[int, int]] = []
        while pos >= 0:  # each line that holds a terminator, once
            offset = text.rfind("\n", 0, pos) + 1
            line_end = text.find("\n", pos)
            line_end = len(text) if line_end < 0 else line_end + 1
            for run in find_runs(text[offset:line_end], stats):
                start, end = offset + run.start, offset + run.end
                if run.margin >= opts["fix-margin"] and _clear_enough(run, opts):
                    repaired.append((start, end))
                    yield self.fix(text, start, end, run.repaired, 0.95,
                                   f"re-paired GBK bytes (+{run.margin:.0f} nats)")
                elif run.margin >= opts["flag-margin"]:
                    yield self.flag(text, start, end, 0.5,
                                    f"possibly GBK read out of step; best reading {run.repaired!r} "
                                    f"(+{run.margin:.0f} nats, runner-up within {run.clear:.1f})")
            following = _next_trigger(text, line_end)
            pos = following.start() if following else -1
        if repaired:
            yield from self._lone_marks(text, repaired, stats, opts)

    def _lone_marks(self, text: str, repaired: list[tuple[int, int]], stats: DocStats, opts: dict) -> Iterator:
        """In a document with misaligned runs, a lone `?` amid Chinese that reads clean and outside
        a question is a character lost whole (a span one character long was misread): a clause
        break, written as the commonest mark `，`, unless a character fits clearly better."""
        comma = _fold_like("，", stats.ascii_punct)
        for match in _LONE_MARK.finditer(text):
            pos = match.start()
            if (any(start - 1 <= pos <= end for start, end in repaired) or _in_question(text, pos)
                    or not _amid_chinese(text, pos)):
                continue
            left, after = text[max(0, pos - 1):pos], text[pos + 1:pos + 2]
            han = [ch for ch in _lost_char_options(None, left, after, stats) if _HAN_STRETCH.fullmatch(ch)]
            best, _ = _best_char(han, left, after, stats)
            gain = _fit(best, left, after) - _fit(comma, left, after) if best else float("-inf")
            restored = best if gain >= opts["fix-margin"] else comma
            yield self.fix(text, pos, pos + 1, restored, 0.9,
                           f"a character lost whole in a misaligned document; {comma!r} unless a character fits "
                           f"{opts['fix-margin']:.0f} nats better (best {best!r}: {gain:+.1f})")
