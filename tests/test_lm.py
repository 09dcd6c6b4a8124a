"""The character language model separates correct Chinese from mojibake and near misses."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from repair import lm

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "data"
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))

# Correct spans of seed 003 and what the corpus holds (../shared/notes/artifacts.md).
SEED_SPANS = [
    ("。“走出去、請進來”", "?!白叱鋈ァ⒄堖M來”"),
    ("。總投資40", "??偼顿Y40"),
    ("社保基金管理,防范社保基金支付風險", "社?;鸸芾恚婪渡绫;鹬Ц讹L險"),
    ("福郡項目竣工投入使用,推進投資", "??ろ椖靠⒐ね度胧褂茫七M投資"),
    ("勇擔當轉作風", "勇?lián)?dāng)轉作風"),
]


def gbk_neighbours(text: str, position: int, codec: str) -> list[str]:
    """`text` with the character at `position` replaced by the codes next to it in `codec`."""
    raw = text[position].encode(codec)
    out = []
    for delta in (-2, -1, 1, 2):
        if not 0x40 <= raw[1] + delta <= 0xFE:
            continue
        candidate = bytes([raw[0], raw[1] + delta])
        try:
            ch = candidate.decode(codec)
        except UnicodeDecodeError:
            continue
        if lm.char_class(ch) == lm.HAN and ch != text[position]:
            out.append(text[:position] + ch + text[position + 1:])
    return out


@pytest.mark.parametrize(("gold", "damaged"), SEED_SPANS)
def test_seed_spans_beat_mojibake_clearly(gold, damaged):
    assert lm.compare(gold, damaged) >= 3 * lm.CLEAR_MARGIN


def test_one_character_off_candidates_lose():
    gold = "社保基金管理,防范社保基金支付風險"
    losers = 0
    for position, ch in enumerate(gold):
        if lm.char_class(ch) != lm.HAN:
            continue
        for candidate in gbk_neighbours(gold, position, "gbk"):
            assert lm.compare(gold, candidate) > 0, candidate
            losers += 1
    assert losers > 20
    assert lm.compare("社保基金管理", "社保基全管理") >= 5.0


def test_clean_seed_lines_score_like_chinese():
    for path in SEEDS[:3]:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if len(line) >= 20]
        assert lines
        for line in lines:
            assert lm.mean_logprob(line) > -8.0, line


def test_mojibake_scores_low():
    big5_as_gbk = "中文使用者的說明文件".encode("big5").decode("gbk", errors="replace")
    gbk_as_big5 = "中文使用者的说明文件".encode("gbk").decode("big5", errors="replace")
    utf8_as_gbk = "中文使用者的说明文件".encode("utf-8").decode("gbk", errors="replace")
    for text in (big5_as_gbk, gbk_as_big5, utf8_as_gbk):
        assert lm.mean_logprob(text) < -9.0, text
    assert lm.mean_logprob("中文使用者的說明文件") > -7.0


def test_context_is_additive():
    left, text = "推進投資", "社保基金管理"
    assert lm.logprob(left + text) == pytest.approx(lm.logprob(left) + lm.logprob(text, left=left))
    # `right` counts the step into the next character, so a mojibake tail is judged in place.
    assert lm.logprob("投資", right="管") < lm.logprob("投資")


def test_scripts_score_alike_and_other_classes_are_sensible():
    assert lm.compare("社會保障基金", "社会保障基金") == pytest.approx(0.0, abs=2.0)
    assert lm.mean_logprob("Debian 12 版本於 2023 年發布。") > -6.5
    assert lm.compare("投資", "投\ufffd") > 10
    assert lm.han_ratio("中文 abc") == pytest.approx(2 / 5)
    assert lm.han_ratio("   ") == 0.0


def test_best_returns_winner_and_margin():
    winner, margin = lm.best(["社保基仝管理", "社保基金管理", "社?;鸸芾"])
    assert winner == "社保基金管理"
    assert margin >= lm.CLEAR_MARGIN


def _dev_spans(categories):
    manifest = EVAL / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip("benchmark data not present")
    for line in manifest.read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        doc = json.loads(line)
        if doc["split"] == "dev" and doc["category"] in categories:
            for span in doc["spans"]:
                if span.get("gold_text") and span.get("input_text") != span.get("gold_text"):
                    yield span["gold_text"], span["input_text"]


def test_dev_gold_spans_beat_codec_mojibake():
    pairs = list(_dev_spans({"big5_as_gbk", "gbk_as_big5", "utf8_as_gbk", "gbk_as_latin1", "utf8_as_cp1252"}))
    assert len(pairs) >= 30
    assert all(lm.compare(gold, damaged) > 0 for gold, damaged in pairs)


def test_dev_gold_beats_one_character_off_variants():
    """Accuracy of choosing gold over a one-character GBK/Big5 neighbour, 13-character window."""
    files = sorted(p for p in (EVAL / "dev").glob("*/*.gold.txt") if not p.parent.name.startswith("clean_"))
    if not files:
        pytest.skip("benchmark data not present")
    rng = random.Random(7)
    wins = total = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").split("\n"):
            hans = [i for i, ch in enumerate(line) if lm.char_class(ch) == lm.HAN]
            if len(hans) < 6:
                continue
            position = rng.choice(hans)
            codec = rng.choice(("gbk", "big5"))
            try:
                candidates = gbk_neighbours(line, position, codec)
            except UnicodeEncodeError:
                continue
            lo = max(0, position - 6)
            for candidate in candidates[:1]:
                total += 1
                wins += lm.compare(line[lo:position + 7], candidate[lo:position + 7]) > 0
    assert total > 1000
    assert wins / total >= 0.93


def test_data_file_is_compact_and_names_its_source():
    # Load time is a benchmark matter (shared machines are noisy), not a unit-test assertion.
    assert lm.DATA_PATH.stat().st_size <= 8_000_000
    header = lm.DATA_PATH.read_bytes()[:400]
    assert b"jieba" in header and b"MIT" in header


def test_logprob_is_the_sum_of_steps():
    text = "各位代表, 2023 年 abc、\n社保　基金。“走出去”é\ufffdい한\n"
    assert lm.logprob(text) == pytest.approx(sum(lm.step(p, c) for p, c in zip("\n" + text, text)))


def test_line_end_prefers_sentence_final_marks():
    assert lm.compare("人民。", "人民、", right="\n") > 3
