"""M106/M107: Big5 and GBK confusions, and the byte helpers they share."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import repair
from repair.config import parse_table
from repair.mojibake import big5
from repair.mojibake.bytes_util import LOST, QMARK, pair_table, template_of, wrong_decodings

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "data"
ONLY_MINE = parse_table({"select": ["M106", "M107"]}, None)
SEED_TRADITIONAL = "現在,我代表區政府向大會報告工作,請予審議,并請政協委員和其他列席會議的同志提出意見。"
SEED_SIMPLIFIED = "扎实开展双拥共建,做好退役军人服务保障工作,巩固发展军政军民团结。"


def fix(text: str) -> repair.Result:
    return repair.fix_text(text, ONLY_MINE)


def test_python_replaces_one_byte_per_mark_and_keeps_the_trail():
    # The arithmetic the rules rely on: 中文 in Big5 is A4 A4 A4 E5; "，" is A1 41, which GBK
    # does not map, so the lead becomes U+FFFD and the trail byte survives as "A".
    assert "中，".encode("big5").decode("gbk", errors="replace") == "い\ufffdA"
    assert template_of("い\ufffdA", ("gbk", "gb18030")) == [0xA4, 0xA4, LOST, 0x41]
    assert template_of("a?", ("gbk",)) == [0x61, QMARK]
    assert template_of("한", ("gbk",)) is None


def test_wrong_decodings_cover_the_error_modes():
    raw = "的".encode("big5")  # AA BA: GBK's user-defined area
    assert wrong_decodings(raw, ("gbk",)) == {"\ufffd\ufffd", "??", ""}
    assert 0xAABA not in pair_table("gbk") and pair_table("big5")[0xAABA] == "的"


@pytest.mark.parametrize("mode", ["replace", "repair-question-mark"])
def test_big5_read_as_gbk_is_repaired_with_lost_bytes(mode):
    damaged = SEED_TRADITIONAL.encode("cp950").decode("gbk", mode)
    assert damaged != SEED_TRADITIONAL
    result = fix(damaged)
    assert result.text == SEED_TRADITIONAL
    assert {c.code for c in result.applied} == {"M106"}


def test_big5_read_as_gb18030_is_lossless():
    damaged = SEED_TRADITIONAL.encode("big5").decode("gb18030")
    assert "\ue000" <= max(damaged)  # user-defined codes came out as private-use characters
    assert fix(damaged).text == SEED_TRADITIONAL


@pytest.mark.parametrize("codec", ["big5", "cp950"])
def test_gbk_read_as_big5_is_repaired(codec):
    damaged = SEED_SIMPLIFIED.encode("gbk").decode(codec, "replace")
    result = fix(damaged)
    assert result.text == SEED_SIMPLIFIED
    assert {c.code for c in result.applied} == {"M107"}


def test_only_the_damaged_clause_is_replaced():
    clean_left, clause, clean_right = "我们要严格依法行政。", "落实重大行政决策程序规定", ",严格规范公正文明执法。"
    damaged = clean_left + clause.encode("gbk").decode("big5", "replace") + clean_right
    result = fix(damaged)
    assert result.text == clean_left + clause + clean_right
    (change,) = result.applied
    assert change.start >= len(clean_left) and change.end <= len(damaged) - len(clean_right)


def test_rules_do_not_fight_each_other():
    # GBK read as Big5 also "re-decodes" as Big5 read as GBK; the line goes to the better one.
    damaged = "哀公问：“弟子孰为好学？”孔子对曰：“有颜回者好学。”".encode("gbk").decode("big5", "replace")
    result = fix(damaged)
    assert {c.code for c in result.applied} == {"M107"}
    assert result.text.startswith("哀公问")


def test_repair_is_idempotent():
    damaged = SEED_TRADITIONAL.encode("cp950").decode("gbk", "replace")
    once = fix(damaged).text
    assert fix(once).text == once and not fix(once).applied


def test_uncertain_lost_byte_stays_marked_and_the_guess_is_reported(monkeypatch):
    options = dict(big5.Big5ReadAsGbk.options, fill_margin=1e9)
    monkeypatch.setattr(big5.Big5ReadAsGbk, "options", options)
    damaged = SEED_TRADITIONAL.encode("cp950").decode("gbk", "replace")
    result = fix(damaged)
    assert "\ufffd" in result.text  # nothing guessed into the text
    noted = [c for c in result.applied if "\ufffd" in c.after]
    assert noted and all("best guesses" in c.message for c in noted)


@pytest.mark.parametrize("text", [
    SEED_TRADITIONAL,
    SEED_SIMPLIFIED,
    "日本語の文章はこのように書かれている。ファイルを保存しました。",
    "ㄅㄆㄇㄈ 注音符號教學，※ 注意事項 § 第三條",
    "Ça être une expression régulière à l'aide de sed.",
    "有略其耜，俶載南畝，播厥百穀，實函斯活。",
])
def test_clean_text_is_left_alone(text):
    assert not fix(text).changes


def test_prefilter_skips_clean_text_without_work():
    calls = []
    original = big5.regions

    def counting(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    big5._cached_regions.cache_clear()
    try:
        big5.regions = counting
        fix("各位代表:\n" + SEED_SIMPLIFIED * 3 + "\n" + SEED_TRADITIONAL)
    finally:
        big5.regions = original
    assert calls == []


def _dev_docs(category):
    manifest = EVAL / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip("benchmark data not present")
    for line in manifest.read_text(encoding="utf-8").split("\n"):
        if line:
            doc = json.loads(line)
            if doc["split"] == "dev" and doc["category"] == category:
                yield doc


@pytest.mark.slow
@pytest.mark.parametrize("category", ["big5_as_gbk", "gbk_as_big5"])
def test_dev_lossless_documents_come_out_exact(category):
    docs = [d for d in _dev_docs(category) if d["lossless"]]
    assert docs
    for doc in docs:
        damaged = (EVAL.parent / doc["file"]).read_text(encoding="utf-8")
        gold = (EVAL.parent / doc["gold"]).read_text(encoding="utf-8")
        assert fix(damaged).text == gold, doc["file"]


# The gate: a cheap look at the whole text before any language-model work.
M106, M107 = big5.Big5ReadAsGbk.confusion, big5.GbkReadAsBig5.confusion


def test_markers_come_from_the_code_tables():
    # 中 in Big5 (A4 A4) reads as い in GBK; "，" in GBK (A3 AC) reads as ㄛ in Big5.
    assert "い" in big5.gate_markers(M106) and "ㄛ" in big5.gate_markers(M107)
    for common in "的中国國，。“”、a1 ":
        assert common not in big5.gate_markers(M106) + big5.gate_markers(M107)


def test_the_shipped_markers_are_the_derived_ones():
    """repair/data/gate_markers.json is scripts/build_startup_tables.py's output for the current
    model and code tables: rebuild it when either changes."""
    for confusion in (M106, M107):
        assert big5.gate_markers(confusion) == big5.derive_gate_markers(confusion), confusion.key


@pytest.mark.parametrize("text, clustered", [
    ("いゅ man", True),  # 中文 read as GBK: two different markers side by side
    ("中文 い 說明", False),  # one marker alone
    ("兜住、兜", False),  # the same character twice is no cluster
    ("資料庫\ufffd\ufffd連線", False),  # U+FFFD alone is no sign (M102 leaves it for lost bytes)
    ("\ufffdAい", True),  # a lost lead byte next to a marker
    ("★ 重載 ★", False),
])
def test_gate_needs_a_cluster_of_different_markers(text, clustered):
    assert big5.passes_gate(M106, text) is clustered


def test_gate_skips_clean_documents_of_every_kind():
    for category in ("clean_zh_hans", "clean_zh_hant", "clean_ja", "clean_ko", "clean_code"):
        folder = EVAL / "dev" / category
        if not folder.exists():
            pytest.skip("benchmark data not present")
        texts = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt")) if not p.name.endswith(".gold.txt")]
        passing = [t for t in texts if big5.passes_gate(M106, t) and not big5._is_japanese(t)]
        assert len(passing) <= len(texts) // 4, category


def test_long_line_is_read_only_in_bounded_windows():
    clean = SEED_TRADITIONAL * 200  # one line of ~9,000 characters
    damaged_clause = SEED_SIMPLIFIED.encode("gbk").decode("big5", "replace")
    line = clean + damaged_clause + clean
    spans = list(big5.clusters(M107, line))
    pieces = list(big5.segments(line, spans))
    assert pieces and all(end - start <= big5.MAX_SEGMENT for start, end in pieces)
    assert sum(end - start for start, end in pieces) < len(damaged_clause) + 4 * big5.WINDOW
    assert fix(line).text == clean + SEED_SIMPLIFIED + clean


def test_segments_never_exceed_the_bound_on_dense_damage():
    damaged = (SEED_SIMPLIFIED * 300).encode("gbk").decode("big5", "replace")
    pieces = list(big5.segments(damaged, big5.clusters(M107, damaged)))
    assert all(end - start <= big5.MAX_SEGMENT for start, end in pieces)
    covered = [start for start, _ in pieces] + [len(damaged)]
    assert all(a < b for a, b in zip(covered, covered[1:]))  # in order, no overlap


def test_rival_is_asked_only_where_its_gate_passes(monkeypatch):
    asked = []
    original = big5._ConfusionRule._regions

    def spy(self, text, start, end, opts, **kwargs):
        asked.append(self.code)
        return original(self, text, start, end, opts, **kwargs)

    monkeypatch.setattr(big5._ConfusionRule, "_regions", spy)
    big5._cached_regions.cache_clear()
    damaged = SEED_TRADITIONAL.encode("big5").decode("gb18030")
    assert not big5.passes_gate(M107, damaged)
    assert fix(damaged).text == SEED_TRADITIONAL
    assert "M107" not in asked


def test_a_known_word_of_rare_characters_is_no_sign():
    assert big5._is_word("憔悴") and big5._is_word("秸秆")
    assert not big5._is_word("欷鸭") and not big5._is_word("いゅ")
    assert not big5.passes_gate(M106, "桐乡君子，念予憔悴如许！")


def test_cluster_must_redecode_into_common_characters():
    damaged = "中文說明".encode("big5").decode("gbk", "replace")
    assert big5._redecodes(M106, damaged)
    assert not big5._redecodes(M106, "堇荼")  # two rare characters whose bytes mean nothing in Big5


def test_a_stretch_full_of_the_rivals_clusters_is_left_to_the_rival():
    gbk_as_big5 = (SEED_SIMPLIFIED * 3).encode("gbk").decode("big5", "replace")
    big5_as_gbk = (SEED_TRADITIONAL * 3).encode("big5").decode("gbk", "replace")
    m106, m107 = big5.Big5ReadAsGbk(), big5.GbkReadAsBig5()
    assert m106._rival_marks_more(gbk_as_big5) and not m107._rival_marks_more(gbk_as_big5)
    assert not m106._rival_marks_more(big5_as_gbk)


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "big5", "cp950"])
def test_pair_tables_read_each_row_in_one_call_as_pair_by_pair_decoding_would(codec):
    one_by_one = {}
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                ch = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                one_by_one[lead << 8 | trail] = ch
    assert pair_table.__wrapped__(codec) == one_by_one
