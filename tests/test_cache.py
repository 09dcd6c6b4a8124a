"""The result cache: unchanged content, config and tool are served from .repair_cache/;
any change to one of them is repaired again (repair/cache.py, the cache hook in repair/cli.py)."""
import json
import shutil

import pytest

from repair import cache, cli
from repair.cli import main
from repair.config import Config
from tests.conftest import SEEDS


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    monkeypatch.chdir(tmp_path)
    cli._cache_for.cache_clear()
    cli._config_digest.cache_clear()
    return target


@pytest.fixture
def counted(monkeypatch):
    """Count the files really repaired (not served from the cache)."""
    calls = []
    real = cli.process_bytes

    def spy(data, config, **kwargs):
        calls.append(kwargs["path"])
        return real(data, config, **kwargs)

    monkeypatch.setattr(cli, "process_bytes", spy)
    return calls


def check(capsys, *argv):
    code = main(["check", *argv, "--format", "json", "--no-report", "-j", "1"])
    return code, json.loads(capsys.readouterr().out)


def test_second_check_is_served_from_the_cache_with_the_same_report(corpus, counted, capsys):
    code1, first = check(capsys, str(corpus))
    assert len(counted) == 5
    code2, second = check(capsys, str(corpus))
    assert len(counted) == 5, "nothing repaired again"
    assert code1 == code2
    assert first["files"] == second["files"]
    assert (corpus / ".repair_cache" / ".gitignore").is_file()  # next to the corpus's repair.toml


def test_a_changed_file_is_checked_again_and_only_that_file(corpus, counted, capsys):
    check(capsys, str(corpus))
    target = sorted(corpus.glob("000_*.txt"))[0]
    target.write_text(target.read_text(encoding="utf-8") + "新的一行。\n", encoding="utf-8")
    check(capsys, str(corpus))
    assert counted[5:] == [str(target)]


def test_a_changed_config_or_no_cache_repairs_everything_again(corpus, counted, capsys):
    check(capsys, str(corpus))
    check(capsys, str(corpus), "--script", "traditional")  # seeds/repair.toml says simplified
    assert len(counted) == 10
    check(capsys, str(corpus), "--no-cache")
    assert len(counted) == 15


def test_fix_skips_clean_files_but_repairs_damaged_ones(corpus, counted, capsys):
    main(["fix", str(corpus), "--no-report", "-q", "-j", "1"])  # repairs 003/004, caches the clean ones
    first = len(counted)
    main(["fix", str(corpus), "--no-report", "-q", "-j", "1"])
    again = counted[first:]
    assert len(again) < 5
    assert not any("000_" in path for path in again)


def test_a_corrupt_cache_entry_is_ignored(corpus, counted, capsys):
    _, first = check(capsys, str(corpus))
    for entry in (corpus / ".repair_cache").rglob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    _, second = check(capsys, str(corpus))
    assert len(counted) == 10
    assert first["files"] == second["files"]


def test_config_fingerprint_ignores_where_the_config_came_from_but_not_its_content():
    a = Config(script="simplified", source="/a/repair.toml")
    b = Config(script="simplified", source="/b/repair.toml")
    assert cache.config_fingerprint(a) == cache.config_fingerprint(b)
    assert cache.config_fingerprint(a) != cache.config_fingerprint(Config(script="traditional"))
    assert cache.config_fingerprint(a) != cache.config_fingerprint(Config(options={"A101": {"x": 1}}, script="simplified"))
    assert cache.config_fingerprint(a, "evidence-1") != cache.config_fingerprint(a, "evidence-2")
