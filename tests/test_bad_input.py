"""Bad input never crashes a run, loses a file or half-writes one. Each case gets a message naming
the file, exit code 2 when the run could not complete, and every file stays as it was."""
import codecs
import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from repair.cli import main
from tests.conftest import ROOT, seed_text

CLEAN = seed_text("000")
FIXABLE = codecs.BOM_UTF8 + "中文正文。\n".encode("utf-8")  # every fix rewrites it (drops the BOM)


def run(capsys, *argv):
    code = main([*argv, "--no-report", "--no-cache", "--format", "concise", "-j", "1"])
    out, err = capsys.readouterr()
    return code, out + err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_binary_file_is_skipped_and_never_rewritten(capsys, tmp_path):
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (tmp_path / "doc.txt").write_bytes(FIXABLE)
    before = binary.read_bytes()
    code, out = run(capsys, "fix", str(tmp_path))
    assert code == 0  # skipping is deliberate: the run completed
    assert f"{binary}: skipped: binary" in out
    assert binary.read_bytes() == before
    assert (tmp_path / "doc.txt").read_bytes() == FIXABLE[3:]
    code, out = run(capsys, "fix", str(binary), "--output", str(tmp_path / "out"))
    assert (tmp_path / "out" / "image.txt").read_bytes() == before  # --output mirrors it unchanged


@pytest.mark.parametrize("damage", ["inserted 0xff", "deleted byte"])
def test_invalid_bytes_in_a_utf8_file_are_flagged_and_the_file_is_not_overwritten(capsys, tmp_path, damage):
    lines = CLEAN.splitlines(keepends=True)
    data = CLEAN.encode("utf-8")
    offset = len("".join(lines[:3]).encode("utf-8")) + 7  # inside a character on line 4
    data = data[:offset] + b"\xff" + data[offset:] if damage == "inserted 0xff" else data[:offset] + data[offset + 1:]
    target = tmp_path / "doc.txt"
    target.write_bytes(data)

    code, out = run(capsys, "check", str(target))
    assert code == 1 and f"{target}:4:" in out and "E104" in out
    code, out = run(capsys, "fix", str(target))
    assert code == 1 and "E104" in out  # flagged; nothing to apply, so nothing written
    assert target.read_bytes() == data
    target.write_bytes(codecs.BOM_UTF8 + data)  # now a fix would rewrite the file
    code, out = run(capsys, "fix", str(target))
    assert code == 2 and f"{target}: error: not fully decodable" in out
    assert target.read_bytes() == codecs.BOM_UTF8 + data
    target.write_bytes(data)

    # The bad byte costs at most the one character it sat in: UTF-8 resynchronises after it,
    # the line is not decoded as a legacy codec.
    main(["fix", str(target), "--stdout", "--select", "E", "--no-report", "--no-cache", "-j", "1"])
    text = capsys.readouterr().out
    damaged = next(i for i, (a, b) in enumerate(zip(text, CLEAN)) if a != b)
    assert 1 <= text.count("\ufffd") <= 4  # one per byte of the broken character
    assert text.replace("\ufffd", "") == CLEAN[:damaged] + CLEAN[damaged + 1:]


@pytest.mark.parametrize("content", [b"", b" \n\t\n\xe3\x80\x80\n  \n", b"\n\n\n", b"\r\n"], ids=["empty", "whitespace", "newlines", "crlf"])
def test_empty_and_whitespace_only_files_stay_as_they_are(capsys, tmp_path, content):
    target = tmp_path / "doc.txt"
    target.write_bytes(content)
    inode = target.stat().st_ino
    code, out = run(capsys, "fix", str(target))
    assert code == 0, out
    assert target.read_bytes() == content and target.stat().st_ino == inode  # not even rewritten


def _peak_rss_of(command: list[str]) -> tuple[subprocess.CompletedProcess, int]:
    """Run `command` in a fresh process and measure its peak resident memory (bytes)."""
    probe = (
        "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "print(p.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.stdout.write(p.stdout + p.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, cwd=ROOT, check=True)
    code, kilobytes, output = proc.stdout.split("\n", 2)
    return subprocess.CompletedProcess(command, int(code), output, ""), int(kilobytes) * 1024


def test_a_200_mb_single_line_is_repaired_in_bounded_memory(tmp_path):
    """No line break in 200 MB: the file is read, decoded, repaired by the default rules and written
    in blocks cut at bytes that cannot be inside a character."""
    body = CLEAN.replace("\n", "").encode("utf-8")
    data = body * ((200 << 20) // len(body))
    target = tmp_path / "line.txt"
    target.write_bytes(codecs.BOM_UTF8 + data)
    command = [sys.executable, "-m", "repair.cli", "fix", str(target), "--no-report", "--no-cache",
               "--format", "concise"]
    proc, peak = _peak_rss_of(command)
    assert proc.returncode == 0, proc.stdout
    assert "E101" in proc.stdout
    with open(target, "rb") as fh:  # compare in pieces: keep this test's own memory small too
        for start in range(0, len(data), 16 << 20):
            assert fh.read(16 << 20) == data[start:start + (16 << 20)]
        assert fh.read(1) == b""
    del data
    assert peak < 200 << 20, f"peak memory {peak >> 20} MB for a 200 MB file"


# --- files that cannot be read or written ---------------------------------------------------------

def _time_out(signum, frame):
    raise TimeoutError("the run blocked on a named pipe")


def test_a_fifo_is_refused_not_read(capsys, tmp_path):
    """Reading a named pipe would block the run for ever; as root, chmod cannot make a file
    unreadable, and a FIFO is an input that cannot be read on any machine."""
    previous = signal.signal(signal.SIGALRM, _time_out)
    signal.alarm(30)  # a regression must fail, not hang the suite
    try:
        _check_fifo(capsys, tmp_path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_fifo(capsys, tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "doc.txt").write_bytes(FIXABLE)
    code, out = run(capsys, "fix", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'pipe.txt'}: not a regular file" in out
    assert (tmp_path / "doc.txt").read_bytes() == FIXABLE[3:]  # the rest of the run completed
    code, out = run(capsys, "check", str(tmp_path / "pipe.txt"))
    assert code == 2 and "pipe.txt: not a regular file" in out


def test_a_read_error_is_reported_and_the_run_goes_on(capsys, tmp_path, monkeypatch):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(FIXABLE)
    real_open = os.open

    def failing_open(path, flags, *args, **kwargs):
        if str(path).endswith("a.txt") and not flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(5, "Input/output error", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    code, out = run(capsys, "fix", str(tmp_path))
    monkeypatch.undo()
    assert code == 2 and f"{tmp_path / 'a.txt'}: cannot read: Input/output error" in out
    assert (tmp_path / "a.txt").read_bytes() == FIXABLE
    assert (tmp_path / "b.txt").read_bytes() == FIXABLE[3:]


def _without_root_override():
    """subprocess keyword arguments under which file permissions bind: as root, the child drops
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its bounding set before exec (prctl), so
    chmod 000 and a read-only directory mean for it what they mean for anyone. Skips the test
    where that is impossible."""
    if os.geteuid() != 0:
        return {}

    def drop():
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return {"preexec_fn": drop}


def _run_unprivileged(*argv) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "repair.cli", *argv, "--no-report", "--no-cache", "--format", "concise"]
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, **_without_root_override())
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's permission override here: {exc}")


def _require_permissions_bind(probe: Path) -> None:
    proc = _run_unprivileged("check", str(probe))
    if "permission denied" not in proc.stdout + proc.stderr:
        pytest.skip("file permissions do not bind for the test process here (root without CAP_SETPCAP?)")


def test_an_unreadable_file_is_named_and_left_alone(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(FIXABLE)
    (tmp_path / "doc.txt").write_bytes(FIXABLE)
    secret.chmod(0)
    try:
        _require_permissions_bind(secret)
        proc = _run_unprivileged("fix", str(tmp_path))
    finally:
        secret.chmod(0o644)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{secret}: permission denied" in proc.stdout
    assert secret.read_bytes() == FIXABLE
    assert (tmp_path / "doc.txt").read_bytes() == FIXABLE[3:]


def test_an_unwritable_file_is_named_and_left_whole(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "doc.txt"
    target.write_bytes(FIXABLE)
    folder.chmod(0o555)  # the file can be read, but no temporary file can be made beside it
    try:
        _require_permissions_bind_dir(folder)
        proc = _run_unprivileged("fix", str(target))
    finally:
        folder.chmod(0o755)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{target}: cannot write: Permission denied" in proc.stdout
    assert target.read_bytes() == FIXABLE
    assert sorted(p.name for p in folder.iterdir()) == ["doc.txt"]


def _require_permissions_bind_dir(folder: Path) -> None:
    probe = [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"]
    try:
        proc = subprocess.run(probe, capture_output=True, **_without_root_override())
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's permission override here: {exc}")
    if proc.returncode == 0:
        (folder / "probe").unlink()
        pytest.skip("file permissions do not bind for the test process here")


def test_an_output_folder_that_cannot_be_made_is_an_error_not_a_crash(capsys, tmp_path):
    source = tmp_path / "doc.txt"
    source.write_bytes(FIXABLE)
    (tmp_path / "taken").write_text("a file where the output folder should go")
    code, out = run(capsys, "fix", str(source), "--output", str(tmp_path / "taken" / "out"))
    assert code == 2 and "cannot create output directory" in out and "taken" in out
    assert source.read_bytes() == FIXABLE


def test_two_inputs_for_one_output_file_do_not_overwrite_each_other(capsys, tmp_path):
    for folder, word in (("one", "一"), ("two", "二")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "doc.txt").write_bytes(codecs.BOM_UTF8 + word.encode("utf-8"))
    out_dir = tmp_path / "out"
    code, out = run(capsys, "fix", str(tmp_path / "one" / "doc.txt"), str(tmp_path / "two" / "doc.txt"),
                    "--output", str(out_dir))
    assert code == 2
    assert f"{tmp_path / 'two' / 'doc.txt'}: not written: {tmp_path / 'one' / 'doc.txt'} also goes to" in out
    assert (out_dir / "doc.txt").read_text(encoding="utf-8") == "一"


# --- links, paths, many files -----------------------------------------------------------------------

def test_broken_links_and_link_loops_are_named_and_the_rest_is_repaired(capsys, tmp_path):
    (tmp_path / "doc.txt").write_bytes(FIXABLE)
    (tmp_path / "broken.txt").symlink_to("missing.txt")
    (tmp_path / "loop1.txt").symlink_to("loop2.txt")
    (tmp_path / "loop2.txt").symlink_to("loop1.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")  # a directory loop: links are not followed
    code, out = run(capsys, "fix", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'broken.txt'}: broken symbolic link" in out
    assert f"{tmp_path / 'loop1.txt'}: symbolic link loop" in out
    assert f"{tmp_path / 'loop2.txt'}: symbolic link loop" in out
    assert (tmp_path / "doc.txt").read_bytes() == FIXABLE[3:]
    code, out = run(capsys, "check", str(tmp_path / "loop1.txt"))
    assert code == 2 and "loop1.txt: symbolic link loop" in out


def test_a_path_that_does_not_exist_is_named_and_the_others_are_done(capsys, tmp_path):
    (tmp_path / "doc.txt").write_bytes(FIXABLE)
    code, out = run(capsys, "fix", str(tmp_path / "nope.txt"), str(tmp_path / "doc.txt"))
    assert code == 2 and f"{tmp_path / 'nope.txt'}: no such file or directory" in out
    assert (tmp_path / "doc.txt").read_bytes() == FIXABLE[3:]


def test_a_directory_of_10000_small_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [line for line in CLEAN.splitlines() if line.strip()]
    for i in range(10_000):
        (corpus / f"{i:05d}.txt").write_bytes((lines[i % len(lines)][:40] + "\n").encode("utf-8"))
    (corpus / "07777.txt").write_bytes(FIXABLE)
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "repair.cli", "check", str(corpus), "--report", str(reports), "--no-cache",
         "--format", "concise", "-j", "2"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if "E101" in line] == [str(corpus / "07777.txt")]
    (folder,) = reports.iterdir()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["files"] == 10_000
    assert [Path(f["path"]).name for f in report["files"] if f["changes"]] == ["07777.txt"]


# --- configuration and rule files -------------------------------------------------------------------

BAD_CONFIGS = {
    "unknown key": ("bogus = 1\n", "unknown key `bogus`"),
    "wrong type": ('unsafe-fixes = "yes"\n', "`unsafe-fixes` must be bool"),
    "wrong list type": ("select = [1]\n", "`select` must be a list of strings"),
    "bad script": ('script = "klingon"\n', "`script` must be one of"),
    "out of range": ("min-confidence = 2.0\n", "`min-confidence` must be between 0 and 1"),
    "invalid toml": ('script = "keep\n', "invalid TOML"),
    "unknown rule": ('select = ["Q9"]\n', "matches no rule"),
    "unknown option": ("[options.E101]\ncolour = 1\n", "has no option 'colour'"),
    "missing rule file": ('extend-rules = ["nope.toml"]\n', "nope.toml, which is not a file"),
}


@pytest.mark.parametrize("how", ["discovered", "--config"])
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_malformed_config_stops_the_run_and_names_file_and_key(capsys, tmp_path, case, how):
    text, message = BAD_CONFIGS[case]
    config = tmp_path / "repair.toml"
    config.write_text(text, encoding="utf-8")
    target = tmp_path / "doc.txt"
    target.write_bytes(FIXABLE)
    extra = ["--config", str(config)] if how == "--config" else []
    code, out = run(capsys, "fix", str(target), *extra)
    assert code == 2
    assert str(config) in out and message in out, out
    assert target.read_bytes() == FIXABLE


def test_a_wrong_type_in_pyproject_is_named_too(capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.repair]\nselect = "E"\n', encoding="utf-8")
    target = tmp_path / "doc.txt"
    target.write_bytes(FIXABLE)
    code, out = run(capsys, "fix", str(target))
    assert code == 2 and "pyproject.toml" in out and "`select` must be a list of strings" in out
    assert target.read_bytes() == FIXABLE


RULE_FILE = '''
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


def test_a_rule_file_with_a_bad_regex_stops_the_run_and_names_file_and_pattern(capsys, tmp_path, monkeypatch):
    rule_file = tmp_path / "site.toml"
    rule_file.write_text(RULE_FILE.replace("[:：]", "[:："), encoding="utf-8")
    (tmp_path / "repair.toml").write_text('extend-rules = ["site.toml"]\n', encoding="utf-8")
    target = tmp_path / "doc.txt"
    target.write_bytes(FIXABLE)
    code, out = run(capsys, "fix", str(target))
    assert code == 2
    assert str(rule_file) in out and "reprint-notice" in out and "bad regex" in out, out
    assert target.read_bytes() == FIXABLE
    monkeypatch.chdir(tmp_path)
    assert main(["rules"]) == 2  # listing the rules reads the same config
    assert str(rule_file) in capsys.readouterr().err


def test_a_good_rule_file_through_extend_rules_works_end_to_end(capsys, tmp_path):
    (tmp_path / "site.toml").write_text(RULE_FILE, encoding="utf-8")
    (tmp_path / "repair.toml").write_text('extend-rules = ["site.toml"]\n', encoding="utf-8")
    target = tmp_path / "doc.txt"
    body = "现在,我代表区人民政府向大会报告工作,请予审议。\n" * 6
    target.write_text(body + "本站声明：转载请注明出处\n", encoding="utf-8")
    code, out = run(capsys, "fix", str(target))
    assert code == 0, out
    assert target.read_text(encoding="utf-8") == body


# --- JSONL ----------------------------------------------------------------------------------------

def test_a_broken_jsonl_line_is_named_and_kept_byte_for_byte(capsys, tmp_path):
    mojibake = "中文".encode("gbk").decode("latin-1")
    lines = [
        json.dumps({"id": 1, "text": "乾淨的一行"}, ensure_ascii=False),
        '{"id": 2, "text": "斷了的一行"',  # no closing brace
        json.dumps({"id": 3, "text": mojibake}, ensure_ascii=False),
        "[1, 2, 3]",  # JSON, but not an object
    ]
    source = tmp_path / "data.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = source.read_bytes()
    code, out = run(capsys, "fix", str(source))
    assert code == 2
    assert f"{source}: error: line 2: not valid JSON" in out and "line 4: not a JSON object" in out
    assert source.read_bytes() == before  # a file with a broken record is not rewritten
    code, out = run(capsys, "fix", str(source), "--output", str(tmp_path / "out"))
    written = (tmp_path / "out" / "data.jsonl").read_bytes().decode("utf-8").split("\n")
    assert written[1] == lines[1] and written[3] == lines[3]


@pytest.mark.parametrize("how", ["same folder", "link to the input"])
def test_output_onto_the_input_itself_keeps_the_in_place_safeguard(capsys, tmp_path, how):
    """A file that could not be fully decoded is never overwritten with U+FFFD, even when --output
    names the input's own folder or holds a link to the input."""
    source = tmp_path / "doc.txt"
    data = codecs.BOM_UTF8 + "中文".encode("utf-8") + b"\xff" + "正文\n".encode("utf-8")
    source.write_bytes(data)
    out_dir = tmp_path
    if how == "link to the input":
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        (out_dir / "doc.txt").symlink_to(source)
    code, out = run(capsys, "fix", str(source), "--output", str(out_dir))
    assert code == 2 and "not fully decodable; not overwritten" in out
    assert source.read_bytes() == data
