"""The repair pipeline: rules run family by family (decode -> mojibake -> annotation -> boilerplate
-> script -> punctuation) and the whole sequence repeats until nothing changes, at most
MAX_PASSES times. Each applied repair and each finding is a :class:`Change` whose span is mapped
back to the input text.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import replace
from functools import lru_cache

from repair.config import Config
from repair.records import Change, Result
from repair.registry import Context, Rule, all_rules

MAX_PASSES = 4
# Families that leave a span flagged by a mojibake rule alone: converting or editing characters
# inside undecoded bytes destroys the byte arithmetic a later pass or a person needs. Boilerplate
# may still drop the whole line.
CLAIMS_BIND = "MASP"


class RuleFailure(RuntimeError):
    """A rule raised; the message names the rule so the bug can be reported."""


class _SpanMap:
    """Maps spans in the current text back to the input text through every applied edit."""

    def __init__(self) -> None:
        # Each step: sorted (new_start, new_end, old_start, old_end) of the edits it applied, and
        # their new_starts for bisection.
        self._steps: list[tuple[list[tuple[int, int, int, int]], list[int]]] = []

    def add_step(self, edits: list[tuple[int, int, int, int]]) -> None:
        if edits:
            self._steps.append((edits, [edit[0] for edit in edits]))

    def to_input(self, start: int, end: int) -> tuple[int, int]:
        for edits, starts in reversed(self._steps):
            start, end = _map_back(edits, starts, start, is_end=False), _map_back(edits, starts, end, is_end=True)
        return start, end


def _map_back(edits: list[tuple[int, int, int, int]], starts: list[int], pos: int, is_end: bool) -> int:
    # Edits do not overlap: only the last one starting before `pos` can hold it, and the walk
    # from there on stops at the first edit past it (logarithmic, not linear, in the edits).
    first = max(bisect_left(starts, pos) - 1, 0)
    shift = edits[first - 1][3] - edits[first - 1][1] if first else 0
    for i in range(first, len(edits)):
        new_start, new_end, old_start, old_end = edits[i]
        # At a deletion point a span's end stays before the deleted text and its start goes after it.
        deletion = new_end == new_start
        if pos < new_start or (pos == new_start and (is_end if deletion else not is_end)):
            break
        if pos < new_end or (pos == new_end and is_end):
            return old_end if is_end else old_start
        shift = old_end - new_end
    return pos + shift


def _inside_claim(change: Change, claimed: list[tuple[int, int]]) -> bool:
    return any(change.start < end and start < change.end for start, end in claimed)


def _map_forward(edits: list[tuple[int, int, int, int]], start: int, end: int) -> tuple[int, int]:
    """Where an untouched span of the text before `edits` lies in the text after them."""
    shift_start = shift_end = 0
    for new_start, new_end, old_start, old_end in edits:
        delta = (new_end - new_start) - (old_end - old_start)
        if old_end <= start:
            shift_start += delta
        if old_end <= end:
            shift_end += delta
    return start + shift_start, end + shift_end


@lru_cache(maxsize=64)
def selected_rules(config: Config) -> tuple[Rule, ...]:
    """The text rules `config` turns on, in running order (cached: rule files load once)."""
    rules = all_rules(config)
    config.check_against(rules)
    return tuple(r for r in rules.values() if r.text_rule and config.is_selected(r))


def _run_rule(rule: Rule, text: str, ctx: Context) -> list[Change]:
    try:
        return list(rule.find(text, ctx))
    except Exception as exc:  # a rule bug must name the rule, not look like bad input
        raise RuleFailure(f"rule {rule.code} ({rule.name}) failed: {type(exc).__name__}: {exc}") from exc


def _apply(text: str, proposals: list[Change]) -> tuple[str, list[Change], list[tuple[int, int, int, int]]]:
    """Apply non-overlapping repairs in order; return the new text, the applied ones and the edits."""
    pieces: list[str] = []
    applied: list[Change] = []
    edits: list[tuple[int, int, int, int]] = []
    cursor = 0
    delta = 0
    for change in sorted(proposals, key=lambda c: (c.start, c.end)):
        if change.start < cursor or change.after == change.before:
            continue
        pieces.append(text[cursor : change.start])
        pieces.append(change.after)
        new_start = change.start + delta
        edits.append((new_start, new_start + len(change.after), change.start, change.end))
        delta += len(change.after) - (change.end - change.start)
        cursor = change.end
        applied.append(change)
    pieces.append(text[cursor:])
    return "".join(pieces), applied, edits


def _run(text: str, config: Config, path: str | None, info: dict | None, apply: bool) -> Result:
    config = config or Config()
    rules = selected_rules(config)
    crlf = "\r\n" in text and text.count("\n") == text.count("\r\n")
    original = text
    if crlf:  # rules see "\n"; spans and output go back to the file's own line endings
        text = text.replace("\r\n", "\n")
    ctx = Context(config, path, dict(info or {}))
    spans = _SpanMap()
    applied: list[Change] = []
    findings: list[Change] = []
    for _ in range(MAX_PASSES):
        findings = []
        changed = False
        # Spans a mojibake rule flagged as damaged but could not repair: later repair rules leave
        # them alone, since editing inside undecoded bytes only compounds the damage.
        claimed: list[tuple[int, int]] = []
        for rule in rules:
            proposals = _run_rule(rule, text, ctx)
            if not proposals:  # the common case on clean text: nothing more to do for this rule
                continue
            if rule.family in CLAIMS_BIND and claimed:
                proposals = [c for c in proposals if not _inside_claim(c, claimed)]
            safe = [
                c for c in proposals
                if c.after is not None and rule.fixable and (config.unsafe_fixes or c.confidence >= config.min_confidence)
            ]
            safe_ids = {id(c) for c in safe}
            unapplied = [c for c in proposals if id(c) not in safe_ids]
            findings.extend(_to_input(c, spans, False) for c in unapplied)
            if rule.family == "M":
                claimed.extend((c.start, c.end) for c in unapplied if c.after is None)
            if not safe:
                continue
            text, done, edits = _apply(text, safe)
            applied.extend(_to_input(c, spans, True) for c in done)
            spans.add_step(edits)
            claimed = [_map_forward(edits, start, end) for start, end in claimed]
            changed = changed or bool(done)
        if not changed:
            break
    records = sorted(applied + findings, key=lambda c: (c.start, c.end, c.code))
    if crlf:
        lf_newlines = [i for i, ch in enumerate(original.replace("\r\n", "\n")) if ch == "\n"]
        records = [_to_crlf(c, lf_newlines) for c in records]
        text = text.replace("\n", "\r\n")
    return Result(text if apply else original, records, ctx.info)


def _to_input(change: Change, spans: _SpanMap, applied: bool) -> Change:
    start, end = spans.to_input(change.start, change.end)
    return replace(change, start=start, end=end, applied=applied)


def _to_crlf(change: Change, lf_newlines: list[int]) -> Change:
    # Each LF before a position in the LF text stands for one more character (its CR) in the file.
    return replace(
        change,
        start=change.start + bisect_left(lf_newlines, change.start),
        end=change.end + bisect_left(lf_newlines, change.end),
    )


def fix_text(text: str, config: Config | None = None, *, path: str | None = None, info: dict | None = None) -> Result:
    """Repair `text`; the result carries the repaired text and every change and finding."""
    return _run(text, config or Config(), path, info, apply=True)


def scan_text(text: str, config: Config | None = None, *, path: str | None = None, info: dict | None = None) -> Result:
    """Report what :func:`fix_text` would change and flag, leaving the text as it is."""
    return _run(text, config or Config(), path, info, apply=False)


class LineIndex:
    """1-based line and column of character offsets in one text."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        idx = bisect_left(self._starts, offset + 1) - 1
        return idx + 1, offset - self._starts[idx] + 1
