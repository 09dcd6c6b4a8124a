"""--jobs: a process pool gives the same reports, in the same order, and the same files as one
process (repair/cli.py _execute)."""
import json
import concurrent.futures
import shutil
from concurrent.futures import ProcessPoolExecutor

import pytest

from repair import cli
from repair.cli import main
from tests.conftest import SEEDS, seed_paths


# Cheap rules that still change the seeds; rule quality is tested elsewhere.
CHEAP = ["--select", "A,P"]


@pytest.fixture
def corpus(tmp_path):
    """Seeds copied into several folders with files of very different sizes."""
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(SEEDS / "repair.toml", root)
    for folder in ("a", "b/c", "d"):
        for copy, seed in enumerate(seed_paths()[2:]):  # one clean, two damaged seeds
            target = root / folder / f"{copy}_{seed.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            text = seed.read_text(encoding="utf-8")
            target.write_text(text * (1 + copy if folder == "d" else 1), encoding="utf-8")
    return root


@pytest.fixture
def pools(monkeypatch):
    """Run pools even on a small corpus, and record the pools started."""
    started = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, max_workers, **kwargs):
            started.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(cli, "PARALLEL_MIN_BYTES", 0)
    # cli imports the pool lazily, from concurrent.futures, at run time.
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Recording)
    return started


def report(capsys, *argv):
    code = main([*argv, *CHEAP, "--format", "json", "--no-report", "--no-cache"])
    data = json.loads(capsys.readouterr().out)
    return code, data["summary"], data["files"]


def test_check_with_two_jobs_reports_exactly_what_one_job_reports(corpus, pools, capsys):
    one = report(capsys, "check", str(corpus), "--jobs", "1")
    two = report(capsys, "check", str(corpus), "--jobs", "2")
    assert pools == [2]
    assert one == two
    assert [f["path"] for f in two[2]] == [str(p) for p in cli.discover([str(corpus)])[0]]
    assert any(f["changes"] for f in two[2])


def test_fix_with_two_jobs_writes_the_same_files_as_one_job(corpus, pools, tmp_path, capsys):
    main(["fix", str(corpus), "--output", str(tmp_path / "one"), "--jobs", "1", *CHEAP, "--no-report", "-q", "--no-cache"])
    main(["fix", str(corpus), "--output", str(tmp_path / "two"), "--jobs", "2", *CHEAP, "--no-report", "-q", "--no-cache"])
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*.txt")}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*.txt")}
    assert len(one) == 9 and one == two
    assert one != {p.relative_to(corpus): p.read_bytes() for p in corpus.rglob("*.txt")}


def test_a_small_corpus_stays_in_one_process(corpus, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda max_workers, **kw: started.append(max_workers))
    report(capsys, "check", str(seed_paths()[0]), str(seed_paths()[1]), "--jobs", "2")
    assert started == []


def test_jobs_must_be_positive(capsys):
    assert main(["check", str(SEEDS), "--jobs", "0", "--no-report"]) == 2
    assert "--jobs" in capsys.readouterr().err
