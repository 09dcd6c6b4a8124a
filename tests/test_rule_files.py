"""The rule files: every built-in pattern against its examples and near-misses, and the errors a
broken user file gives (they must name the file and the pattern)."""
from pathlib import Path

import pytest

from repair import fix_text
from repair.boilerplate import (
    builtin_rule_files, check_examples, compile_pattern, parse_rule_file, rules_dir, ruleset_for,
)
from repair.config import Config, parse_table
from repair.registry import RuleError, all_rules

BUILTIN_PATTERNS = [
    pytest.param(pattern, id=f"{pattern.code}:{pattern.id}")
    for path in builtin_rule_files()
    for pattern in parse_rule_file(path).patterns
]
BODY = "各位代表:\n" + "现在,我代表区人民政府向大会报告工作,请予审议,并请区政协委员和其他列席人员提出意见。\n" * 6


def test_rules_dir_holds_the_builtin_files():
    assert rules_dir().is_dir()
    assert {p.name for p in builtin_rule_files()} >= {"forum.toml", "footer.toml", "furniture.toml", "table.toml", "decorative.toml"}


def test_builtin_files_define_rules_b101_to_b105_on_by_default():
    rules = all_rules(Config())
    for code in ("B101", "B102", "B103", "B104", "B105"):
        assert rules[code].default, code
        assert rules[code].name and rules[code].summary and rules[code].explanation


@pytest.mark.parametrize("pattern", BUILTIN_PATTERNS)
def test_pattern_matches_its_examples_and_not_its_near_misses(pattern):
    assert pattern.examples and pattern.near_misses, "every built-in pattern needs examples and near-misses"
    check_examples(pattern, compile_pattern(pattern))  # raises RuleError naming the pattern


def test_a_pattern_in_simplified_matches_traditional_text():
    (pattern,) = [p for p in parse_rule_file(rules_dir() / "forum.toml").patterns if p.id == "post-line"]
    from repair.boilerplate import _words

    assert compile_pattern(pattern).search(_words("發表於 2021-7-23 15:27:25 | 只看該作者"))


def write(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '''
code = "B150"
name = "my-site-footer"
summary = "Footer of my site"
example = ["正文\\n本站声明：转载请注明出处", "正文\\n"]

[[pattern]]
id = "reprint-notice"
description = "My site's reprint notice"
regex = \'\'\'^本站声明[:：]转载请注明出处$\'\'\'
where = "footer"
examples = ["本站声明：转载请注明出处"]
near-misses = ["本站声明：今天放假"]
'''


def test_user_rule_file_adds_a_rule_through_extend_rules(tmp_path):
    path = write(tmp_path, GOOD)
    config = parse_table({"extend-rules": [path.name]}, tmp_path / "repair.toml")
    assert config.extend_rules == (str(path.resolve()),)
    assert all_rules(config)["B150"].name == "my-site-footer"
    result = fix_text(BODY + "本站声明：转载请注明出处\n", config)
    assert result.text == BODY
    assert [c.code for c in result.applied] == ["B150"]
    assert fix_text(BODY + "本站声明：转载请注明出处\n").text != BODY  # not without the file


def test_user_rule_file_can_extend_a_builtin_rule(tmp_path):
    path = write(tmp_path, GOOD.replace('code = "B150"\nname = "my-site-footer"\nsummary = "Footer of my site"\n', 'extend = "B102"\n')
                 .replace('example = ["正文\\n本站声明：转载请注明出处", "正文\\n"]\n', ""))
    config = Config(extend_rules=(str(path),))
    result = fix_text(BODY + "本站声明：转载请注明出处\n", config)
    assert result.text == BODY
    assert [c.code for c in result.applied] == ["B102"]


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        ruleset_for((str(path),))
    message = str(caught.value)
    assert str(path) in message
    return message


def test_bad_regex_names_file_and_pattern(tmp_path):
    message = error_for(tmp_path, GOOD.replace("^本站声明[:：]", "^本站声明[:："))
    assert "'reprint-notice'" in message and "bad regex" in message


def test_regex_that_cannot_be_combined_is_an_error(tmp_path):
    message = error_for(tmp_path, GOOD.replace("^本站声明[:：]", "(?i)^本站声明[:：]"))
    assert "'reprint-notice'" in message and "scoped flags" in message


def test_missing_field_names_file_and_pattern(tmp_path):
    message = error_for(tmp_path, GOOD.replace('description = "My site\'s reprint notice"\n', ""))
    assert "'reprint-notice'" in message and "`description`" in message


def test_missing_rule_field_names_file(tmp_path):
    assert "`name`" in error_for(tmp_path, GOOD.replace('name = "my-site-footer"\n', ""))


def test_unknown_key_names_file_and_pattern(tmp_path):
    message = error_for(tmp_path, GOOD.replace('where = "footer"', 'where = "footer"\nflavour = "salty"'))
    assert "'reprint-notice'" in message and "`flavour`" in message
    assert "`colour`" in error_for(tmp_path, 'colour = "red"\n' + GOOD)


def test_wrong_value_names_file_and_pattern(tmp_path):
    assert "`where`" in error_for(tmp_path, GOOD.replace('where = "footer"', 'where = "middle"'))
    assert "`evidence`" in error_for(tmp_path, GOOD.replace('where = "footer"', 'evidence = 3'))
    assert "B followed by three digits" in error_for(tmp_path, GOOD.replace('"B150"', '"M150"'))


def test_example_that_does_not_match_is_an_error(tmp_path):
    message = error_for(tmp_path, GOOD.replace('examples = ["本站声明：转载请注明出处"]', 'examples = ["本站声明：随便"]'))
    assert "'reprint-notice'" in message and "does not match" in message


def test_near_miss_that_matches_is_an_error(tmp_path):
    message = error_for(tmp_path, GOOD.replace('near-misses = ["本站声明：今天放假"]', 'near-misses = ["本站声明：转载请注明出处"]'))
    assert "near-miss" in message


def test_duplicate_ids_and_codes_are_errors(tmp_path):
    pattern = GOOD[GOOD.index("[[pattern]]"):]
    assert "used twice" in error_for(tmp_path, GOOD + pattern)
    assert "already defined" in error_for(tmp_path, GOOD.replace('"B150"', '"B101"'))
    assert "already used" in error_for(tmp_path, GOOD.replace('"B150"', '"B106"'))
    assert "no rule file defines" in error_for(tmp_path, 'extend = "B199"\n' + pattern)


def test_invalid_toml_and_missing_file(tmp_path):
    assert "invalid TOML" in error_for(tmp_path, GOOD + "\n[[pattern]\n")
    with pytest.raises(RuleError, match="cannot read"):
        ruleset_for((str(tmp_path / "absent.toml"),))


def test_every_boilerplate_rule_example_is_what_it_does():
    for code, rule in all_rules(Config()).items():
        if code.startswith("B1") and rule.fixable:
            damaged, repaired = rule.example
            assert fix_text(damaged, Config(select=(code,))).text == repaired, code
