"""A101 pinyin-annotation and A102 orphan-pinyin: converter residue goes, teaching pinyin stays."""
import re
import subprocess
import sys

import pytest
from pypinyin import Style, pinyin

from conftest import seed_text
from repair import fix_text, scan_text
from repair.annotation import INFO_KEY, OrphanPinyin, PinyinAnnotation, is_reading, syllable, trail_byte_candidates
from repair.config import parse_table
from repair.script import convert

PINYIN_GROUP = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
HAN = re.compile(r"[\u4e00-\u9fff]")


def keep(**options):
    """The A and S families alone, so other families' work on the seeds' other damage stays out."""
    table = {"script": "keep", "select": ["A", "S"]}
    if options:
        table["options"] = {"A101": options}
    return parse_table(table, None)


@pytest.mark.parametrize(
    ("spelled", "parsed"),
    [
        ("qū", ("qu", 1)), ("qu1", ("qu", 1)), ("qu\u0304", ("qu", 1)), ("QŪ", ("qu", 1)),
        ("lǜ", ("lv", 4)), ("lü4", ("lv", 4)), ("lv4", ("lv", 4)),
        ("me", ("me", 0)), ("ma5", ("ma", 0)), ("ma0", ("ma", 0)),
        ("zhuǎn", ("zhuan", 3)), ("ǹg", ("ng", 4)),
        ("see", None), ("qū1", None), ("", None), ("GDP", None), ("x1", None), ("yínháng", None),
    ],
)
def test_syllable_spellings(spelled, parsed):
    assert syllable(spelled) == parsed


@pytest.mark.parametrize(
    ("char", "spelled", "expected"),
    [
        ("區", "qū", True), ("區", "ōu", True), ("區", "qu1", True), ("區", "qù", False),
        ("說", "shuō", True), ("說", "shuì", True),  # shuì is a reading of the simplified source 说
        ("個", "ge", True), ("綠", "lv4", True), ("綠", "lǜ", True),
        ("情", "xiàn", False), ("侶", "chōng", False), ("區", "see", False),
    ],
)
def test_is_reading(char, spelled, expected):
    assert is_reading(char, spelled) is expected


def test_another_tone_counts_only_when_asked():
    assert not is_reading("揹", "bèi") and is_reading("揹", "bèi", any_tone=True)
    assert not is_reading("情", "xiàn", any_tone=True)


@pytest.mark.parametrize("config", [keep(), parse_table({"script": "keep"}, None)], ids=["A+S", "all rules"])
def test_seed_004_keep_removes_every_annotation_and_keeps_content(config):
    text = seed_text("004")
    result = fix_text(text, config)
    assert PINYIN_GROUP.findall(text)
    assert not PINYIN_GROUP.findall(result.text)
    assert len(re.findall(r"\([一二三四五六七八]\)", result.text)) == 16
    assert "(縣域)" in result.text and "(秋季)" in result.text
    assert result.info[INFO_KEY]["converter_residue"] is True


def test_seed_004_every_layered_span_is_flagged_or_repaired():
    text = seed_text("004")
    orphans = [m.start() for m in re.finditer(r"\?[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", text)]
    assert len(orphans) >= 10
    for run in (fix_text, scan_text):
        result = run(text, parse_table({"select": ["A"]}, None))
        flagged = {c.start for c in result.findings if c.code == "A102"}
        assert set(orphans) == flagged
        # In the input, a flag covers the lost character; the orphan pinyin after it is removed.
        removals = {c.start: c for c in result.applied if c.code == "A102"}
        for change in (c for c in result.findings if c.code == "A102"):
            assert text[change.start:change.end] == "?"
            removal = removals[change.end]
            assert re.fullmatch(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", text[removal.start:removal.end])
    repaired = fix_text(text, parse_table({"select": ["A"]}, None)).text
    assert "納入?區級" in repaired and "芫網進" in repaired  # the stray bytes ^ and W, with their pinyin


@pytest.mark.parametrize(
    ("byte", "spelled", "expected"),
    [("^", "qū", ("區",)), ("W", "wǎng", ("網",)), ("W", "wang3", ("網",)), ("!", "qū", ()), ("^", "zhuāng", ())],
)
def test_trail_byte_candidates(byte, spelled, expected):
    assert trail_byte_candidates(byte, spelled) == expected


def test_seed_004_layered_spans_are_repaired_or_flagged_by_the_whole_pipeline():
    text = seed_text("004")
    result = fix_text(text, parse_table({"script": "keep"}, None))
    for match in re.finditer(r"\?[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", text):
        assert any(c.start <= match.start() < max(c.end, c.start + 1) for c in result.changes), match[0]


def test_seed_004_simplified_is_opencc_of_the_kept_text():
    text = seed_text("004")
    kept = fix_text(text, keep()).text
    assert fix_text(text, parse_table({"script": "simplified", "select": ["A", "S"]}, None)).text == convert(kept, "t2s")


def _converter_output(simplified: str, every: int) -> tuple[str, str]:
    """Simulate the web converter: s2t, then pinyin after every `every`-th changed character."""
    traditional = convert(simplified, "s2t")
    assert len(traditional) == len(simplified)
    out, changed = [], 0
    for source, char in zip(simplified, traditional):
        out.append(char)
        if source != char:
            if changed % every == 0:
                out.append("(" + pinyin(source, style=Style.TONE)[0][0] + ")")
            changed += 1
    return "".join(out), traditional


@pytest.mark.parametrize("prefix", ["000", "001", "002"])
def test_simulated_converter_output_is_repaired(prefix):
    damaged, traditional = _converter_output(seed_text(prefix), every=2)
    result = fix_text(damaged, keep())
    assert result.text == traditional
    assert {c.code for c in result.applied} == {"A101"}


def test_sparse_annotations_need_a_lower_density_option():
    damaged, traditional = _converter_output(seed_text("000"), every=80)
    assert fix_text(damaged, keep()).text == damaged
    assert fix_text(damaged, keep(**{"min-density": 0.01})).text == traditional


def test_share_option_can_switch_the_rule_off():
    text = seed_text("004")
    assert fix_text(text, keep(**{"min-converted-share": 1.01})).text == text


def _teaching(text: str, every: int, words: bool) -> str:
    """Gloss every `every`-th Han character (or two-character word) with its pinyin, as a textbook."""
    out, seen, i = [], 0, 0
    while i < len(text):
        char = text[i]
        out.append(char)
        if HAN.match(char):
            seen += 1
            if seen % every == 0:
                if words and i + 1 < len(text) and HAN.match(text[i + 1]):
                    out.append(text[i + 1])
                    word = text[i : i + 2]
                    i += 1
                else:
                    word = char
                out.append("(" + "".join(p[0] for p in pinyin(word, style=Style.TONE)) + ")")
        i += 1
    return "".join(out)


@pytest.mark.parametrize("prefix", ["000", "003", "004"])
@pytest.mark.parametrize(("every", "words"), [(3, False), (7, False), (5, True)])
def test_teaching_pinyin_stays(prefix, every, words):
    base = seed_text(prefix)
    if prefix == "004":  # its own annotations removed: a clean traditional text
        base = PINYIN_GROUP.sub("", base)
    text = _teaching(base, every, words)
    result = fix_text(text, parse_table({"script": "keep", "select": ["A"]}, None))
    assert result.text == text
    assert not result.changes


def test_nonsense_pinyin_stays_in_a_converted_document():
    damaged, traditional = _converter_output(seed_text("001"), every=2)
    nonsense = "情(xiàn)侶(chōng)"
    result = fix_text(damaged + nonsense, keep())
    assert result.text == traditional + nonsense


@pytest.mark.parametrize("rule", [PinyinAnnotation, OrphanPinyin])
def test_examples_round_trip(rule):
    damaged, repaired = rule.example
    assert fix_text(damaged, parse_table({"select": ["A"]}, None)).text == repaired


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_check_is_quiet_on_seeds_without_annotations(prefix):
    result = scan_text(seed_text(prefix))
    assert not [c for c in result.changes if c.code[0] in "AS"]
    assert INFO_KEY not in result.info


def test_orphans_need_the_signature():
    text = "(八)勇?lián)?dāng)轉作風,深化依法行政。你好吗?hǎo)"
    assert fix_text(text, keep()).text == text


def test_import_is_cheap_and_clean_text_loads_nothing():
    code = (
        "import sys, repair, repair.annotation, repair.script\n"
        "assert 'pypinyin' not in sys.modules and 'opencc' not in sys.modules\n"
        "from repair.config import parse_table\n"
        "repair.fix_text('報告(一)工作 (see note) 你好吗?', parse_table({'select': ['A']}, None))\n"
        "assert 'pypinyin' not in sys.modules, 'the prefilter should keep pypinyin unloaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_bundled_pinyin_table_agrees_with_pypinyin():
    """repair/data/pinyin_readings.txt.gz is pypinyin's single-character table without pypinyin's
    phrase dictionaries; rebuild it with scripts/build_pinyin_table.py when they drift apart."""
    from pypinyin.constants import PINYIN_DICT

    from repair.pinyin_table import pinyin_dict

    table = pinyin_dict()
    assert "qū" in table[ord("區")].split(",") and "xiàn" in table[ord("現")].split(",")
    same = sum(table.get(code) == readings for code, readings in PINYIN_DICT.items())
    assert same >= 0.99 * len(PINYIN_DICT) and len(table) <= 1.01 * len(PINYIN_DICT)
