"""Corpus-level boilerplate (B201): line evidence across files, and the rule that uses it."""
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from conftest import seed_text
from repair import fix_text
from repair.config import Config, parse_table
from repair.corpus import collect, current_evidence, line_hash, normal_lines, normalise_line, set_evidence

FOOTER = "本网站所有内容版权归盘锦市人民政府所有，未经许可不得转载。"
SELECT = parse_table({"select": ["B201"], "options": {"B201": {"min-files": 3}}}, None)


CONTENT = [line for prefix in ("000", "001", "002") for line in seed_text(prefix).split("\n") if len(line) > 40]


def document(n: int) -> str:
    """Distinct content (three seed lines), then the corpus's shared footer and a counter."""
    return "\n".join(CONTENT[3 * n : 3 * n + 3]) + f"\n{FOOTER}\n访问量：{n * 137}\n"


@pytest.fixture
def evidence():
    found = collect(document(n) for n in range(5))
    set_evidence(found)
    yield found
    set_evidence(None)


def test_normalisation_follows_ccnet():
    assert normalise_line("Copyright © 2024 新华网，版权所有！ 第12期") == "copyright0000新华网版权所有第00期"
    assert normalise_line("---|") == ""
    assert normalise_line("访问量：685") == normalise_line("访问量: 137")


def test_line_hash_is_stable_between_processes():
    assert line_hash("abc") == 15617099051652453721
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert pool.submit(line_hash, "版权所有").result() == line_hash("版权所有")


def test_evidence_counts_files_not_occurrences():
    found = collect([FOOTER + "\n" + FOOTER, FOOTER, "别的内容"])
    assert found.files == 3
    assert found.files_with(FOOTER) == 2
    assert found.files_with("别的内容") == 1
    assert found.files_with("---|") == 0


def test_evidence_merges_between_workers():
    docs = [document(n) for n in range(6)]
    whole = collect(docs)
    merged = collect(docs[:2]).merge(collect(docs[2:]))
    assert merged.counts == whole.counts and merged.files == whole.files == 6
    assert pickle.loads(pickle.dumps(merged)).counts == whole.counts


def test_most_repeated_lists_the_top_lines_with_samples():
    top = collect(document(n) for n in range(5)).most_repeated(10)
    assert top[0][1] == 5
    assert {line for line, _ in top} == {FOOTER, "访问量：137"}  # 访问量：0 has one digit, a normal form of its own
    assert all(files >= 2 for _, files in top)


def test_trimmed_keeps_only_frequent_lines():
    found = collect([document(1), document(2), "独有的一行"])
    kept = found.trimmed(2)
    assert kept.files_with(FOOTER) == 2 and kept.files_with("独有的一行") == 0
    assert kept.files == 3


def test_repeated_line_is_off_by_default(evidence):
    assert "B201" not in {c.code for c in fix_text(document(7), Config()).changes}


def test_repeated_line_removes_lines_found_in_min_files(evidence):
    result = fix_text(document(7), SELECT)
    # the footer goes; the counter, repeated too, is shorter than min-chars (访问量000) and stays
    assert result.text == "\n".join(CONTENT[21:24]) + "\n访问量：959\n"
    assert {c.code for c in result.applied} == {"B201"}
    assert "found in 5 files" in result.applied[0].message


def test_min_files_threshold(evidence):
    strict = parse_table({"select": ["B201"], "options": {"B201": {"min-files": 6}}}, None)
    assert "B201" not in {c.code for c in fix_text(document(7), strict).changes}


def test_no_evidence_no_action():
    assert current_evidence() is None
    assert "B201" not in {c.code for c in fix_text(document(7), SELECT).changes}


def test_oversized_repeated_removal_is_flagged(evidence):
    text = f"{FOOTER}\n短文。\n"
    result = fix_text(text, SELECT)
    assert result.text == text
    assert [c.code for c in result.findings] == ["B201"]


def test_rule_example_with_evidence():
    from repair.corpus import RepeatedLine

    damaged, repaired = RepeatedLine.example
    footer = damaged.split("\n")[-1]
    set_evidence(collect([f"第{n}篇\n{footer}" for n in range(10)]))
    try:
        assert fix_text(damaged, parse_table({"select": ["B201"]}, None)).text == repaired
    finally:
        set_evidence(None)


def test_normal_lines_matches_normalise_line():
    text = "第1行：Hello, World!\n\n---|\nİstanbul 2024_年\n"
    assert normal_lines(text) == [normalise_line(line) for line in text.split("\n")]


def test_short_repeated_lines_stay(evidence):
    text = document(7).replace(FOOTER, "注意")
    set_evidence(collect(document(n).replace(FOOTER, "注意") for n in range(5)))
    assert "注意" in fix_text(text, SELECT).text
    loose = parse_table({"select": ["B201"], "options": {"B201": {"min-files": 3, "min-chars": 1}}}, None)
    assert "注意" not in fix_text(text, loose).text
