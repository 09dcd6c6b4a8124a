"""Data-driven cases, as ftfy's tests/test-cases: every `tests/cases/*.jsonl` line is one case.

Fields: `input`, `expected`, `rule` (the code that must act, or that must NOT act when
expected == input), optional `config` (a [tool.repair] table) and `note`.
A negative case (expected == input) must come out unchanged with no applied change.
"""
import json
from pathlib import Path

import pytest

from repair import fix_text
from repair.config import parse_table

CASES = [
    pytest.param(case, id=f"{path.stem}:{lineno}:{case.get('rule', '')}")
    for path in sorted((Path(__file__).parent / "cases").glob("*.jsonl"))
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1)
    if line.strip() and (case := json.loads(line))
]


def test_there_are_cases():
    assert len(CASES) >= 1


@pytest.mark.parametrize("case", CASES)
def test_case(case):
    config = parse_table(case.get("config", {}), None)
    result = fix_text(case["input"], config)
    assert result.text == case["expected"], case.get("note", "")
    codes = {c.code for c in result.applied}
    if case["expected"] == case["input"]:
        assert not result.applied, f"clean text was changed by {codes}"
    elif case.get("rule"):
        assert case["rule"] in codes, f"expected {case['rule']} to act, saw {codes}"
