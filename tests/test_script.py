"""S101 script-conversion and S102 mixed-script, under either OpenCC backend (CI runs this file in
a venv with the official binding and in one with opencc-python-reimplemented only)."""
import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import seed_text
from repair import fix_text, scan_text
from repair.config import parse_table
from repair.script import MixedScript, ScriptConversion, changed_runs, classify, document_script, opencc_backend

# Written out here rather than imported, so a wrong mapping in the module fails.
OPENCC_NAMES = {"simplified": "t2s", "traditional": "s2t", "tw": "s2tw", "hk": "s2hk", "twp": "s2twp"}
MIXED = "这个項目已经開始运行,區政府和发展改革委員會的報告说明了进展。" * 2


def config(**table):
    return parse_table(table, None)


def test_backend_is_detected_and_reported():
    expected = "official" if hasattr(opencc, "clib") else "reimplemented"
    assert opencc_backend() == expected
    assert fix_text("区政府", config(script="traditional")).info["opencc"] == expected
    assert "opencc" not in fix_text("区政府").info


@pytest.mark.parametrize("script", sorted(OPENCC_NAMES))
@pytest.mark.parametrize("prefix", ["000", "003"])
def test_conversion_equals_opencc(script, prefix):
    text = seed_text(prefix)
    expected = opencc.OpenCC(OPENCC_NAMES[script]).convert(text)
    result = fix_text(text, config(script=script, select=["S"]))
    assert result.text == expected
    for change in result.applied:  # every record names the text it replaced
        assert text[change.start:change.end] == change.before


def test_japanese_is_not_converted():
    text = "これは日本語の文章です。東京都の区役所で手続きをします。会議は午後に始まります。"
    assert fix_text(text, config(script="simplified", select=["S"])).text == text


def test_examples_round_trip():
    damaged, repaired = ScriptConversion.example
    assert fix_text(damaged, config(script="traditional", select=["S"])).text == repaired
    damaged, repaired = MixedScript.example
    assert damaged == repaired and fix_text(damaged, config(select=["S102"])).text == damaged


def test_keep_changes_nothing():
    text = seed_text("003")
    result = fix_text(text, config(select=["S"]))
    assert result.text == text and not result.changes


def test_one_record_per_converted_run():
    result = fix_text("区政府经济报告", config(script="traditional"))
    assert [(c.before, c.after) for c in result.applied] == [("区", "區"), ("经济报", "經濟報")]


def test_length_changing_conversion_keeps_spans_right():
    text = "把文件复制到U盘,再用鼠标打开软件。\n第二行没有变化。\n第三行的内存不够。"
    expected = opencc.OpenCC("s2twp").convert(text)
    assert len(expected) != len(text)
    result = fix_text(text, config(script="twp", select=["S"]))
    assert result.text == expected
    rebuilt, cursor = [], 0
    for change in sorted(result.applied, key=lambda c: c.start):
        rebuilt.append(text[cursor:change.start] + change.after)
        cursor = change.end
    assert "".join(rebuilt) + text[cursor:] == expected


@given(st.text(alphabet="区區报報告a\n ", max_size=40), st.text(alphabet="区區报報告a\n ", max_size=40))
def test_changed_runs_rebuild_the_target(before, after):
    rebuilt, cursor = [], 0
    for start, end, replacement in changed_runs(before, after):
        assert cursor <= start <= end
        rebuilt.append(before[cursor:start] + replacement)
        cursor = end
    assert "".join(rebuilt) + before[cursor:] == after


@pytest.mark.parametrize(
    ("prefix", "script"),
    [("000", "simplified"), ("001", "simplified"), ("002", "simplified"), ("003", "traditional"), ("004", "traditional")],
)
def test_seed_scripts_are_reported(prefix, script):
    assert fix_text(seed_text(prefix)).info["script"] == script


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Plain English, no Han at all.", "none"),
        ("これは日本語の文章です。東京都の区役所で手続きをします。会議は午後に始まります。", "japanese"),
        (MIXED, "mixed"),
        ("乾隆年间的故事发生在臺灣," + "这是一个普通的简体中文段落,讲述发展和进步。" * 5, "simplified"),
    ],
)
def test_document_script(text, script):
    assert fix_text(text).info["script"] == script


def test_classify_thresholds():
    assert classify(0, 0, 0.1, 10) == "none"
    assert classify(300, 9, 0.1, 10) == "traditional"
    assert classify(50, 10, 0.1, 10) == "mixed"
    assert classify(10, 200, 0.1, 10) == "simplified"


def test_long_documents_are_classified_from_a_sample():
    text = seed_text("000") * 40 + seed_text("003") * 40
    assert len(text) > 100_000
    assert document_script(text, 0.1, 10) == "mixed"
    assert document_script(text, 0.1, 10, sample=None) == "mixed"
    assert document_script(seed_text("000") * 60, 0.1, 10) == "simplified"


def test_mixed_script_is_off_by_default_and_flags_when_selected():
    assert not scan_text(MIXED).changes
    findings = scan_text(MIXED, config(select=["S102"])).findings
    assert findings and {c.code for c in findings} == {"S102"}
    assert all(c.after is None for c in findings)
    assert "".join(c.before for c in findings) == "項開區員會報" * 2


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_mixed_script_is_quiet_on_clean_seeds(prefix):
    assert not scan_text(seed_text(prefix), config(select=["S102"])).changes


def test_the_shipped_script_characters_are_opencc_s():
    """repair/data/script_chars.txt is scripts/build_startup_tables.py's output for the official
    OpenCC's tables; the pure-Python OpenCC's tables differ in a few characters (19 of ~6,500
    measured with opencc-python-reimplemented 0.1.7)."""
    from repair.script import derive_script_chars, script_chars

    shipped, derived = script_chars(), derive_script_chars()
    differing = sum(len(a ^ b) for a, b in zip(shipped, derived))
    if opencc_backend() == "official":
        assert differing == 0, "rebuild: scripts/build_startup_tables.py"
    else:
        assert differing <= 0.01 * sum(map(len, shipped))
    assert "國" in shipped[0] and "国" in shipped[1] and "中" not in shipped[0] | shipped[1]
