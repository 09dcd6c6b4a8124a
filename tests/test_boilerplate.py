"""Boilerplate (B1xx): the seeds, the benchmark's boilerplate documents, the guards."""
import json

import pytest

from conftest import EVAL_DEV, SHARED, seed_text
from repair import fix_text, scan_text
from repair.config import parse_table

ONLY_B = parse_table({"select": ["B"]}, None)
BODY = "各位代表:\n" + "现在,我代表区人民政府向大会报告工作,请予审议,并请区政协委员和其他列席人员提出意见。\n" * 6
MOOD_HEADER = "TA的每日心情 | 开心 2019-3-23 07:35 |\n---|\n签到天数: 17 天 [LV.4]偶尔看看III\n版主\n  \n- 积分\n- 3485\n|\n"


def test_seed_003_loses_its_header_and_trailing_pipes_only():
    text = seed_text("003")
    lines = text.split("\n")
    assert lines[-2:] == ["|", "|"]
    result = fix_text(text, ONLY_B)
    assert result.text == "\n".join(lines[8:-2]) + "\n"
    assert {c.code for c in result.applied} == {"B101", "B104"}


def test_seed_004_loses_the_star_and_the_footer_only():
    text = seed_text("004")
    lines = text.split("\n")
    assert lines[0].startswith("★")
    result = fix_text(text, ONLY_B)
    expected = [lines[0][1:], *lines[1:-3]]
    assert result.text == "\n".join(expected) + "\n"
    assert {c.code for c in result.applied} == {"B102", "B105"}


def test_one_record_per_line():
    records = scan_text(seed_text("003"), ONLY_B).changes
    assert [c.before.count("\n") for c in records] == [1] * 9 + [0]  # 8 header lines, 2 trailing pipes


@pytest.mark.parametrize("prefix", ["000", "001", "002"])
def test_other_seeds_unchanged(prefix):
    result = scan_text(seed_text(prefix), ONLY_B)
    assert not result.changes


def _benchmark(category: str) -> list[tuple[str, str, str]]:
    manifest = SHARED / "eval" / "data" / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip("shared benchmark not available")
    docs = []
    for line in manifest.read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 occurs in text
        if not line.strip():
            continue
        entry = json.loads(line)
        if entry["split"] == "dev" and entry["category"] == category:
            root = SHARED / "eval"
            docs.append((entry["file"], (root / entry["file"]).read_text("utf-8"), (root / entry["gold"]).read_text("utf-8")))
    return docs


def test_benchmark_boilerplate_documents_come_out_as_gold():
    wrong = [name for name, text, gold in _benchmark("boilerplate") if fix_text(text, ONLY_B).text != gold]
    assert not wrong


def test_gold_and_clean_documents_are_left_alone():
    if not EVAL_DEV.exists():
        pytest.skip("shared benchmark not available")
    touched = []
    for path in sorted(EVAL_DEV.glob("*/*.txt")):
        is_gold = path.name.endswith(".gold.txt")
        if is_gold or path.parent.name.startswith("clean_"):
            if scan_text(path.read_text("utf-8"), ONLY_B).changes:
                touched.append(str(path))
    assert not touched


def test_weak_lines_need_a_strong_line_in_their_block():
    text = "楼主\n- 积分\n- 3485\n" + BODY
    assert fix_text(text, ONLY_B).text == text
    assert fix_text("TA的每日心情 | 开心 2019-3-23 07:35 |\n" + text, ONLY_B).text == BODY


def test_footer_patterns_do_not_act_at_the_start():
    text = "主办单位：市文化局\n承办单位：市图书馆\n" + BODY
    assert fix_text(text, ONLY_B).text == text


def test_post_boundary_inside_a_thread():
    thread = BODY + "\n王小明\n发表于 2019-3-24 08:00:01 | 只看该作者\n板凳\n" + BODY
    result = fix_text(thread, ONLY_B)
    assert result.text == BODY + "\n" + BODY
    assert "".join(c.before for c in result.applied) == "王小明\n发表于 2019-3-24 08:00:01 | 只看该作者\n板凳\n"


def test_edge_patterns_do_not_act_inside_the_content():
    text = BODY + "签到天数: 17 天 [LV.4]偶尔看看III\n版权所有：某某\n" + BODY
    assert fix_text(text, ONLY_B).text == text


def test_oversized_removal_is_flagged_not_cut():
    text = MOOD_HEADER + "短短的正文。\n"
    result = fix_text(text, ONLY_B)
    assert result.text == text
    assert [c.code for c in result.findings] == ["B106"]
    assert "not cut" in result.findings[0].message
    relaxed = parse_table({"select": ["B"], "options": {"B106": {"max-share": 0.95}}}, None)
    assert fix_text(text, relaxed).text == "短短的正文。\n"


def test_guard_holds_even_when_b106_is_ignored():
    text = MOOD_HEADER + "短短的正文。\n"
    config = parse_table({"select": ["B"], "ignore": ["B106"]}, None)
    result = fix_text(text, config)
    assert result.text == text and not result.changes


def test_ignoring_one_rule_keeps_its_lines():
    config = parse_table({"select": ["B"], "ignore": ["B104"]}, None)
    result = fix_text(MOOD_HEADER + BODY, config)
    assert result.text == "---|\n|\n" + BODY
    assert {c.code for c in result.applied} == {"B101"}


def test_fix_is_idempotent_and_keeps_crlf():
    text = (MOOD_HEADER + BODY + "责任编辑：武磊\n上一篇：食品安全实施方案\n").replace("\n", "\r\n")
    once = fix_text(text, ONLY_B).text
    assert once == BODY.replace("\n", "\r\n")
    assert fix_text(once, ONLY_B).text == once


def test_title_marker_goes_only_on_the_title():
    text = "★2025年政府工作报告\n" + BODY + "★ 重点工作\n" + BODY
    assert fix_text(text, ONLY_B).text == text[1:]


def test_benchmark_boilerplate_moved_onto_other_content_and_scripts():
    """Every header and footer of the dev documents, on the gold text of other documents and
    converted to other scripts and Taiwan wording: what a holdout from the same distribution does."""
    import opencc

    parts = {"header": set(), "footer": set()}
    for line in (SHARED / "eval" / "data" / "manifest.jsonl").read_text("utf-8").split("\n"):
        if line.strip() and (entry := json.loads(line))["category"] == "boilerplate":
            for span in entry["spans"]:
                parts[span["part"]].add(span["input_text"])
    headers, footers = sorted(parts["header"]), sorted(parts["footer"])
    contents = sorted(p.read_text("utf-8") for p in EVAL_DEV.glob("clean_zh_*/*.gold.txt"))
    converters = [None, *(opencc.OpenCC(c) for c in ("s2t", "s2twp", "t2s"))]
    wrong = []
    for i, content in enumerate(contents):
        header, footer = headers[i % len(headers)], footers[(i * 7) % len(footers)]
        convert = converters[i % len(converters)]
        if convert is not None:
            header, footer = convert.convert(header), convert.convert(footer)
        document = header + content + footer
        if len(header) + len(footer) <= 0.3 * len(document) and fix_text(document, ONLY_B).text != content:
            wrong.append((header[:30], footer[:30]))
    assert not wrong
