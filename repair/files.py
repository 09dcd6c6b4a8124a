"""Files: finding targets, decoding, repairing text and JSONL, and writing results atomically.

Everything here works on one file at a time and returns a :class:`FileResult`, so the same code
serves the CLI, parallel workers and library users. Nothing is written over a file that could not be
fully decoded, and every write goes through a temporary file in the same directory.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repair.config import Config
from repair.decoding import decode_bytes
from repair.engine import LineIndex, fix_text, scan_text
from repair.records import Change

if TYPE_CHECKING:
    from repair.spool import RecordSpool

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl",)
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules", ".repair_cache"}


class InputError(OSError):
    """A target that cannot be processed: the message names the file and the problem."""


@dataclass
class Located:
    """A change with its place in the file: 1-based line and column (JSONL: the record's line)."""

    change: Change
    line: int
    column: int
    record: int | None = None  # JSONL line number

    def to_dict(self) -> dict[str, Any]:
        data = self.change.to_dict()
        data.update(line=self.line, column=self.column)
        if self.record is not None:
            data["record"] = self.record
        return data


class RecordView:
    """The applied records, or the rest, of a file's records, read lazily: a streamed file's
    records may be spooled to disk (repair.spool) and are never all copied into a list."""

    def __init__(self, changes: Iterable[Located], applied: bool) -> None:
        self._changes, self._applied = changes, applied

    def __iter__(self) -> Iterator[Located]:
        return (c for c in self._changes if c.change.applied == self._applied)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


@dataclass
class FileResult:
    path: str
    kind: str = "text"  # text | jsonl
    info: dict[str, Any] = field(default_factory=dict)
    changes: list[Located] | RecordSpool = field(default_factory=list)  # a spool when streamed
    input_text: str = ""
    output_text: str = ""
    input_bytes: int = 0
    error: str | None = None  # the run could not complete for this file
    skipped: str | None = None  # deliberately left alone (binary)
    warnings: list[str] = field(default_factory=list)
    complete: bool = True  # every byte decoded
    applies: bool = True  # fix run; False: a check, whose "applied" records are what fix would apply
    lines_removed: int = 0

    @property
    def applied(self) -> RecordView:
        return RecordView(self.changes, applied=True)

    @property
    def findings(self) -> RecordView:
        return RecordView(self.changes, applied=False)

    @property
    def modified(self) -> bool:
        """The bytes written would differ from the bytes read."""
        return self.error is None and self.skipped is None and bool(self.applied)

    def set_texts(self, input_text: str, output_text: str) -> None:
        self.input_text, self.output_text = input_text, output_text
        self.lines_removed = max(0, input_text.count("\n") - output_text.count("\n"))


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Expand directories to their .txt/.md/.jsonl files (sorted); return (files, errors)."""
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        if (problem := _link_problem(path)) is not None:
            errors.append(f"{raw}: {problem}")
        elif path.is_dir():
            files.extend(_walk(path, errors))
        elif path.is_file():
            files.append(path)
        elif not path.exists():
            errors.append(f"{raw}: no such file or directory")
        else:
            errors.append(f"{raw}: not a regular file")
    return files, errors


def _link_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be followed (broken, or a loop), or None."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as exc:
        return "symbolic link loop" if exc.errno == errno.ELOOP else "broken symbolic link"
    return None


def _walk(root: Path, errors: list[str]) -> list[Path]:
    found = []

    def onerror(exc: OSError) -> None:
        errors.append(f"{exc.filename}: cannot read directory: {exc.strerror}")

    for folder, dirs, names in os.walk(root, onerror=onerror):  # does not follow links: no loops
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES):
                path = Path(folder, name)
                if (problem := _link_problem(path)) is not None:
                    errors.append(f"{path}: {problem}")
                else:
                    found.append(path)
    return found


def process_bytes(data: bytes, config: Config, *, path: str, kind: str = "text", apply: bool = True) -> FileResult:
    """Decode and repair (or, with apply=False, only scan) one file's content."""
    if kind == "jsonl":
        return _process_jsonl(data, config, path, apply)
    decoded = decode_bytes(data, path=path)
    result = FileResult(path, kind, dict(decoded.info), input_bytes=len(data), complete=decoded.complete, applies=apply)
    if decoded.binary:
        result.skipped = "binary file (NUL or control bytes); left unchanged"
        return result
    run = fix_text if apply else scan_text
    repaired = run(decoded.text, config, path=path, info=decoded.info)
    result.info.update(repaired.info)
    result.changes = locate_all(decoded.changes + repaired.changes, decoded.text)
    result.set_texts(decoded.text, repaired.text)
    return result


def locate_all(changes: list[Change], text: str, record: int | None = None) -> list[Located]:
    """Place changes by line and column; the line index is built only when there is something to place."""
    if not changes:
        return []
    index = LineIndex(text)
    return [_locate(c, index, record) for c in changes]


def _locate(change: Change, index: LineIndex, record: int | None = None) -> Located:
    line, column = index.line_col(change.start)
    return Located(change, record or line, column, record)


def _process_jsonl(data: bytes, config: Config, path: str, apply: bool) -> FileResult:
    """Repair the string field `config.field` of every record; keep other fields, key order and
    line order. A line that is not a JSON object is kept unchanged and named in an error."""
    result = FileResult(path, "jsonl", {"encoding": "utf-8"}, input_bytes=len(data), applies=apply)
    decoded = decode_bytes(data, path=path)
    if decoded.binary:
        result.skipped = "binary file (NUL or control bytes); left unchanged"
        return result
    result.info = dict(decoded.info)
    result.complete = decoded.complete
    output, result.changes, problems = repair_jsonl_text(decoded.text, config, path, apply)
    result.set_texts(decoded.text, output)
    if problems:
        result.error = "; ".join(problems)
    if decoded.changes:
        result.changes[:0] = locate_all(decoded.changes, decoded.text)
    return result


def repair_jsonl_text(
    text: str, config: Config, path: str, apply: bool, first_line: int = 1
) -> tuple[str, list[Located], list[str]]:
    """Repair the records of decoded JSONL lines numbered from `first_line`: (output, changes, problems)."""
    out_lines = []
    problems = []
    changes: list[Located] = []
    run = fix_text if apply else scan_text
    # Split on "\n" only: a JSON string may hold U+2028 and other characters str.splitlines breaks on.
    pieces = text.split("\n")
    for number, piece in enumerate(pieces, first_line):
        line = piece + "\n" if number < first_line + len(pieces) - 1 else piece
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        out_lines.append(line)  # replaced below if the record is repaired
        if not body.strip():
            continue
        try:
            record = json.loads(body)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg}); kept unchanged")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number}: not a JSON object; kept unchanged")
            continue
        value = record.get(config.field)
        if not isinstance(value, str):
            continue
        repaired = run(value, config, path=path)
        changes.extend(locate_all(repaired.changes, value, number))
        if apply and repaired.text != value:
            record[config.field] = repaired.text
            out_lines[-1] = json.dumps(record, ensure_ascii=False) + ending
    return "".join(out_lines), changes, problems


def kind_of(path: Path) -> str:
    return "jsonl" if path.suffix in JSONL_SUFFIXES else "text"


def read_file(path: Path) -> bytes:
    """The bytes of a regular file. A FIFO or device is refused, not read: opening is non-blocking
    and the type is checked on the open descriptor, so a run never hangs on a named pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError as exc:
        raise InputError(f"{path}: permission denied") from exc
    except OSError as exc:
        why = "symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise InputError(f"{path}: cannot read: {why}") from exc
    with os.fdopen(fd, "rb") as fh:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise InputError(f"{path}: is a directory")
        if not stat.S_ISREG(kind):
            raise InputError(f"{path}: not a regular file (FIFO, socket or device); not read")
        try:
            return fh.read()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def make_parent(path: Path) -> None:
    """Create the folders an output file goes in; a failure names the folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path.parent}: cannot create output directory: {exc.strerror or exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file whole:
    temporary file in the same directory, fsync, rename. A symbolic link is written through (the
    link stays, its target gets the content); the mode and, where allowed, the owner are kept; a
    new file gets the mode the umask gives, as any new file would."""
    target = Path(os.path.realpath(path))
    directory = target.parent
    try:
        old = target.stat() if target.exists() else None
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".repair-tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if old is not None:  # a new file replaces nothing: a power cut cannot cost old data
                os.fsync(fh.fileno())
        _copy_owner_and_mode(tmp, old)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise
    # No fsync of the directory: after a power cut the rename may be undone, which leaves the old
    # file whole, and syncing the directory per file costs about 3 ms, most of a small file's run.


def _copy_owner_and_mode(tmp: str, old: os.stat_result | None) -> None:
    if old is None:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
        return
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.chown(tmp, old.st_uid, old.st_gid)
        except PermissionError:
            pass  # only root may give a file away; the new content matters more than the owner
    os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which clears set-id bits


@lru_cache(maxsize=1)
def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not sync directories; the rename itself is atomic
    finally:
        os.close(fd)
