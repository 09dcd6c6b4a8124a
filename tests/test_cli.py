"""The `repair` command end to end, through `repair.cli.main` (and a real subprocess once)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repair.cli import main
from tests.conftest import SEEDS, seed_paths


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seed_copy(tmp_path):
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


def test_check_seeds_names_003_and_004_only(capsys, seed_copy):
    code, out, _ = run(capsys, "check", str(seed_copy), "--format", "concise", "--no-report")
    assert code == 1
    flagged = {Path(line.split(":", 1)[0]).name[:3] for line in out.splitlines() if line.strip()}
    assert flagged == {"003", "004"}


def test_fix_seeds_to_output_dir(capsys, seed_copy, tmp_path):
    out_dir = tmp_path / "out"
    run(capsys, "fix", str(seed_copy), "--output", str(out_dir), "--no-report")
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == sorted(p.name for p in seed_paths())
    for path in seed_paths():
        data = (out_dir / path.name).read_bytes()
        data.decode("utf-8")
        if path.name[:3] in ("000", "001", "002"):
            assert data == path.read_bytes()
        else:
            assert data != path.read_bytes()
    # --output leaves the sources alone
    assert all((seed_copy / p.name).read_bytes() == p.read_bytes() for p in seed_paths())


def test_fix_in_place_converts_gbk_to_utf8(capsys, tmp_path):
    text = seed_paths()[0].read_text(encoding="utf-8")
    target = tmp_path / "doc.txt"
    target.write_bytes(text.encode("gbk"))
    code, out, _ = run(capsys, "fix", str(target), "--no-report", "--format", "concise")
    assert code == 0
    assert target.read_bytes() == text.encode("utf-8")
    assert "E102" in out


def test_diff_prints_and_writes_nothing(capsys, tmp_path):
    target = tmp_path / "doc.txt"
    target.write_bytes("中文\n".encode("gbk"))
    before = target.read_bytes()
    code, out, _ = run(capsys, "fix", str(target), "--diff", "--no-report")
    assert target.read_bytes() == before
    assert code == 0


def test_stdout_mode_prints_the_repaired_text(capsys, tmp_path):
    target = tmp_path / "doc.txt"
    target.write_bytes("中文測試\n".encode("big5"))
    code, out, _ = run(capsys, "fix", str(target), "--stdout", "--no-report", "--format", "concise")
    assert out == "中文測試\n"
    assert target.read_bytes() == "中文測試\n".encode("big5")


def test_jsonl_round_trip_keeps_fields_key_order_and_line_order(capsys, tmp_path):
    gbk_as_latin1 = "中文".encode("gbk").decode("latin-1")
    records = [
        {"id": 3, "text": "乾淨的一行", "meta": {"b": 1, "a": [1, 2]}},
        {"zeta": True, "text": gbk_as_latin1 + "可修復", "id": 1},
        {"id": 2, "url": "https://example.org/?q=中文", "text": "clean"},
    ]
    source = tmp_path / "data.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    before = source.read_text(encoding="utf-8").splitlines()
    out_dir = tmp_path / "out"
    run(capsys, "fix", str(source), "--output", str(out_dir), "--no-report")
    after = (out_dir / "data.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(after) == 3
    assert after[0] == before[0] and after[2] == before[2]  # untouched lines are byte-identical
    repaired = json.loads(after[1])
    assert list(repaired) == ["zeta", "text", "id"]
    assert repaired["zeta"] is True and repaired["id"] == 1


def test_jsonl_custom_field(capsys, tmp_path):
    source = tmp_path / "data.jsonl"
    source.write_text(json.dumps({"content": "ÖÐÎÄ", "text": "ÖÐÎÄ"}) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", str(source), "--field", "content", "--format", "jsonl", "--no-report")
    found = [json.loads(line) for line in out.splitlines()]
    assert found and all(f["record"] == 1 for f in found)


def test_reports_are_written_as_json_and_html(capsys, seed_copy, tmp_path):
    reports = tmp_path / "reports"
    run(capsys, "check", str(seed_copy), "--report", str(reports))
    (folder,) = reports.iterdir()
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["summary"]["files"] == 5
    assert {Path(f["path"]).name[:3] for f in data["files"] if f["changes"]} == {"003", "004"}
    assert "<html" in (folder / "report.html").read_text(encoding="utf-8").lower()


def test_rules_lists_every_family_and_rule_explains_one(capsys):
    code, out, _ = run(capsys, "rules")
    assert code == 0
    for family in ("decoding", "mojibake", "annotation residue", "boilerplate", "script"):
        assert family in out
    code, out, _ = run(capsys, "rule", "E104")
    assert code == 0 and "undecodable-bytes" in out and "Example" in out
    code, out, _ = run(capsys, "rule", "M101")
    lines = out.splitlines()
    body = lines[lines.index("GBK text decoded one byte out of step: each character was read from the second byte of one"):]
    assert not body[1].startswith(" "), "the docstring's indentation is removed, not only its first line's"
    code, _, err = run(capsys, "rule", "X999")
    assert code == 2 and "X999" in err


def test_version_names_the_installed_package(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"repair {version('corpus-repair')}"


def test_missing_path_is_an_error_naming_it(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path / "nope.txt"), "--no-report", "--format", "concise")
    assert code == 2
    assert "nope.txt" in out + err


def test_stdin_to_stdout():
    proc = subprocess.run(
        [sys.executable, "-m", "repair.cli", "fix", "-", "--no-report", "--format", "concise"],
        input="中文\n".encode("gbk"), capture_output=True, check=False,
    )
    assert proc.stdout == "中文\n".encode("utf-8")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_corpus_level_repeated_lines_are_removed_when_selected(capsys, tmp_path, jobs):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = seed_paths()[0].read_text(encoding="utf-8").splitlines()
    footer = "本站所有文章仅供学习交流使用请勿转载\n"
    for i in range(12):
        (corpus / f"doc{i:02}.txt").write_text("\n".join(body[i : i + 3]) + "\n" + footer, encoding="utf-8")
    out_dir, reports = tmp_path / "out", tmp_path / "reports"
    run(capsys, "fix", str(corpus), "--output", str(out_dir), "--report", str(reports), "--jobs", jobs, "--extend-select", "B201")
    for i in range(12):
        assert (out_dir / f"doc{i:02}.txt").read_text(encoding="utf-8") == "\n".join(body[i : i + 3]) + "\n"
    (folder,) = reports.iterdir()
    repeated = json.loads((folder / "report.json").read_text(encoding="utf-8"))["repeated_lines"]
    assert repeated[0] == {"line": footer.strip(), "files": 12}
    # Off by default: the same run without --extend-select keeps the line.
    plain = tmp_path / "plain"
    run(capsys, "fix", str(corpus), "--output", str(plain), "--no-report")
    assert (plain / "doc00.txt").read_text(encoding="utf-8").endswith(footer)
