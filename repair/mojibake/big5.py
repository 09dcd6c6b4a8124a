"""M106-M107: Big5 text read as GBK, and GBK text read as Big5.

Both codecs use the same double-byte shape (lead byte >= 0x81, then a trail byte), so text written
in one and decoded with the other stays "valid" Chinese-looking characters: 中文 written in GBK
and read as Big5 is 笢恅; 說明 written in Big5 and read as GBK is 輪ォ. The damaged characters are
turned back into the bytes the wrong decoder read (``bytes_util.template_of``) and those bytes
are decoded with the right codec; bytes the wrong decoder replaced (U+FFFD or ``?``) are
searched among the values the codec structure allows (a byte the wrong decoder rejected in that
place, one the right codec accepts), and the language model chooses.

A line is decoded by a Viterbi search over its bytes in two modes: keep the character as it is,
or re-decode the bytes; entering re-decoding costs ``SWITCH`` nats and every character costs the
language model's surprise, so only the clauses that are damaged are re-decoded, and clean text
next to them stays put. A re-decoded clause is repaired when it beats the text it replaces by
the ``margin`` option (nats) and the re-encoded bytes reproduce the damage exactly under one of
the wrong decoders. A lost byte whose value the model cannot pin down (``fill_margin``) stays
U+FFFD in the repair and is flagged with the best guess. Two things the bigram model cannot see
re-choose a guess afterwards: the closing bracket the line waits for, and the script of a clearly
simplified line (no traditional-only guess where a simplified one fits nearly as well).

Only a few places are searched. A gate (one regular-expression scan) looks for clusters: two
different characters, close together, of those the right codec's common characters turn into
when misread (derived from the code tables and the model, in step or one byte out of step) and
that clean Chinese hardly uses, whose bytes re-read as common characters; a U+FFFD alone is no
sign, nor a known word of rare characters. A short line with a cluster is searched whole; a long
one only in windows around its clusters, cut at ASCII punctuation so that repeated text is
searched once. Japanese, Russian or Greek words and UTF-8 read as GBK (M101's damage) are left
alone, and the rival confusion is asked only where its own gate passes.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from repair import lm
from repair.mojibake.bytes_util import (
    LOST, QMARK, char_bytes, common_pairs, merged_table, pair_table, template_of, wrong_decodings,
)
from repair.records import Change
from repair.registry import Context, Rule, register
from repair.script import OTHER_SCRIPT, foreign_script

BARRIER = -3  # a character the wrong decoder cannot have produced: re-decoding stops there
SWITCH = 4.0  # nats to start re-decoding: a clause must explain itself better than this
BEAM = 8  # states kept per byte position and mode
DOUBLE_LOSS_CANDIDATES = 800  # for a pair with both bytes lost, the most common characters tried
MAX_OPTIONS = 60  # readings of one place with lost bytes tried, the likeliest in context first


@dataclass(frozen=True)
class Confusion:
    """One codec confusion: bytes written with `right` were decoded with `wrong`."""

    right: tuple[str, ...]  # codecs of the original bytes, best reading first
    wrong: tuple[str, ...]  # decoders that misread them
    encoders: tuple[str, ...]  # how damaged characters go back to bytes
    signs: str  # characters the damage shows and clean Chinese hardly uses (kana, symbols, U+FFFD)

    @property
    def key(self) -> str:
        """Names the confusion in shipped data: "cp950 read as gbk"."""
        return f"{self.right[0]} read as {self.wrong[0]}"

    @cached_property
    def right_table(self) -> dict[int, str]:
        return merged_table(self.right)

    @cached_property
    def wrong_valid(self) -> frozenset[int]:
        """Pairs every wrong decoder maps: a lost byte was not the lead of one of these."""
        return common_pairs(tuple(w for w in self.wrong if w != "gb18030"))


@lru_cache(maxsize=None)
def _lead_lost(confusion: Confusion, trail: int) -> tuple[tuple[int, str], ...]:
    """(lead, char) for a pair whose lead byte was lost and whose trail byte is known."""
    table, valid = confusion.right_table, confusion.wrong_valid
    return tuple((lead, table[lead << 8 | trail]) for lead in range(0x81, 0xFF)
                 if lead << 8 | trail in table and lead << 8 | trail not in valid)


@lru_cache(maxsize=None)
def _trail_lost(confusion: Confusion, lead: int) -> tuple[tuple[int, str], ...]:
    """(trail, char) for a known lead byte whose trail byte was lost (a lost byte is >= 0x80)."""
    table = confusion.right_table
    return tuple((trail, table[lead << 8 | trail]) for trail in range(0x80, 0xFF) if lead << 8 | trail in table)


@lru_cache(maxsize=None)
def _both_lost(confusion: Confusion) -> tuple[tuple[int, int, str], ...]:
    """(lead, trail, char) for pairs the wrong decoder rejects, most common characters first."""
    table, valid = confusion.right_table, confusion.wrong_valid
    found = [(code >> 8, code & 0xFF, ch) for code, ch in table.items()
             if code not in valid and code & 0xFF >= 0x80 and lm.char_class(ch) == lm.HAN and lm.is_known(ch)]
    found.sort(key=lambda item: -lm.step("", item[2]))
    return tuple(found[:DOUBLE_LOSS_CANDIDATES])


def _rejects(confusion: Confusion, byte: int, following: int | None) -> bool:
    """Whether the wrong decoder fails on `byte` followed by `following` (unknown: assume it may)."""
    if following is None or following < 0:
        return True
    return byte << 8 | following not in confusion.wrong_valid


@dataclass(frozen=True)
class Option:
    size: int  # bytes consumed
    char: str
    raw: tuple[int, ...]  # the byte values chosen (-1 where nothing explains a lost byte)
    guessed: bool  # a lost byte's value was chosen


def decode_options(confusion: Confusion, template: list[int], pos: int) -> tuple[Option, ...]:
    """The characters the right codec can read at `pos` of the template."""
    end = len(template)
    nxt = template[pos + 1] if pos + 1 < end else BARRIER
    after = template[pos + 2] if pos + 2 < end else None
    return _options_at(confusion, template[pos], nxt, after)


@lru_cache(maxsize=8192)  # a place with lost bytes has hundreds of options: bounded memory
def _options_at(confusion: Confusion, item: int, nxt: int, after: int | None) -> tuple[Option, ...]:
    if item == BARRIER:
        return ()
    if 0 <= item < 0x80:
        return (Option(1, chr(item), (item,), False),)
    table = confusion.right_table
    options = [Option(1, "?", (0x3F,), False)] if item == QMARK else []
    if item >= 0x80 and nxt >= 0:
        ch = table.get(item << 8 | nxt)
        if ch is not None:
            options.append(Option(2, ch, (item, nxt), False))
    elif item >= 0x80 and nxt in (LOST, QMARK):
        options.extend(Option(2, ch, (item, trail), True) for trail, ch in _trail_lost(confusion, item)
                       if _rejects(confusion, trail, after))
    elif item in (LOST, QMARK) and nxt >= 0x40:
        options.extend(Option(2, ch, (lead, nxt), True) for lead, ch in _lead_lost(confusion, nxt))
    elif item in (LOST, QMARK) and nxt in (LOST, QMARK):
        options.extend(Option(2, ch, (lead, trail), True) for lead, trail, ch in _both_lost(confusion)
                       if _rejects(confusion, trail, after))
    if item == LOST and not options:
        options.append(Option(1, "\ufffd", (-1,), True))
    return tuple(options)


@dataclass
class Step:
    start: int  # byte position
    char: str
    redecoded: bool
    option: Option | None = None
    alternatives: list[Option] = field(default_factory=list)


def _line_template(confusion: Confusion, line: str, lost_marks: str) -> tuple[list[int], list[int]]:
    """The template of a line and the byte position where each character starts."""
    template: list[int] = []
    starts: list[int] = []
    for ch in line:
        starts.append(len(template))
        raw = template_of(ch, confusion.encoders, lost_marks)
        template.extend(raw if raw else [BARRIER])
    starts.append(len(template))
    return template, starts


def viterbi(confusion: Confusion, line: str, left: str, lost_marks: str, switch: float = SWITCH,
            keep: float = 0.0) -> list[Step]:
    """The cheapest reading of `line`: each stretch either kept or re-decoded (see module doc)."""
    template, starts = _line_template(confusion, line, lost_marks)
    char_at = {pos: i for i, pos in enumerate(starts[:-1])}
    size = len(template)
    valid = confusion.wrong_valid
    step = _step
    # states[pos]: (redecoding, last char) -> (cost, back pointer (pos, key, option or None, options))
    states: list[dict] = [dict() for _ in range(size + 1)]
    states[0][False, left[-1:] or "\n"] = (0.0, None)
    for pos in range(size):
        current = states[pos]
        if not current:
            continue
        if len(current) > 2 * BEAM:
            current = dict(sorted(current.items(), key=lambda kv: kv[1][0])[: 2 * BEAM])
        index = char_at.get(pos)
        options = None
        after_lost = pos > 0 and template[pos - 1] in (LOST, QMARK)
        for key, (cost, back) in current.items():
            redecoding, last = key
            if index is not None:
                ch = line[index]
                kept = cost - step(last, ch) + (keep if ch > "\x7f" else 0.0)
                _offer(states[starts[index + 1]], (False, ch), kept, (pos, key, None, None))
            if index is None and not redecoding:
                continue
            if options is None:
                options = _ranked(confusion, template, pos, last)
            # A lost byte chosen just before: the wrong decoder must have rejected it here.
            lost_before = back[2].raw[-1] if after_lost and back and back[2] is not None else -1
            extra = 0.0 if redecoding else switch
            for option in options:
                if lost_before >= 0 and option.raw[0] >= 0 and lost_before << 8 | option.raw[0] in valid:
                    continue
                _offer(states[pos + option.size], (True, option.char), cost + extra - step(last, option.char),
                       (pos, key, option, options))
    final = states[size]
    # The line ends here: its last character must also be a plausible one to end on.
    key = min(final, key=lambda k: final[k][0] - step(k[1], "\n"))
    steps: list[Step] = []
    pos = size
    while True:
        _, back = states[pos][key]
        if back is None:
            break
        previous, previous_key, option, options = back
        if option is None:
            steps.append(Step(previous, key[1], False))
        else:
            steps.append(Step(previous, option.char, True, option, list(options) if option.guessed else []))
        pos, key = previous, previous_key
    steps.reverse()
    return steps


_step = lm.step  # cached there: the search asks for the same pairs again and again


def _ranked(confusion: Confusion, template: list[int], pos: int, last: str) -> tuple[Option, ...]:
    """At most MAX_OPTIONS options, the likeliest after `last` first (many bytes may be lost)."""
    options = decode_options(confusion, template, pos)
    if len(options) <= MAX_OPTIONS:
        return options
    end = len(template)
    nxt = template[pos + 1] if pos + 1 < end else BARRIER
    after = template[pos + 2] if pos + 2 < end else None
    return _top_options(confusion, template[pos], nxt, after, last)


@lru_cache(maxsize=16384)
def _top_options(confusion: Confusion, item: int, nxt: int, after: int | None, last: str) -> tuple[Option, ...]:
    options = _options_at(confusion, item, nxt, after)
    return tuple(sorted(options, key=lambda o: -_step(last, o.char))[:MAX_OPTIONS])


def _offer(bucket: dict, key: tuple, cost: float, back: tuple) -> None:
    known = bucket.get(key)
    if known is None or cost < known[0]:
        bucket[key] = (cost, back)


@dataclass
class Region:
    start: int  # character offsets in the line
    end: int
    after: str
    margin: float  # nats the repair gains over the damaged text, in context
    guesses: list[tuple[int, str, float]]  # (offset in `after`, best guess, its margin) for lost bytes
    telling: bool  # the damaged text shows a sign of the confusion, or is a whole clause long


def regions(confusion: Confusion, line: str, left: str, right: str, lost_marks: str, fill_margin: float,
            switch: float = SWITCH, keep: float = 0.0) -> Iterator[Region]:
    """Re-decoded stretches of a line that reproduce the damage exactly, with their margins.
    `switch` is the cost of starting to re-decode, `keep` that of keeping a non-ASCII character."""
    steps = viterbi(confusion, line, left, lost_marks, switch, keep)
    foreign = None  # the script the line does not use, read once a run has guesses to re-choose
    _, starts = _line_template(confusion, line, lost_marks)
    char_of = {pos: i for i, pos in enumerate(starts)}
    i = 0
    while i < len(steps):
        if not steps[i].redecoded:
            i += 1
            continue
        j = i
        while j < len(steps) and steps[j].redecoded:
            j += 1
        run = steps[i:j]
        start = char_of[run[0].start]
        end = char_of[steps[j].start] if j < len(steps) else len(line)
        before_char = steps[i - 1].char if i else left[-1:]
        region = _region(confusion, line, start, end, run, before_char, left, right, fill_margin)
        if region is not None and any(st.option.guessed for st in run):
            if foreign is None:
                foreign = foreign_script("".join(st.char for st in steps if st.option is None or not st.option.guessed))
            prefix = left[-lm.BRACKET_REACH:] + "".join(st.char for st in steps[max(0, i - lm.BRACKET_REACH):i])
            refined_run = _refined(run, prefix, line[end:end + 1] or "\n", foreign)
            refined = (_region(confusion, line, start, end, refined_run, before_char, left, right, fill_margin)
                       if refined_run != run else None)
            if refined is not None:  # its bytes still reproduce the damage; the evidence is the search's
                region = replace(refined, margin=region.margin)
        if region is not None:
            yield region
        i = j


def _refined(run: list[Step], prefix: str, after: str, foreign: frozenset[str]) -> list[Step]:
    """The run with guessed characters re-chosen where the bigram model cannot see the reason:
    brackets (`《菩萨蛮》`, not `《菩萨蛮。`; no `）` that closes nothing, see lm.bracket_fit), and
    a character of the line's script instead of one of the `foreign` script (爲 or 當 in
    simplified text) when one fits within OTHER_SCRIPT nats of it. Other guesses stay the search's."""
    chars = [st.char for st in run]
    out = list(run)
    for k, st in enumerate(run):
        if not st.option.guessed:
            continue
        prev = chars[k - 1] if k else prefix[-1:]
        nxt = chars[k + 1] if k + 1 < len(chars) else after

        def fit(ch: str) -> float:
            return _step(prev, ch) + _step(ch, nxt)

        same = [o for o in st.alternatives if o.size == st.option.size]
        context = prefix + "".join(chars[:k])
        awaited = lm.unclosed_bracket(context)
        current = fit(st.char) + lm.bracket_fit(st.char, awaited, context)
        if current < fit(st.char) or awaited in {o.char for o in same}:
            # a bracket is awaited, or the guess closes one that was never opened
            choice = max(same, key=lambda o: fit(o.char) + lm.bracket_fit(o.char, awaited, context))
            if fit(choice.char) + lm.bracket_fit(choice.char, awaited, context) <= current:
                continue
        elif st.char in foreign and (own := [o for o in same if o.char not in foreign]):
            choice = max(own, key=lambda o: fit(o.char))
            if fit(choice.char) <= fit(st.char) - OTHER_SCRIPT:
                continue
        else:
            continue
        out[k] = Step(st.start, choice.char, True, choice, st.alternatives)
        chars[k] = choice.char
    return out


def _region(confusion, line, start, end, run, before_char, left, right, fill_margin) -> Region | None:
    before = line[start:end]
    chars = [step.char for step in run]
    raw = [b for step in run for b in step.option.raw]
    if -1 not in raw and before not in wrong_decodings(bytes(raw), confusion.wrong):
        return None
    guesses = []
    for k, step in enumerate(run):
        if step.option.guessed:
            prev = chars[k - 1] if k else before_char
            nxt = chars[k + 1] if k + 1 < len(chars) else (line[end:end + 1] or "\n")
            margin = _guess_margin(step, prev, nxt)
            if margin < fill_margin:
                guesses.append((k, step.char, margin))
    for k, _, _ in guesses:
        chars[k] = "\ufffd"
    after = "".join(chars)
    # Trim what re-decoding left unchanged at both ends (ASCII passes through both codecs).
    lo = 0
    while lo < min(len(before), len(after)) and before[lo] == after[lo]:
        lo += 1
    hi = 0
    while hi < min(len(before), len(after)) - lo and before[-1 - hi] == after[-1 - hi]:
        hi += 1
    if before[lo:len(before) - hi] == after[lo:len(after) - hi]:
        return None
    context_left = left + line[:start + lo]
    context_right = line[end - hi:] + right
    core_before, core_after = before[lo:len(before) - hi], after[lo:len(after) - hi]
    margin = lm.compare(core_after, core_before, context_left[-1:], context_right[:1])
    guesses = [(k - lo, ch, m) for k, ch, m in guesses]
    telling = any(ch in confusion.signs for ch in core_before) or sum(ch > "\x7f" for ch in core_before) >= CLAUSE
    return Region(start + lo, end - hi, core_after, margin, guesses, telling)


def _guess_margin(step: Step, prev: str, nxt: str) -> float:
    """How much better the chosen value of a lost byte is than the next best, given neighbours."""
    def score(ch: str) -> float:
        return lm.step(prev, ch) + (lm.step(ch, nxt) if nxt else 0.0)

    mine = score(step.char)
    others = [score(o.char) for o in step.alternatives if o.size == step.option.size and o.char != step.char]
    return mine - max(others) if others else float("inf")


JAPANESE_KANA_SHARE = 0.45  # kana among kana and Han: Japanese ~0.6-0.9, Big5 read as GBK < 0.35
_KANA = re.compile("[\u3041-\u30ff]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIRAGANA_RUN = re.compile("[\u3041-\u309f]{2,}")


def kana_share(text: str) -> float:
    kana = _count(_KANA, text)
    return kana / (kana + _count(_HAN, text)) if kana else 0.0


def _count(pattern: re.Pattern[str], text: str) -> int:
    """Matches of a one-character pattern, without a list of them (a text may be 200 MB)."""
    return len(text) - len(pattern.sub("", text))


def looks_japanese(line: str) -> bool:
    """Several hiragana words and kana for at least 40% of the CJK: Big5 read as GBK shows its
    commonest characters as isolated kana, Japanese strings them together."""
    return len(_HIRAGANA_RUN.findall(line)) >= 2 and kana_share(line) >= 0.4


def _left_alone(line: str, found: Iterable[Region], accepted) -> bool:
    """Whether a line keeps non-ASCII characters outside the accepted repairs."""
    covered = set()
    for region in found:
        if accepted(region):
            covered.update(range(region.start, region.end))
    return any(ch > "\x7f" and not ch.isspace() and i not in covered for i, ch in enumerate(line))


def _convincing(region: Region) -> bool:
    """Enough to repair on its own: several Han characters out, and the damage looks like this
    confusion (a sign character, or a whole clause) -- a short run of rare characters in
    classical text re-decodes into common ones too."""
    return region.telling and _han_count(region.after) >= MIN_HAN


def _han_count(text: str) -> int:
    return len(_HAN.findall(text))


# The gate. Misread text shows characters that the commonest characters of the right codec turn
# into under the wrong decoder and that clean Chinese hardly uses (kana, bopomofo, symbols, rare
# Han, private-use characters), and it shows them in clusters; clean text has such a character
# here and there. A U+FFFD alone is no sign (other repairs leave it for a lost byte).
COMMON_RANK = 2500  # the right codec's characters whose misreadings make the marker set
GATE_RARE_RANK = 5000  # rarer Han characters are markers (classical text clusters rarer ones than 3000)
GATE_GAP = 3  # other characters allowed between the two markers of a cluster
WORD_GAIN = 5.0  # nats a character gains from its neighbour when the two form a word
PLAUSIBLE_RANK = COMMON_RANK  # a cluster must re-decode into characters at least this common
WEAK_MARKS = "\ufffd?"  # a lost byte's trace: counts in a cluster, not alone
MAX_LINE = 2000  # longer lines are read only in windows around their clusters
WINDOW = 60  # characters read on each side of a cluster in a long line
MAX_SEGMENT = 2000  # a window never grows longer: bounded work and memory on a huge line
OTHER_LINES_REACH = 60  # lines around a cluster also read once the document shows clear damage
RIVAL_CLUSTERS, RIVAL_RATIO = 3, 2.5  # a stretch where the rival's gate finds this many, this many times more, is the rival's


MARKERS_PATH = Path(__file__).resolve().parent.parent / "data" / "gate_markers.json"


def gate_markers(confusion: Confusion) -> str:
    """The confusion's marker characters, as scripts/build_startup_tables.py derived them
    (`derive_gate_markers`) and shipped them: deriving reads both code tables and ranks every
    character with the model, a tenth of a second at every start."""
    return _shipped_markers()[confusion.key]


@lru_cache(maxsize=1)
def _shipped_markers() -> dict[str, str]:
    return json.loads(MARKERS_PATH.read_text(encoding="utf-8"))


def derive_gate_markers(confusion: Confusion) -> str:
    """Characters the right codec's common characters and punctuation become when misread, in
    step or one byte out of step (after a lost byte), and that are rare in clean Chinese."""
    wrong = merged_table(confusion.wrong)
    common = [code for code, ch in confusion.right_table.items() if _is_common(ch)]
    in_step = set(common)
    out_of_step = {trail << 8 | lead for trail in {c & 0xFF for c in common} for lead in {c >> 8 for c in common}}
    found = set()
    for code in in_step | out_of_step:
        shown = wrong.get(code)
        if shown is None or (code in in_step and shown == confusion.right_table[code]):
            continue
        kind = lm.char_class(shown)
        if kind in _ORDINARY_CLASSES:
            continue
        rank = lm.frequency_rank(shown)
        if kind != lm.HAN or rank is None or rank >= GATE_RARE_RANK:
            found.add(shown)
    return "".join(sorted(found))


def _is_common(ch: str) -> bool:
    kind = lm.char_class(ch)
    if kind == lm.PUNCT:
        return True
    rank = lm.frequency_rank(ch)
    return kind == lm.HAN and rank is not None and rank < COMMON_RANK


_ORDINARY_CLASSES = (lm.PUNCT, lm.LATIN, lm.DIGIT, lm.SPACE, lm.NEWLINE)


@lru_cache(maxsize=None)
def gate_patterns(confusion: Confusion) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A quick pattern (two markers close together: one scan at the speed of a character class)
    and the exact one: two different markers, at least one of them not a weak mark."""
    strong = "[" + re.escape(gate_markers(confusion)) + "]"
    either = "[" + re.escape(gate_markers(confusion) + WEAK_MARKS) + "]"
    weak = "[" + re.escape(WEAK_MARKS) + "]"
    gap = "[^\\n]{0,%d}?" % GATE_GAP
    return re.compile(either + gap + either), re.compile(f"({strong}){gap}(?!\\1){either}|{weak}{gap}{strong}")


def clusters(confusion: Confusion, text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of every marker cluster of the text."""
    quick, exact = gate_patterns(confusion)
    pos = start
    while (hit := quick.search(text, pos)) is not None:
        found = exact.match(text, hit.start())
        if found is None or not _is_sign(confusion, found.group()):
            pos = hit.start() + 1
            continue
        yield found.span()
        pos = found.end()


@lru_cache(maxsize=65536)
def _is_sign(confusion: Confusion, cluster: str) -> bool:
    return not _is_word(cluster) and _redecodes(confusion, cluster)


def _is_word(cluster: str) -> bool:
    """Two rare characters that the model knows as a pair (憔悴, 秸秆): a word, not damage."""
    return (len(cluster) == 2 and lm.char_class(cluster[0]) == lm.char_class(cluster[1]) == lm.HAN
            and _step(cluster[0], cluster[1]) - _step("", cluster[1]) > WORD_GAIN)


def _redecodes(confusion: Confusion, cluster: str) -> bool:
    """Whether a cluster's bytes read with the right codec give common characters, in step or one
    byte out of step (after a lost byte): rare characters side by side in clean text hardly do.
    A lost byte's mark in the cluster is evidence enough."""
    if any(mark in cluster for mark in WEAK_MARKS):
        return True
    raw = bytearray()
    for ch in cluster:
        if ch < "\x80":
            raw.append(ord(ch))
            continue
        pair = char_bytes(ch, confusion.encoders)
        if pair is None:
            return False
        raw += pair
    right = confusion.right[0]
    for shift in (0, 1):
        chars = bytes(raw[shift:len(raw) - shift]).decode(right, "replace")
        if all(ch < "\x80" or _is_plausible(ch) for ch in chars) and not chars.isascii():
            return True
    return False


@lru_cache(maxsize=65536)
def _is_plausible(ch: str) -> bool:
    rank = lm.frequency_rank(ch)
    return lm.char_class(ch) == lm.PUNCT or (rank is not None and rank < PLAUSIBLE_RANK)


def passes_gate(confusion: Confusion, text: str) -> bool:
    return not text.isascii() and next(clusters(confusion, text), None) is not None


def segments(text: str, spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The stretches to read around the clusters: the whole line when it is short, else bounded
    windows, merged while they overlap. Linear in the text: a line's bounds are found once."""
    line_start = line_end = -1
    current: tuple[int, int] | None = None
    for start, end in spans:
        if start >= line_end:
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
        if line_end - line_start <= MAX_LINE:
            piece = (line_start, line_end)
        else:
            piece = _window(text, max(line_start, start - WINDOW), start, end, min(line_end, end + WINDOW))
        if current and piece[0] <= current[1] and piece[1] - current[0] <= MAX_SEGMENT:
            current = (current[0], max(current[1], piece[1]))
        elif current and piece[0] <= current[1]:
            yield current
            current = (current[1], piece[1])
        else:
            if current:
                yield current
            current = piece
    if current:
        yield current


# ASCII punctuation below "?" (and control characters): never a byte of a double-byte character,
# so a window may end there. Windows cut at such characters depend on the text, not on where it
# sits: repeated text is read once. Spaces and digits stay inside (`中文 man 手冊`).
_CUT_CLASS = "[\\x00-\\x1f!-/:->]"
_CUT = re.compile(_CUT_CLASS)
_LAST_CUT = re.compile(f"{_CUT_CLASS}(?!.*{_CUT_CLASS})", re.S)


def _window(text: str, lo: int, start: int, end: int, hi: int) -> tuple[int, int]:
    """[lo, hi) narrowed to the clause around a cluster at [start, end) where it has bounds."""
    before = _LAST_CUT.search(text, lo, start)
    after = _CUT.search(text, end, hi)
    return (before.end() if before else lo), (after.start() if after else hi)


@dataclass
class Analysis:
    segments: dict[int, tuple[int, tuple[Region, ...]]]  # start -> (end, regions found there)
    margin: float  # what a region must gain to be repaired in this document
    damaged: bool  # the document shows clear damage elsewhere
    lenient: set[int] = field(default_factory=set)  # segments of a wholly misread document: any gain will do

    def accepts(self, region: Region, start: int) -> bool:
        if start in self.lenient:
            return region.margin > 0
        # Outside a damaged document one re-decoded character is too little evidence (a rare
        # character, a symbol such as ☆, an accented letter).
        return region.margin >= self.margin and (self.damaged or _convincing(region))

    def coverage(self, text: str) -> float:
        """Share of the non-ASCII characters that accepted repairs replace."""
        total = len(text) - len(text.encode("ascii", "ignore")) - _count(_WIDE_SPACE, text)
        covered = sum(r.end - r.start for s, (_, regs) in self.segments.items() for r in regs if self.accepts(r, s))
        return covered / total if total else 0.0


_WIDE_SPACE = re.compile(r"[^\S\x00-\x7f]")


def _lines(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for line in text.split("\n"):
        yield start, start + len(line)
        start += len(line) + 1


class _ConfusionRule(Rule):
    confusion: Confusion
    rival: _ConfusionRule  # the opposite confusion
    options = {
        "margin": lm.CLEAR_MARGIN,  # nats a re-decoded clause must gain to be repaired
        "doc_margin": 2.0,  # ... once the document shows `doc_evidence` clear repairs
        "doc_evidence": 2,
        "fill_margin": -1e9,  # a lost byte's best value must beat the next by this, else U+FFFD
        "report_margin": 4.0,  # weaker candidates are reported, not applied
    }

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not passes_gate(self.confusion, text):
            return []
        opts = ctx.options(self)
        mine = ctx.memo(f"{self.code}:analysis", text, lambda t: self.analyse(t, opts))
        rival, rival_opts = self.rival, ctx.options(self.rival)
        threshold = min(opts["doc_margin"], rival_opts["doc_margin"])
        changes: list[Change] = []
        for start, (end, found) in sorted(mine.segments.items()):
            # Big5 read as GBK and GBK read as Big5 both turn Chinese into Chinese-looking text:
            # a stretch belongs to the confusion that explains it better (asked only where the
            # rival's own gate passes).
            piece = text[start:end]
            if passes_gate(rival.confusion, piece):
                theirs = rival._regions(text, start, end, rival_opts)
                if _gain(theirs, threshold) > _gain(found, threshold):
                    continue
            for region in found:
                changes.extend(self._records(text, start, region, mine, opts))
        return changes

    def analyse(self, text: str, opts: dict) -> Analysis:
        """The re-decodable regions around every marker cluster, and the margin that applies."""
        if _is_japanese(text):
            return Analysis({}, opts["margin"], False)
        spans = list(clusters(self.confusion, text))
        found = {}
        for start, end in segments(text, spans):
            piece = text[start:end]
            if (not looks_japanese(piece) and len(_ALPHABET_WORD.findall(piece)) < 2 and not _utf8_misread(piece)
                    and not self._rival_marks_more(piece)):
                found[start] = (end, self._regions(text, start, end, opts))
        strong = sum(1 for _, regs in found.values() for r in regs if r.margin >= opts["margin"] and _convincing(r))
        damaged = strong >= opts["doc_evidence"]
        if damaged:
            # The document is damaged: lines without clusters (a two-character heading) are
            # read too, and a smaller margin suffices.
            for start, end in self._other_lines(text, found):
                found[start] = (end, self._regions(text, start, end, opts))
        analysis = Analysis({s: item for s, item in found.items() if item[1]},
                            opts["doc_margin"] if damaged else opts["margin"], damaged)
        if damaged and analysis.coverage(text) >= WHOLE_DOC_SHARE:
            # Nearly all the document's non-ASCII text was misread (the whole file went through
            # the wrong decoder): a line with characters left alone is read again, now with
            # keeping a character the costly choice, so that one kept only because re-decoding
            # it gains little (a lone rare character, 禰 for 跋; 梆 for 埠) is re-decoded too.
            for start, (end, regs) in list(found.items()):
                piece = text[start:end]
                if _left_alone(piece, regs, lambda r: analysis.accepts(r, start)):
                    whole = self._regions(text, start, end, opts, switch=0.0, keep=SWITCH)
                    if whole:
                        analysis.segments[start] = (end, whole)
                        analysis.lenient.add(start)
        return analysis

    def _rival_marks_more(self, piece: str) -> bool:
        """The rival's gate finds several times as many clusters: the stretch is the rival's
        (measured on the benchmark: the right rule sees at most 1.5 times fewer than the rival)."""
        rival = sum(1 for _ in clusters(self.rival.confusion, piece))
        return rival >= RIVAL_CLUSTERS and rival + 1 >= RIVAL_RATIO * (sum(1 for _ in clusters(self.confusion, piece)) + 1)

    @staticmethod
    def _other_lines(text: str, found: dict) -> Iterator[tuple[int, int]]:
        """Short non-ASCII lines not read yet (long ones are read only around their clusters),
        up to OTHER_LINES_REACH lines away from a stretch with clusters: a block of a big file
        holds many documents, and damage in one says nothing about lines far from it."""
        lines = list(_lines(text))
        starts = [start for start, _ in lines]
        marked = sorted({bisect_right(starts, start) - 1 for start in found})
        for k, (start, end) in enumerate(lines):
            if start in found or not 0 < end - start <= MAX_LINE or text[start:end].isascii():
                continue
            nearest = bisect_left(marked, k - OTHER_LINES_REACH)
            if nearest < len(marked) and marked[nearest] <= k + OTHER_LINES_REACH:
                yield start, end

    def _regions(self, text: str, start: int, end: int, opts: dict, switch: float = SWITCH,
                 keep: float = 0.0) -> tuple[Region, ...]:
        return _cached_regions(self.confusion, text[start:end], text[max(start - 1, 0):start], text[end:end + 1],
                               opts["fill_margin"], switch, keep)

    def _records(self, text: str, offset: int, region: Region, analysis: Analysis, opts: dict) -> Iterator[Change]:
        start, end = offset + region.start, offset + region.end
        if analysis.accepts(region, offset):
            note = f"re-decoded ({region.margin:.0f} nats better)"
            if region.guesses:
                # The engine keeps only the last pass's findings, so the guesses travel with the fix.
                guesses = ", ".join(f"{guess!r} at {k + 1} ({margin:.1f} nats ahead)" for k, guess, margin in region.guesses)
                note += f"; lost bytes left as U+FFFD, best guesses: {guesses}"
            yield self.fix(text, start, end, region.after, 0.95, f"{self.summary}: {note}")
        elif region.margin >= opts["report_margin"] and _convincing(region):
            yield Change(self.code, self.name, start, end, text[start:end], region.after, 0.5,
                         f"{self.summary}: possible, {region.margin:.1f} nats better")


# Russian or Greek words: a misread line shows these letters singly or in pairs among Han ones.
_ALPHABET_WORD = re.compile("[\u0400-\u04ff]{3,}|[\u0370-\u03ff]{3,}")


UTF8_ERROR_SHARE = 0.4  # UTF-8 read as GBK: ~0.15 bad bytes per character re-read; Big5/GBK ~1


def _utf8_misread(piece: str) -> bool:
    """Whether the stretch is UTF-8 read as GBK (M101's damage): its GB18030 bytes read as UTF-8
    almost cleanly, while Big5/GBK confusions give about one error per character."""
    bare = piece.replace("\ufffd", "")
    wide = len(bare) - len(bare.encode("ascii", "ignore"))
    if wide < 4:
        return False
    errors = bare.encode("gb18030").decode("utf-8", "replace").count("\ufffd")
    return errors < UTF8_ERROR_SHARE * wide


def _is_japanese(text: str) -> bool:
    runs = _HIRAGANA_RUN.finditer(text)
    return next(runs, None) is not None and next(runs, None) is not None and kana_share(text) >= JAPANESE_KANA_SHARE


@lru_cache(maxsize=16384)
def _cached_regions(confusion: Confusion, piece: str, left: str, right: str,
                    fill_margin: float, switch: float = SWITCH, keep: float = 0.0) -> tuple[Region, ...]:
    """A stretch's regions; the engine's later passes and the rival rule ask again for unchanged text."""
    return tuple(regions(confusion, piece, left, right, "\ufffd?", fill_margin, switch, keep))


def _gain(found: Iterable[Region], threshold: float) -> float:
    return sum(r.margin for r in found if r.margin >= threshold)


@lru_cache(maxsize=None)
def _row_chars(codec: str, leads: tuple[int, ...], trails: range) -> str:
    table = pair_table(codec)
    return "".join(sorted({table[lead << 8 | t] for lead in leads for t in trails if lead << 8 | t in table}))


def _big5_as_gbk() -> Confusion:
    """Signs: kana, Greek, Cyrillic, pinyin letters, bopomofo and box drawing (GBK rows A4-A9,
    where Big5's commonest characters 中不之 ... land), lost-byte marks, user-defined characters."""
    return Confusion(
        right=("cp950", "big5"), wrong=("gbk", "gb18030"), encoders=("gbk", "gb18030"),
        signs=_row_chars("gbk", tuple(range(0xA4, 0xAA)), range(0xA1, 0xFF)) + "\ufffd" + _PUA_SAMPLE)


def _gbk_as_big5() -> Confusion:
    """Signs: Big5 symbols, Greek and bopomofo (rows A1-A3, trail >= A1, where GBK's punctuation
    lands) and lost-byte marks."""
    return Confusion(
        right=("gbk",), wrong=("big5", "cp950"), encoders=("cp950", "big5"),
        signs=_row_chars("big5", (0xA1, 0xA2, 0xA3), range(0xA1, 0xFF)) + "\ufffd")


WHOLE_DOC_SHARE = 0.9  # of the non-ASCII text repaired: the whole document was misread
MIN_HAN = 3  # outside a damaged document a repair must yield this many Han characters
CLAUSE = 6  # non-ASCII characters that make a damaged stretch a clause


# GB18030 shows Big5's codes in GBK's user-defined areas as private-use characters (U+E000-E765).
_PUA_SAMPLE = "".join(chr(c) for c in range(0xE000, 0xE766))


class _LazyConfusion:
    """Builds the confusion (and its marker set, which needs the codec tables) on first use."""

    def __init__(self, factory):
        self._factory = factory

    def __get__(self, obj, owner) -> Confusion:
        value = self._factory()
        setattr(owner, "confusion", value)
        return value


@register
class Big5ReadAsGbk(_ConfusionRule):
    """Big5 (or cp950) bytes decoded as GBK, GB18030 or code page 936.

    Big5's commonest characters land on GBK's kana, Greek, Cyrillic and bopomofo rows, and on its
    user-defined areas (U+FFFD, ``?`` or private-use characters, or nothing at all for a Windows
    decoder), so the damage reads like ``いゅ man も�U�董p购`` for ``中文 man 手冊頁計劃``.
    The characters go back to their GBK bytes and are decoded as Big5; lost lead bytes are
    searched (their trail byte is still there as an ASCII letter after the U+FFFD) and the
    language model chooses. Only clauses that come out clearly better are repaired.
    """

    code = "M106"
    name = "big5-read-as-gbk"
    summary = "Big5 text decoded as GBK"
    example = ("いゅ man も�U", "中文 man 手冊")
    confusion = _LazyConfusion(_big5_as_gbk)


@register
class GbkReadAsBig5(_ConfusionRule):
    """GBK (or GB2312) bytes decoded as Big5 or cp950.

    GBK's punctuation lands on Big5's symbol and bopomofo rows (，。“” become ㄛ﹝※§) and its
    characters on unrelated traditional ones, so ``哀公问：“弟子孰为好学？”`` reads
    ``飢鼠恀ㄩ※萊赽抔峈疑悝ˋ§``. The characters go back to their Big5 bytes and are decoded as
    GBK; bytes Big5 has no place for (lost as U+FFFD or ``?``) are searched and the language model
    chooses. Only clauses that come out clearly better are repaired.
    """

    code = "M107"
    name = "gbk-read-as-big5"
    summary = "GBK text decoded as Big5"
    example = ("飢鼠恀ㄩ※萊赽抔峈疑悝ˋ§", "哀公问：“弟子孰为好学？”")
    confusion = _LazyConfusion(_gbk_as_big5)


Big5ReadAsGbk.rival = GbkReadAsBig5()
GbkReadAsBig5.rival = Big5ReadAsGbk()
