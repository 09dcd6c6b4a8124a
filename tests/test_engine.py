"""The engine: family order, fixed point, safety threshold, spans mapped back to the input."""
import re

import pytest

from repair import engine
from repair.config import Config
from repair.registry import Rule


class Replace(Rule):
    """Test rule: replace every match of a pattern."""

    def __init__(self, code, pattern, after, confidence=1.0, flag_only=False):
        self.code, self.name, self.summary = code, f"test-{code}", "test"
        self.pattern, self.after, self.confidence, self.flag_only = re.compile(pattern), after, confidence, flag_only

    def find(self, text, ctx):
        for m in self.pattern.finditer(text):
            if self.flag_only:
                yield self.flag(text, m.start(), m.end(), self.confidence, "flagged")
            else:
                yield self.fix(text, m.start(), m.end(), self.after, self.confidence)


@pytest.fixture
def with_rules(monkeypatch):
    def install(*rules):
        monkeypatch.setattr(engine, "selected_rules", lambda config: rules)
    return install


def test_spans_refer_to_the_input_after_earlier_edits(with_rules):
    with_rules(Replace("M901", "ab", "X"), Replace("B901", "cd", ""))
    text = "ab--cd--ab--cd"
    result = engine.fix_text(text)
    assert result.text == "X----X--"
    spans = [(c.code, c.start, c.end, text[c.start:c.end]) for c in result.changes]
    assert spans == [("M901", 0, 2, "ab"), ("B901", 4, 6, "cd"), ("M901", 8, 10, "ab"), ("B901", 12, 14, "cd")]


def test_a_later_family_can_enable_an_earlier_rule_and_the_loop_reaches_a_fixed_point(with_rules):
    # B removes the marker; then M can see "ab" whole, on the second pass.
    with_rules(Replace("M901", "ab", "X"), Replace("B901", "#", ""))
    result = engine.fix_text("a#b")
    assert result.text == "X"
    # Records come in input order; the second-pass repair covers the whole input span.
    assert [(c.code, c.start, c.end) for c in result.changes] == [("M901", 0, 3), ("B901", 1, 2)]


def test_low_confidence_repairs_are_findings_unless_unsafe_fixes(with_rules):
    with_rules(Replace("M901", "ab", "X", confidence=0.5))
    held = engine.fix_text("ab ab")
    assert held.text == "ab ab"
    assert [c.applied for c in held.changes] == [False, False]
    applied = engine.fix_text("ab ab", Config(unsafe_fixes=True))
    assert applied.text == "X X"


def test_flags_are_reported_once_against_the_final_text(with_rules):
    with_rules(Replace("M901", "ab", "X"), Replace("P901", "zz", None, flag_only=True))
    result = engine.fix_text("ab zz")
    assert result.text == "X zz"
    flags = [c for c in result.changes if c.after is None]
    assert [(c.code, c.start, c.end) for c in flags] == [("P901", 3, 5)]


def test_scan_leaves_the_text_and_reports_what_fix_would_do(with_rules):
    with_rules(Replace("M901", "ab", "X"))
    result = engine.scan_text("ab")
    assert result.text == "ab"
    assert [(c.before, c.after, c.applied) for c in result.changes] == [("ab", "X", True)]


def test_crlf_files_keep_their_line_endings_and_spans(with_rules):
    with_rules(Replace("B901", "(?m)^drop\n", ""))
    text = "keep\r\ndrop\r\nkeep\r\n"
    result = engine.fix_text(text)
    assert result.text == "keep\r\nkeep\r\n"
    (change,) = result.changes
    assert text[change.start:change.end] == "drop\r\n"


def test_overlapping_proposals_apply_the_first(with_rules):
    with_rules(Replace("M901", "abc", "X"), Replace("M902", "bcd", "Y"))
    assert engine.fix_text("abcd").text == "Xd"


def test_a_failing_rule_is_named(with_rules):
    class Broken(Rule):
        code, name = "M999", "broken"

        def find(self, text, ctx):
            raise KeyError("boom")

    with_rules(Broken())
    with pytest.raises(engine.RuleFailure, match="M999"):
        engine.fix_text("x")


def test_selection_and_ignore():
    from repair.registry import builtin_rules

    rules = builtin_rules()
    codes = {r.code for r in engine.selected_rules(Config(select=("M",), ignore=("M103",)))}
    assert codes and all(c.startswith("M") for c in codes) and "M103" not in codes
    off_by_default = [r for r in rules.values() if not r.default and r.text_rule]
    if off_by_default:
        code = off_by_default[0].code
        assert code not in {r.code for r in engine.selected_rules(Config())}
        assert code in {r.code for r in engine.selected_rules(Config(extend_select=(code,)))}


def test_a_span_a_mojibake_rule_flagged_is_left_alone_by_later_rules(with_rules):
    with_rules(Replace("M901", "ab", None, flag_only=True), Replace("A901", "b", "B"), Replace("A902", "z", "Z"),
               Replace("S901", "a", "α"), Replace("B901", "(?m)^drop.*\n", ""))
    result = engine.fix_text("ab z b\ndrop ab\n")
    assert result.text == "ab Z B\n"
    assert [(c.code, c.start) for c in result.changes] == [("M901", 0), ("A902", 3), ("A901", 5), ("B901", 7)]


def test_records_next_to_a_deletion_keep_their_own_span(with_rules):
    with_rules(Replace("B901", "(?m)^head\n", ""), Replace("B902", "(?m)^---\n", ""))
    text = "head\n---\nbody\n"
    result = engine.fix_text(text)
    assert result.text == "body\n"
    assert [text[c.start:c.end] for c in result.changes] == ["head\n", "---\n"]


def test_span_mapping_bisects_to_the_same_answer_as_walking_every_edit():
    """Records are mapped back through each pass's edits with a bisection (a 1 MB block has
    thousands of edits); it must agree with the plain walk, deletions and ties included."""
    import random

    from repair.engine import _map_back

    def walk(edits, pos, is_end):
        shift = 0
        for new_start, new_end, old_start, old_end in edits:
            if pos < new_start or (pos == new_start and (is_end if new_end == new_start else not is_end)):
                break
            if pos < new_end or (pos == new_end and is_end):
                return old_end if is_end else old_start
            shift = old_end - new_end
        return pos + shift

    rng = random.Random(7)
    for _ in range(500):
        edits, new, old = [], 0, 0
        for _ in range(rng.randint(0, 10)):
            gap, removed, added = rng.randint(0, 2), rng.randint(0, 3), rng.randint(0, 3)
            new, old = new + gap, old + gap
            removed = removed or (0 if added else 1)
            edits.append((new, new + added, old, old + removed))
            new, old = new + added, old + removed
        starts = [edit[0] for edit in edits]
        for pos in range(new + 2):
            for is_end in (False, True):
                assert _map_back(edits, starts, pos, is_end) == walk(edits, pos, is_end)
