"""Fix safety, as in ruff: a repair below the confidence threshold (config.min_confidence, 0.9) is
reported, not applied, unless --unsafe-fixes; through the real CLI, with a registered test rule."""
import pytest

from repair import registry
from repair.cli import main
from repair.engine import selected_rules
from repair.registry import Rule

TEXT = "第一行 teh 错字。\n第二行 teh 和 recieve。\n"


class _Spelling(Rule):
    """Test rule: a confident fix (recieve) and an unsure one (teh)."""

    code = "P190"
    name = "test-spelling"
    summary = "test rule"
    example = ("teh", "the")
    default = False

    def find(self, text, ctx):
        for word, after, confidence in (("teh", "the", 0.5), ("recieve", "receive", 0.95)):
            start = text.find(word)
            while start >= 0:
                yield self.fix(text, start, start + len(word), after, confidence, f"{word} -> {after}")
                start = text.find(word, start + 1)


@pytest.fixture
def spelling(monkeypatch):
    monkeypatch.setitem(registry._RULES, "P190", _Spelling())
    selected_rules.cache_clear()
    yield
    selected_rules.cache_clear()


def fix(capsys, path, *flags):
    code = main(["fix", str(path), "--select", "P190", "--no-report", "--no-cache", "--format", "concise", "-j", "1", *flags])
    return code, capsys.readouterr().out


def test_low_confidence_repair_is_reported_not_applied(spelling, capsys, tmp_path):
    target = tmp_path / "doc.txt"
    target.write_text(TEXT, encoding="utf-8")
    code, out = fix(capsys, target)
    assert target.read_text(encoding="utf-8") == TEXT.replace("recieve", "receive")
    assert code == 1  # findings remain
    unsure = [line for line in out.splitlines() if "teh -> the" in line]
    assert len(unsure) == 2 and all("fixed" not in line for line in unsure)
    assert [line for line in out.splitlines() if "recieve -> receive" in line and "fixed" in line]


def test_unsafe_fixes_flag_applies_it(spelling, capsys, tmp_path):
    target = tmp_path / "doc.txt"
    target.write_text(TEXT, encoding="utf-8")
    code, out = fix(capsys, target, "--unsafe-fixes")
    assert code == 0, out
    assert target.read_text(encoding="utf-8") == "第一行 the 错字。\n第二行 the 和 receive。\n"


@pytest.mark.parametrize("setting, applied", [("unsafe-fixes = true", True), ("min-confidence = 0.4", True),
                                              ("min-confidence = 0.99", False)])
def test_config_moves_the_threshold(spelling, capsys, tmp_path, setting, applied):
    (tmp_path / "repair.toml").write_text(setting + "\n", encoding="utf-8")
    target = tmp_path / "doc.txt"
    target.write_text(TEXT, encoding="utf-8")
    fix(capsys, target)
    text = target.read_text(encoding="utf-8")
    assert ("teh" not in text) == applied
    assert ("recieve" not in text) == (setting != "min-confidence = 0.99")


def test_check_reports_both_and_changes_nothing(spelling, capsys, tmp_path):
    target = tmp_path / "doc.txt"
    target.write_text(TEXT, encoding="utf-8")
    code = main(["check", str(target), "--select", "P190", "--no-report", "--no-cache", "--format", "concise", "-j", "1"])
    out = capsys.readouterr().out
    assert code == 1 and target.read_text(encoding="utf-8") == TEXT
    assert out.count("teh -> the") == 2 and out.count("recieve -> receive") == 1
