"""Properties over generated text: clean text stays clean, and fixing is idempotent
(fix(fix(x)) == fix(x)) over generated mixed damage, the seeds and the shared benchmark.

The clean-text generator writes what a person could write: clauses of the clean seeds, common
GB2312 (level 1) words, numbers, English words, Japanese and Korean sentences, in one document's
punctuation style (fullwidth, or the NFKC style of the corpus: ASCII , ; : ! ? ( ) beside 。、“”),
with or without fullwidth paragraph indents and CRLF line ends, in simplified or Taiwan traditional.
"""
import re
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repair import fix
from tests.conftest import EVAL_DEV, seed_paths, seed_text

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- realistic clean text ----------------------------------------------------------------------------

CLAUSE_BREAK = re.compile(r"[，。、；：！？,.;:!?()（）“”「」\s|]+")
CLEAN_SEEDS = ("000", "001", "002")


@lru_cache(maxsize=1)
def seed_clauses() -> tuple[str, ...]:
    clauses = set()
    for prefix in CLEAN_SEEDS:
        for clause in CLAUSE_BREAK.split(seed_text(prefix)):
            if 2 <= len(clause) <= 30 and not clause.isascii():
                clauses.add(clause)
    return tuple(sorted(clauses))


@lru_cache(maxsize=1)
def common_hanzi() -> str:
    """GB2312 level 1: the 3,755 most common Hanzi."""
    return "".join(bytes([lead, trail]).decode("gb2312") for lead in range(0xB0, 0xD8) for trail in range(0xA1, 0xFF)
                   if not (lead == 0xD7 and trail > 0xF9))


ENGLISH = ("GDP", "CPU", "WiFi", "iPhone", "Python", "APP", "PM2.5", "5G", "USB", "OK", "Linux", "AI", "CEO", "NBA")
JAPANESE = ("今日は天気がいいですね。", "東京駅で友達に会いました。", "この本はとても面白かったです。",
            "ありがとうございます。", "コーヒーを一杯ください。", "来週の会議は水曜日に変更されました。")
KOREAN = ("안녕하세요.", "오늘은 날씨가 좋네요.", "서울역에서 친구를 만났어요.", "감사합니다!",
          "이 책은 정말 재미있었어요.", "다음 주 회의는 수요일로 바뀌었습니다.")
ENGLISH_SENTENCES = ("The meeting starts at 9:30 a.m.", "See the report (page 12) for details.",
                     "Python 3.11 is required.", "Download it from https://example.org/files.")

STYLES = {
    # clause break, sentence ends, list comma, parentheses, quotes
    "fullwidth": ("，", "。！？", "、", "（）", "“”"),
    "nfkc": (",", "。!?", "、", "()", "“”"),
    "corner quotes": ("，", "。！？", "、", "（）", "「」"),
}


@st.composite
def inline_token(draw, style):
    _, _, list_comma, parens, quotes = STYLES[style]
    kind = draw(st.sampled_from(["number", "year", "percent", "english", "word", "quoted", "paren", "list"]))
    if kind == "number":
        return str(draw(st.integers(0, 99999)))
    if kind == "year":
        return f"{draw(st.integers(1949, 2030))}年{draw(st.integers(1, 12))}月"
    if kind == "percent":
        return f"{draw(st.integers(0, 100))}.{draw(st.integers(0, 9))}%"
    if kind == "english":
        return draw(st.sampled_from(ENGLISH))
    word = "".join(draw(st.lists(st.sampled_from(common_hanzi()), min_size=2, max_size=3)))
    if kind == "word":
        return word
    if kind == "quoted":
        return quotes[0] + draw(st.sampled_from(seed_clauses()))[:8] + quotes[1]
    if kind == "paren":
        return parens[0] + draw(st.sampled_from(seed_clauses()))[:10] + parens[1]
    return list_comma.join(draw(st.lists(st.sampled_from(seed_clauses()), min_size=2, max_size=4)))


@st.composite
def clause(draw, style):
    base = draw(st.sampled_from(seed_clauses()))
    if draw(st.integers(0, 3)) == 0:
        cut = draw(st.integers(0, len(base)))
        base = base[:cut] + draw(inline_token(style)) + base[cut:]
    return base


@st.composite
def sentence(draw, style):
    comma, ends, *_ = STYLES[style]
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(JAPANESE + KOREAN))
    if kind == 1:
        return draw(st.sampled_from(ENGLISH_SENTENCES))
    clauses = draw(st.lists(clause(style), min_size=1, max_size=4))
    return comma.join(clauses) + draw(st.sampled_from(ends[0] * 6 + ends[1:]))


@st.composite
def clean_document(draw):
    style = draw(st.sampled_from(sorted(STYLES)))
    indent = draw(st.sampled_from(["", "", "\u3000\u3000"]))
    paragraphs = [indent + "".join(draw(st.lists(sentence(style), min_size=1, max_size=4)))
                  for _ in range(draw(st.integers(1, 5)))]
    if draw(st.booleans()):
        paragraphs.insert(0, draw(st.sampled_from(seed_clauses())))  # a title line
    separator = draw(st.sampled_from(["\n", "\n\n"]))
    text = separator.join(paragraphs) + draw(st.sampled_from(["\n", "", "\n"]))
    if draw(st.integers(0, 3)) == 0:
        text = _to_traditional(text)  # Taiwan usage, as a person there would write it
    return text.replace("\n", "\r\n") if draw(st.integers(0, 4)) == 0 else text


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC("s2twp")


def _to_traditional(text: str) -> str:
    return _converter().convert(text)


@given(clean_document())
@PROPERTY_SETTINGS
def test_clean_text_comes_out_unchanged(text):
    assert fix(text) == text


# --- generated damage: fixing twice changes nothing more than fixing once --------------------------------

def _gbk_as_latin1(s: str) -> str:
    return s.encode("gbk", errors="replace").decode("latin-1")


def _utf8_as_gbk(s: str) -> str:
    return s.encode("utf-8").decode("gbk", errors="replace")


def _gbk_as_big5(s: str) -> str:
    return s.encode("gbk", errors="replace").decode("big5", errors="replace")


def _utf8_as_cp1252(s: str) -> str:
    return s.encode("utf-8").decode("cp1252", errors="replace")


def _gbk_shift(s: str) -> str:
    return s.encode("gbk", errors="replace")[1:].decode("gbk", errors="replace")


def _pinyin_residue(s: str) -> str:
    from opencc import OpenCC
    from pypinyin import Style, pinyin

    converted = OpenCC("s2t").convert(s)
    return "".join(t + (f"({pinyin(o, style=Style.TONE)[0][0]})" if t != o else "") for o, t in zip(s, converted))


DAMAGE = [_gbk_as_latin1, _utf8_as_gbk, _gbk_as_big5, _utf8_as_cp1252, _gbk_shift, _pinyin_residue]
BOILERPLATE = ("版權所有 © 2023 盤錦市人民政府 網站地圖", "TA的每日心情 | 開心 2019-3-23 07:35 |", "★", "|")


@st.composite
def damaged_document(draw):
    text = draw(clean_document())
    pieces = re.split(r"(\r?\n)", text)
    for i in range(0, len(pieces), 2):
        if pieces[i] and draw(st.integers(0, 2)) == 0:
            start = draw(st.integers(0, len(pieces[i])))
            end = draw(st.integers(start, len(pieces[i])))
            damage = draw(st.sampled_from(DAMAGE))
            pieces[i] = pieces[i][:start] + damage(pieces[i][start:end]) + pieces[i][end:]
    if draw(st.booleans()):
        pieces.insert(0, draw(st.sampled_from(BOILERPLATE)) + "\n")
    return "".join(pieces)


@given(damaged_document())
@PROPERTY_SETTINGS
def test_fix_is_idempotent_on_generated_damage(text):
    once = fix(text)
    assert fix(once) == once


def _not_idempotent(paths) -> list[str]:
    failures = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        once = fix(text)
        if once != text and fix(once) != once:  # fix is deterministic: unchanged text is a fixed point
            failures.append(path.name)
    return failures


def test_fix_is_idempotent_on_the_seeds():
    assert _not_idempotent(seed_paths()) == []


BENCHMARK_CATEGORIES = sorted(p.name for p in EVAL_DEV.iterdir()) if EVAL_DEV.is_dir() else []


@pytest.mark.skipif(not BENCHMARK_CATEGORIES, reason=f"shared benchmark not found at {EVAL_DEV}")
@pytest.mark.parametrize("category", BENCHMARK_CATEGORIES)
def test_fix_is_idempotent_on_the_benchmark(category):
    inputs = sorted(p for p in (EVAL_DEV / category).glob("*.txt") if not p.name.endswith(".gold.txt"))
    assert _not_idempotent(inputs) == []
