"""Writes never lose data: atomic replacement, mode and owner kept, links written through, faults
injected at every step of a write, and a real run killed with SIGKILL part-way."""
import codecs
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repair.files import InputError, write_atomic
from tests.conftest import ROOT, seed_paths

OLD = "舊的內容\n".encode("utf-8") * 100
NEW = "新的内容\n".encode("utf-8") * 50


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".repair-tmp"))


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755, 0o444])
def test_replaces_content_and_keeps_mode(tmp_path, mode):
    target = tmp_path / "doc.txt"
    target.write_bytes(OLD)
    target.chmod(mode)
    write_atomic(target, NEW)
    assert target.read_bytes() == NEW
    assert target.stat().st_mode & 0o7777 == mode
    assert _leftovers(tmp_path) == []


def test_new_file_gets_the_umask_mode_not_the_private_temporary_mode(tmp_path):
    old_mask = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.txt", NEW)
    finally:
        os.umask(old_mask)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o640


def test_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(OLD)
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    write_atomic(link, NEW)
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert real.read_bytes() == NEW
    assert real.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can own a file on another user's behalf")
def test_owner_is_kept_when_root_rewrites_another_users_file(tmp_path):
    target = tmp_path / "doc.txt"
    target.write_bytes(OLD)
    os.chown(target, 65534, 65534)
    write_atomic(target, NEW)
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


class _FailingFile:
    """A file object whose write fails half-way, as on a full disk."""

    def __init__(self, fh):
        self._fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def write(self, data):
        self._fh.write(data[: len(data) // 2])
        _disk_full()

    def __getattr__(self, name):
        return getattr(self._fh, name)


@pytest.mark.parametrize("step", ["mkstemp", "write", "fsync", "chmod", "replace"])
def test_a_failure_at_any_step_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch, step):
    target = tmp_path / "doc.txt"
    target.write_bytes(OLD)
    if step == "mkstemp":
        monkeypatch.setattr("tempfile.mkstemp", _disk_full)
    elif step == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FailingFile(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, step, _disk_full)
    with pytest.raises(InputError, match="doc.txt: cannot write: No space left"):
        write_atomic(target, NEW)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path) == []


def test_an_interrupt_during_the_write_leaves_the_old_file_and_propagates(tmp_path, monkeypatch):
    target = tmp_path / "doc.txt"
    target.write_bytes(OLD)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, NEW)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path) == []


# --- a real run killed part-way ------------------------------------------------------------------

SEED_TEXT = "".join(p.read_text(encoding="utf-8") for p in seed_paths()[:3])  # the clean seeds
BIG_BYTES = 17 << 20  # above the streaming threshold, so the block-by-block writer is killed too


def _build(root: Path) -> dict[Path, bytes]:
    """Files that every fix rewrites (a UTF-8 BOM to drop): two big ones first, then many small."""
    body = SEED_TEXT.encode("utf-8")
    files = {root / f"big{i}.txt": codecs.BOM_UTF8 + body * (BIG_BYTES // len(body)) for i in range(2)}
    files.update({root / f"mid{i}.txt": codecs.BOM_UTF8 + body * 400 for i in range(3)})
    files.update({
        root / f"d{i % 8}" / f"f{i:04d}.txt": codecs.BOM_UTF8 + SEED_TEXT[: 100 + i % 700].encode("utf-8")
        for i in range(600)
    })
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {path.relative_to(root): data for path, data in files.items()}


def _fix_command(root: Path) -> list[str]:
    # Only the decoding rules: this is about writing, and it keeps the run short enough to repeat.
    return [sys.executable, "-m", "repair.cli", "fix", str(root), "--select", "E", "--no-report", "--no-cache",
            "-j", "2", "-q"]


def _contents(root: Path, names) -> dict[Path, bytes]:
    return {name: (root / name).read_bytes() for name in names}


def _started_writing(root: Path, old: dict[Path, bytes]) -> bool:
    if any(_leftovers(root)):
        return True
    return any((root / name).stat().st_size != len(data) for name, data in old.items() if name.name.startswith("big"))


def test_sigkill_mid_run_leaves_every_file_wholly_old_or_wholly_new(tmp_path):
    reference = tmp_path / "reference"
    old = _build(reference)
    started = time.monotonic()
    subprocess.run(_fix_command(reference), cwd=ROOT, check=True, capture_output=True)
    duration = time.monotonic() - started
    new = _contents(reference, old)
    assert all(new[name] != old[name] for name in old), "every file must be one the fix rewrites"

    interrupted = 0
    for round_number, fraction in enumerate((0.0, 0.4, 0.7)):
        work = tmp_path / f"run{round_number}"
        _build(work)
        proc = subprocess.Popen(_fix_command(work), cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and not _started_writing(work, old) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(fraction * duration)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
        proc.wait()

        after = _contents(work, old)
        half_written = [str(name) for name in old if after[name] not in (old[name], new[name])]
        assert half_written == [], f"round {round_number}: files neither old nor new: {half_written[:5]}"
        done = sum(after[name] == new[name] for name in old)
        interrupted += 0 < done < len(old)

        # Leftover temporaries are hidden, never taken for input, and a second run completes the job.
        finished = subprocess.run(_fix_command(work), cwd=ROOT, capture_output=True, text=True)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert _contents(work, old) == new
        strays = {p.relative_to(work) for p in work.rglob("*") if p.is_file()} - set(old)
        assert all(p.name.startswith(".") and p.name.endswith(".repair-tmp") for p in strays), strays
    assert interrupted, "no round was killed part-way; the test proved nothing"
