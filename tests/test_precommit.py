"""The real pre-commit framework runs this repository's hooks: check fails, fix repairs, check passes."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, seed_text

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def try_repo(repo: Path, hook: str) -> subprocess.CompletedProcess:
    pre_commit = Path(sys.executable).with_name("pre-commit")
    return subprocess.run(
        [str(pre_commit), "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
        cwd=repo, capture_output=True, text=True, timeout=900,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_check_fails_fix_repairs_check_passes(tmp_path):
    repo = tmp_path / "corpus"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.org")
    git(repo, "config", "user.name", "test")
    clean = seed_text("000")
    damaged = repo / "doc.txt"
    damaged.write_bytes(clean.encode("gbk"))  # a GBK file in a UTF-8 corpus
    (repo / "clean.txt").write_text(clean, encoding="utf-8")
    git(repo, "add", ".")

    first = try_repo(repo, "repair-check")
    assert first.returncode != 0, first.stdout + first.stderr
    assert "doc.txt" in first.stdout and "E102" in first.stdout

    fixed = try_repo(repo, "repair-fix")
    assert fixed.returncode != 0, fixed.stdout + fixed.stderr  # it changed a file
    assert damaged.read_bytes() == clean.encode("utf-8")
    assert (repo / "clean.txt").read_text(encoding="utf-8") == clean

    git(repo, "add", ".")
    again = try_repo(repo, "repair-check")
    assert again.returncode == 0, again.stdout + again.stderr
