"""Punctuation and invisible characters (P1xx)."""
from repair import fix_text
from repair.config import parse_table

ONLY_P = parse_table({"select": ["P101", "P102"]}, None)
CONVENTION = parse_table({"select": ["P103"]}, None)


def test_control_characters_go_but_layout_controls_stay():
    assert fix_text("中文\x00内容\x07\x7f", ONLY_P).text == "中文内容"
    assert fix_text("列1\t列2\f\r\n", ONLY_P).text == "列1\t列2\f\r\n"


def test_ansi_escape_sequence_goes_as_a_unit():
    result = fix_text("\x1b[1;31m错误\x1b[0m: 文件不存在", ONLY_P)
    assert result.text == "错误: 文件不存在"
    assert all(c.code == "P101" for c in result.applied)


def test_c1_control_next_to_latin1_is_left_for_the_mojibake_rules():
    assert fix_text("â\x80\x9c", ONLY_P).text == "â\x80\x9c"
    assert fix_text("中\x85文", ONLY_P).text == "中文"


def test_zero_width_characters():
    assert fix_text("中\u200b文\ufeff内容\u2060", ONLY_P).text == "中文内容"
    assert fix_text("\ufeff中文", ONLY_P).text == "中文"
    assert fix_text("中\u200d文", ONLY_P).text == "中文"


def test_joiners_that_matter_stay():
    for text in ("👨\u200d👩\u200d👧", "क्\u200dष", "می\u200cخواهم", "ภาษา\u200bไทย", "ພາສາ\u200bລາວ"):
        assert fix_text(text, ONLY_P).text == text, repr(text)


def test_punctuation_convention_is_off_by_default():
    assert "P103" not in {c.code for c in fix_text("我们,你们，他们，它们，好的！").changes}


def test_minority_ascii_marks_follow_a_fullwidth_document():
    text = "第一，要改革；第二，要开放！第三，要创新；第四，要协调；第五,要发展(一)总则。"
    assert fix_text(text, CONVENTION).text == "第一，要改革；第二，要开放！第三，要创新；第四，要协调；第五，要发展（一）总则。"


def test_minority_fullwidth_marks_follow_an_nfkc_document():
    text = "各位代表!我们要改革,要开放;要发展：好(一)总则。"
    assert fix_text(text, CONVENTION).text == "各位代表!我们要改革,要开放;要发展:好(一)总则。"


def test_no_clear_majority_no_change():
    text = "我们,你们，他们,它们，好。"
    assert fix_text(text, CONVENTION).text == text


def test_marks_outside_hanzi_and_annotations_are_not_counted_or_changed():
    text = "時間 10:30, 地點 room(3)，區(qū)政府，市政府，縣政府，鄉政府；村委會。"
    result = fix_text(text, CONVENTION)
    assert result.text == text  # fullwidth dominates, but no ASCII mark stands between Hanzi
    assert not result.applied


def test_convention_fix_is_idempotent():
    once = fix_text("第一，要改革；第二，要开放！第三，要创新；第四,要发展。", CONVENTION).text
    assert once == "第一，要改革；第二，要开放！第三，要创新；第四，要发展。"
    assert fix_text(once, CONVENTION).text == once
