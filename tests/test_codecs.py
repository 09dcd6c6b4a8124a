"""M102-M105: damage made with real codec operations on seed text, and clean text left alone."""
import re
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from repair import fix_text, scan_text
from repair.config import parse_table
from repair.mojibake import codecs
ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "data" / "dev"
MOJIBAKE = parse_table({"select": ["M102", "M103", "M104", "M105"]}, None)


def seed_text(prefix: str) -> str:
    (path,) = (ROOT / "seeds").glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def seed_lines(prefix: str, min_len: int = 20) -> list[str]:
    return [line for line in seed_text(prefix).splitlines() if len(line) >= min_len]


def win936(data: bytes) -> str:
    """Windows code page 936 as MultiByteToWideChar decodes: 0x80 is the euro sign, an invalid
    pair becomes `?` (both bytes consumed), an unassigned pair vanishes."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b < 0x80 or b == 0x80:
            out.append("€" if b == 0x80 else chr(b))
            i += 1
        elif i + 1 < len(data) and b < 0xFF:
            pair = data[i : i + 2]
            if 0x40 <= pair[1] <= 0xFE and pair[1] != 0x7F:
                try:
                    out.append(pair.decode("gbk"))
                except UnicodeDecodeError:
                    pass
            else:
                out.append("?")
            i += 2
        else:
            out.append("?")
            i += 1
    return "".join(out)


def cer(a: str, b: str) -> float:
    return Levenshtein.distance(a, b) / max(1, len(b))


# ---------------------------------------------------------------- M102: UTF-8 read as GBK

@pytest.mark.parametrize("prefix", ["000", "002", "004"])
def test_utf8_read_as_gb18030_is_exact(prefix):
    # Clauses whose UTF-8 bytes GB18030 decodes without error: lossless, the repair is exact,
    # also when the damaged clause sits inside a clean line.
    checked = 0
    for gold in seed_lines(prefix)[:20]:
        for clause in re.split(r"[,;:]", gold):
            try:
                bad = clause.encode().decode("gb18030")
            except UnicodeDecodeError:
                continue
            if bad != clause:
                assert fix_text(gold.replace(clause, bad, 1), MOJIBAKE).text == gold
                checked += 1
    assert checked >= 3


@pytest.mark.parametrize("errors_as", ["\ufffd", "?"])
def test_lost_bytes_are_chosen_or_marked(errors_as):
    # GBK with replacement loses one byte per U+FFFD or `?`: every character comes back either
    # right or as U+FFFD (never a silent wrong guess of more than a few), and the rest is exact.
    golds = seed_lines("002")[:12]
    wrong = total = 0
    for gold in golds:
        bad = gold.encode().decode("gbk", errors="replace").replace("\ufffd", errors_as)
        result = fix_text(bad, MOJIBAKE)
        assert len(result.text) == len(gold), (bad, result.text)
        diffs = [(o, g) for o, g in zip(result.text, gold) if o != g]
        wrong += sum(1 for o, _ in diffs if o != "\ufffd")
        total += len(gold)
        if "\ufffd" in result.text:
            assert any("best candidates" in c.message for c in result.changes)
    assert wrong <= total * 0.01


def test_code_page_936_with_dropped_pairs():
    # Code page 936 drops unassigned pairs silently and swallows the byte after a lost one.
    gold = "\n".join(seed_lines("000")[:8])
    bad = win936(gold.encode())
    assert "€" in bad and bad != gold
    out = fix_text(bad, MOJIBAKE).text
    assert cer(out, gold) <= cer(bad, gold) / 10


def test_utf8_as_gbk_inside_a_clean_line():
    gold = seed_lines("000")[0]
    clause = gold[10:20]
    bad = gold.replace(clause, clause.encode().decode("gb18030"), 1)
    result = fix_text(bad, MOJIBAKE)
    assert result.text == gold
    (change,) = result.applied
    assert change.code == "M102" and 8 <= change.start and change.end <= 10 + len(bad) - len(gold) + 12


# ---------------------------------------------------------------- M103: traces of lost bytes

@pytest.mark.parametrize("trace", ["锟斤拷", "锟斤拷锟斤拷", "烫烫烫烫烫烫", "屯屯屯屯", "ï¿½ï¿½"])
def test_lost_bytes_traces_are_flagged_not_changed(trace):
    text = f"数据{trace}丢失了"
    result = fix_text(text)
    assert result.text == text
    assert [c.code for c in result.changes if c.code.startswith("M")] == ["M103"]
    assert result.changes[0].after is None and result.changes[0].before == trace


def test_hot_hot_is_a_word():
    assert not [c for c in scan_text("烫烫的茶水和屯屯村").changes if c.code == "M103"]


# ---------------------------------------------------------------- M104: GBK/Big5 read as Latin-1

@pytest.mark.parametrize("decoder", ["latin-1", "cp1252-sloppy"])
@pytest.mark.parametrize("prefix", ["000", "002"])
def test_gbk_read_as_latin1_is_exact(prefix, decoder):
    gold = "\n".join(seed_lines(prefix)[:10])
    raw = gold.encode("gbk")
    bad = raw.decode("latin-1") if decoder == "latin-1" else "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in raw
    )
    assert fix_text(bad, MOJIBAKE).text == gold


def test_big5_read_as_latin1():
    gold = "\n".join(line for line in seed_lines("004")[:10] if _big5_ok(line))
    bad = gold.encode("big5").decode("latin-1")
    assert fix_text(bad, MOJIBAKE).text == gold


def _big5_ok(line: str) -> bool:
    try:
        line.encode("big5")
    except UnicodeEncodeError:
        return False
    return True


def test_lone_character_needs_company():
    # `ºÍ` alone between English words could be anything; in a document with longer runs of
    # the same damage it is 和.
    alone = "cats ºÍ dogs"
    assert fix_text(alone, MOJIBAKE).text == alone
    company = "ÖÐ»ªÈËÃñ¹²ºÍ¹ú\ncats ºÍ dogs"
    assert fix_text(company, MOJIBAKE).text == "中华人民共和国\ncats 和 dogs"


# ---------------------------------------------------------------- M105: UTF-8 read as cp1252

def _sloppy(data: bytes) -> str:
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in data)


@pytest.mark.parametrize("layers", [1, 2])
def test_utf8_read_as_cp1252_layers(layers):
    gold = "\n".join(seed_lines("001")[:10])
    bad = gold
    for _ in range(layers):
        bad = _sloppy(bad.encode())
    assert fix_text(bad, MOJIBAKE).text == gold


def test_dropped_undefined_bytes():
    # cp1252 with errors="ignore" drops 81 8D 8F 90 9D: put back where UTF-8 needs them.
    gold = "\n".join(seed_lines("000")[:10])
    bad = gold.encode().decode("cp1252", errors="ignore")
    out = fix_text(bad, MOJIBAKE).text
    assert cer(out, gold) <= cer(bad, gold) / 20


def test_no_break_space_shown_as_space():
    gold = "\n".join(seed_lines("002")[:10])
    bad = _sloppy(gold.encode()).replace("\xa0", " ")
    out = fix_text(bad, MOJIBAKE).text
    assert cer(out, gold) <= cer(bad, gold) / 20


def test_latin_mojibake_in_english():
    assert fix_text("The cafÃ© serves crÃ¨me brÃ»lÃ©e", MOJIBAKE).text == "The café serves crème brûlée"


# ---------------------------------------------------------------- clean text and behaviour

CLEAN = [
    "Größe, Qualität und Preis: très élevé à Paris, naïve café — « déjà vu ».",
    "“Hello…” she said — it’s the ‘best’ option™ at £5, ¥600 or €7.",
    "日本語のテキスト：東京都、ひらがなとカタカナ。ょよらりるれろ",
    "한국어 텍스트입니다. 서울특별시.",
    "鍊金術與鍛造的歷史：鍾鼎彝器、鏈條與鐘錶。",
    "def mean(xs):  # 计算平均值 μ, σ² → ∑",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_untouched(text):
    result = fix_text(text, MOJIBAKE)
    assert result.text == text and not result.applied


@pytest.mark.skipif(not EVAL_DEV.is_dir(), reason="benchmark data not present")
def test_benchmark_clean_controls_untouched():
    for path in sorted(EVAL_DEV.glob("clean_*/[0-9][0-9][0-9].txt")):
        text = path.read_text(encoding="utf-8")
        assert not fix_text(text, MOJIBAKE).applied, path


def test_detection_is_one_scan_on_clean_text():
    # The rules' prefilters find nothing in clean Chinese text, so a clean line costs one scan.
    clean = "\n".join(seed_text(p) for p in ("000", "001", "002"))
    assert not codecs._UTF8_AS_CP1252.search(clean)
    assert not codecs._LEGACY_AS_LATIN1.search(clean)
    assert not codecs._utf8_as_gbk_signature().search(clean)
    assert not codecs._LOST_BYTES_TRACE.search(clean)


@pytest.mark.parametrize("damage", [
    lambda s: s.encode().decode("gb18030", errors="replace"),
    lambda s: s.encode("gbk").decode("latin-1"),
    lambda s: _sloppy(s.encode()),
])
def test_repair_is_idempotent(damage):
    gold = "\n".join(seed_lines("003")[:6])
    once = fix_text(damage(gold), MOJIBAKE).text
    assert fix_text(once, MOJIBAKE).text == once


def test_smallest_span():
    bad = "大洼区" + "人民政府".encode("gbk").decode("latin-1") + "工作报告"
    result = fix_text(bad, MOJIBAKE)
    assert result.text == "大洼区人民政府工作报告"
    (change,) = result.applied
    assert (change.start, change.end, change.after) == (3, 11, "人民政府")


def test_low_margin_is_not_applied():
    # Two characters that happen to re-decode but read no better stay as they are.
    text = "淇奧"
    assert fix_text(text, MOJIBAKE).text == text


def test_unassigned_pairs_group_exactly():
    # Every insertion pattern allows only byte pairs GBK really leaves unassigned.
    for firsts, seconds in codecs._dropped_pairs():
        for a in firsts:
            for b in seconds:
                with pytest.raises(UnicodeDecodeError):
                    bytes((a, b)).decode("gbk")


def test_lost_byte_values_follow_the_decoder():
    # Before E5 (a valid trail) GBK loses only bytes it cannot pair with E5; 0x80 always.
    lost = codecs._lost_before(0xE5)
    assert 0x80 in lost and 0xAD in lost and 0x90 not in lost
    assert codecs._lost_before(ord(",")) == codecs.CONTINUATION


def test_examples_round_trip():
    for rule in (codecs.Utf8ReadAsGbk(), codecs.LegacyCjkReadAsLatin1(), codecs.Utf8ReadAsCp1252()):
        damaged, repaired = rule.example
        assert fix_text(damaged, MOJIBAKE).text == repaired, rule.code
    assert re.fullmatch("M10[2-5]", codecs.LostBytesTrace.code)


@pytest.mark.parametrize("name", ["010", "011", "018"])
def test_the_windowed_search_decodes_like_the_search_over_the_whole_segment(name):
    """The search runs only around UTF-8 decoding failures; on benchmark lines full of lost and
    dropped bytes it must choose exactly what the search over each whole segment chooses."""
    text = (EVAL_DEV / "utf8_as_gbk" / f"{name}.txt").read_text(encoding="utf-8")
    win = "€" in text
    dropped = tuple((p, codecs.DROPPED_PAIR_COST) for p in codecs._dropped_pairs()) if "\ufffd" not in text else ()
    compared = 0
    for line in text.splitlines():
        for start, end in codecs.segments(line, codecs._gbk_encodable):
            if codecs._strict_utf8_from_gbk(line[start:end]) is not None:
                continue
            tokens = codecs._gbk_tokens(line[start:end], win)
            left = line[:start][-1:]
            whole = codecs.shortest_decoding(tokens, codecs.push_utf8, dropped, left)
            assert codecs.windowed_utf8_decoding(tokens, dropped, left) == whole
            compared += 1
    assert compared >= 3


def test_a_lost_character_at_the_end_of_a_line_is_chosen_as_a_line_ending():
    """Benchmark utf8_as_gbk/001: `。` at the end of a line lost its last byte; with the newline as
    its right context the model prefers it to `、` or `「` by the line-end cost."""
    line = "灏忔睜瀵掔豢娆茬敓婕紝闆ㄦ櫞杩樻棩瑗裤€?"
    assert fix_text(line + "\n").text.endswith("雨晴还日西。\n")


@pytest.mark.skipif(not EVAL_DEV.is_dir(), reason="benchmark data not present")
def test_a_lost_character_of_simplified_text_is_not_a_traditional_one():
    """Benchmark utf8_as_gbk/007: in clearly simplified text the lost 家 of 您家的电费 beats its
    traditional variant 傢 (the bigram model scores both alike) and is filled in."""
    line = next(l for l in (EVAL_DEV / "utf8_as_gbk" / "007.txt").read_text(encoding="utf-8").splitlines()
                if "鐜板湪鎮ㄥ" in l)
    assert "现在您家的电费" in fix_text(line + "\n").text
