"""Files: finding targets, decoding, repairing text and JSONL, and writing results atomically.

Everything here works on one file at a time and returns a :class:`FileResult`, so the same code
serves the CLI, parallel workers and library users. Nothing is written over a file that could not be
fully decoded, and every write goes through a temporary file in the same directory.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repair.config import Config
from repair.decoding import decode_bytes
from repair.engine import LineIndex, fix_text, scan_text
from repair.records import Change

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


@dataclass
class FileResult:
    path: str
    kind: str = "text"  # text | jsonl
    info: dict[str, Any] = field(default_factory=dict)
    changes: list[Located] = field(default_factory=list)
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
    def applied(self) -> list[Located]:
        return [c for c in self.changes if c.change.applied]

    @property
    def findings(self) -> list[Located]:
        return [c for c in self.changes if not c.change.applied]

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
        if path.is_symlink() and not path.exists():
            errors.append(f"{raw}: broken symbolic link")
        elif path.is_dir():
            files.extend(_walk(path, errors))
        elif path.is_file():
            files.append(path)
        elif not path.exists():
            errors.append(f"{raw}: no such file or directory")
        else:
            errors.append(f"{raw}: not a regular file")
    return files, errors


def _walk(root: Path, errors: list[str]) -> list[Path]:
    found = []

    def onerror(exc: OSError) -> None:
        errors.append(f"{exc.filename}: cannot read directory: {exc.strerror}")

    for folder, dirs, names in os.walk(root, onerror=onerror):  # does not follow links: no loops
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES):
                path = Path(folder, name)
                if path.is_symlink() and not path.exists():
                    errors.append(f"{path}: broken symbolic link")
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
    index = LineIndex(decoded.text)
    result.changes = [_locate(c, index) for c in decoded.changes + repaired.changes]
    result.set_texts(decoded.text, repaired.text)
    return result


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
    out_lines = []
    problems = []
    run = fix_text if apply else scan_text
    # Split on "\n" only: a JSON string may hold U+2028 and other characters str.splitlines breaks on.
    pieces = decoded.text.split("\n")
    for number, piece in enumerate(pieces, 1):
        line = piece + "\n" if number < len(pieces) else piece
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
        index = LineIndex(value)
        result.changes.extend(_locate(c, index, number) for c in repaired.changes)
        if apply and repaired.text != value:
            record[config.field] = repaired.text
            out_lines[-1] = json.dumps(record, ensure_ascii=False) + ending
    result.set_texts(decoded.text, "".join(out_lines))
    if problems:
        result.error = "; ".join(problems)
    if decoded.changes:
        index = LineIndex(decoded.text)
        result.changes[:0] = [_locate(c, index) for c in decoded.changes]
    return result


def kind_of(path: Path) -> str:
    return "jsonl" if path.suffix in JSONL_SUFFIXES else "text"


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise InputError(f"{path}: permission denied") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file whole:
    temporary file in the same directory, fsync, rename. The file mode is kept."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".repair-tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        raise
    _fsync_directory(directory)


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
