"""M101 gbk-misalignment: byte arithmetic, candidate search and the repair/flag decision."""
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repair import fix_text, scan_text
from repair.config import parse_table
from repair.mojibake.shift import DocStats, _resyncs, _units_before, find_runs

ONLY_M101 = parse_table({"select": ["M101"]}, None)


def misalign(text: str, damaged: str, lead: str = "qmark", norm: str = "nfkc") -> str:
    """Corrupt the first occurrence of `damaged` in `text` as the benchmark does: GBK read one
    byte late from there to the end of the line, U+FFFD shown as `?`, then NFKC."""
    start = text.index(damaged)
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    raw = text[start:line_end].encode("gbk")
    read = raw[1:].decode("gbk", errors="replace").replace("\ufffd", "?")
    out = text[:start] + ("?" if lead == "qmark" else "") + read + text[line_end:]
    return unicodedata.normalize("NFKC", out)


def test_resync_rules_follow_pythons_gbk_decoder():
    assert _resyncs(0xAC, 0xB2)  # user-defined pair: one U+FFFD, then the next byte leads
    assert not _resyncs(0xDF, 0x4D)  # 進 = DF 4D is a valid pair
    assert _resyncs(0xBE, ord("\n"))
    assert not _resyncs(0x4D, 0x81)  # ASCII never starts a pair


def test_nfkc_expansions_are_read_back_to_one_gbk_character():
    units = _units_before("?(1)┐", 5, 0)
    assert [u[0] for u in units] == [4, 1, 0]  # ┐, then "(1)" as one unit (⑴ = A2 C5), then `?`
    assert 0xA2C5 in units[1][1]


def test_seed_003_span_with_resynchronising_ascii_byte():
    line = "預計總投資94億元?!白叱鋈ァ⒄堖M來” 60次"
    assert fix_text(line, ONLY_M101).text == "預計總投資94億元。“走出去、請進來” 60次"


@pytest.mark.parametrize("clean, damaged", [
    ("我们要看看最新的测试版中都包含什么软件包?\n", "么软件包"),
    ("提示:请检查网络套接口复制大文件的时候避免在主存中缓冲过多的数据。\n", "络套接口"),
])
def test_round_trip_of_a_simulated_misalignment(clean, damaged):
    broken = misalign(clean, damaged)
    assert broken != clean
    assert fix_text(broken, ONLY_M101).text == clean


def test_restored_punctuation_follows_a_fullwidth_file():
    text = "項目穩步推進，預計總投資94億元?!白叱鋈ァ⒄堖M來”，成效明顯。"
    repaired = fix_text(text, ONLY_M101).text
    assert "。“走出去、請進來”" in repaired


def test_weak_evidence_is_reported_not_applied():
    strict = parse_table({"select": ["M101"], "options": {"M101": {"fix-margin": 500.0}}}, None)
    line = "預計總投資94億元?!白叱鋈ァ⒄堖M來” 60次"
    result = fix_text(line, strict)
    assert result.text == line
    [finding] = [c for c in result.findings if c.code == "M101"]
    assert finding.after is None and "。“走出去、請進" in finding.message


def test_layered_annotation_trace_is_repaired_through_the_bytes():
    line = "53個小區(qū)老舊燃?xì)夤芫W(wǎng)進行改造。"
    assert fix_text(line, ONLY_M101).text == "53個小區(qū)老舊燃氣管網(wǎng)進行改造。"


def test_clean_question_marks_and_lone_letters_are_left_alone():
    text = "他买了A股吗?还是买了维生素C?我不知道!\n子曰:学而时习之,不亦说乎?\n"
    assert not [c for c in scan_text(text, ONLY_M101).changes]
    assert all(run.margin < 5 for line in text.splitlines(True) for run in find_runs(line, DocStats(text)))


def test_repair_is_idempotent():
    line = "預計總投資94億元?!白叱鋈ァ⒄堖M來” 60次"
    once = fix_text(line, ONLY_M101).text
    assert fix_text(once, ONLY_M101).text == once


def test_dropped_pair_search_uses_the_document_cache():
    """Seed 003 lost F9 BD (in 基金) twice; in a traditional document the simplified 护 of
    `社保护戰` must not outbid 基金 at the second place."""
    doc = next(Path("seeds").glob("003_*.txt")).read_text(encoding="utf-8")
    line = next(l for l in doc.splitlines() if "社?;鸸" in l)
    (run,) = [r for r in find_runs(line, DocStats(doc)) if "鸸" in line[r.start:r.end]]
    assert "社保基金支付" in run.repaired
    assert "护" not in run.repaired


def test_clean_terminators_are_rejected_without_a_search(monkeypatch):
    """A question mark or a lone letter after clean Chinese costs no candidate search."""
    from repair.mojibake import shift

    def no_search(*args, **kwargs):
        raise AssertionError("candidate search on clean text")

    monkeypatch.setattr(shift, "_candidates_at", no_search)
    for text in ("這個軟體包是什麼?\n你知道嗎?\n", "我們選擇「A」方案,然後用B\n", "请问你在哪里?我在家。\n",
                 "これは何ですか?はい、そうです。\n", "print('hello?')\n"):
        assert not scan_text(text, ONLY_M101).changes


def test_misread_tail_passes_the_screen():
    from repair.mojibake.shift import _may_end_run

    assert _may_end_run("預計總投資94億元?!白叱鋈ァ⒄堖M來”", 17, "M")  # 堖 before M reads as misread
    assert _may_end_run("同比增長7.55%??偼顿Y40", 13, "Y")
    assert _may_end_run("從p壞的系統中", 1, "p")  # a lead byte lost whole between Han characters
    assert not _may_end_run("這是什麼?\n", 4, "?")


def test_dropped_pair_choice_is_cached_per_document():
    from repair.mojibake.shift import _best_gap_pair

    stats = DocStats("社保基金管理,防范社保基金支付風險")
    first = _best_gap_pair(0xBBF9, "社", "金", stats)
    assert (0xBBF9, "社", "金") in stats.gap_pairs
    assert _best_gap_pair(0xBBF9, "社", "金", stats) == first


@given(text=st.text(alphabet="的社保基金,，。?!（）\n a1ァ⒄區", min_size=1, max_size=8),
       before=st.sampled_from(["", "社", ",", "\n", "a"]), after=st.sampled_from(["", "金", "。", "\n"]))
def test_candidate_scores_from_cached_steps_equal_the_model_s_logprob(text, before, after):
    from repair import lm
    from repair.mojibake.shift import _fit

    assert _fit(text, before, after) == pytest.approx(lm.logprob(text, before, after))
