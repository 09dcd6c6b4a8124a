"""Large files in bounded memory: decode, repair and write block by block.

A file above STREAM_MIN_BYTES is read in blocks of about BLOCK_BYTES cut at a blank line (text) or a
line end (JSONL), so a span repair never straddles a cut in ordinary text. The encoding chosen for
the first block is tried first on every later block; a block it cannot decode goes through the full
decoder. Rules see one block at a time with ``ctx.info["doc_start"]`` / ``ctx.info["doc_end"]``
telling whether the block holds the document's first / last line (header and footer rules act only
there). Records and line numbers are file-global, and the output goes to a temporary file that
replaces the target only when the whole file has been repaired.
"""
from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO

from repair.config import Config
from repair.decoding import Decoded, decode_bytes
from repair.engine import fix_text, scan_text
from repair.files import (
    FileResult, InputError, Located, _copy_owner_and_mode, _fsync_directory, locate_all, make_parent,
    repair_jsonl_text,
)
from repair.spool import RecordSpool

STREAM_MIN_BYTES = 16 << 20
BLOCK_BYTES = 1 << 20
DOC_FLAGS = ("doc_start", "doc_end")
# UTF-16/32 put NUL bytes around every newline; such files are decoded whole.
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def should_stream(path: Path, size: int) -> bool:
    if size < STREAM_MIN_BYTES:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False  # the whole-file path reports the error
    return not head.startswith(_WIDE_BOMS)


def iter_blocks(fh: IO[bytes], size: int = BLOCK_BYTES, paragraphs: bool = True) -> Iterator[tuple[bytes, bool]]:
    """Yield (block, is_last). Blocks end at a blank line (or, failing that, a line end) near `size`
    bytes; the last block is never a small remainder, so a footer keeps its preceding lines."""
    buffer = b""
    eof = False
    while True:
        while not eof and len(buffer) < 2 * size:
            chunk = fh.read(size)
            eof = not chunk
            buffer += chunk
        if eof and len(buffer) <= size * 3 // 2:
            if buffer:
                yield buffer, True
            return
        # At the end, leave at least half a block for the last one.
        limit = len(buffer) - size // 2 if eof else len(buffer)
        cut = _cut(buffer, size, paragraphs, limit)
        yield buffer[:cut], False
        buffer = buffer[cut:]


def _cut(buffer: bytes, size: int, paragraphs: bool, limit: int) -> int:
    low, high = size // 2, min(limit, size * 3 // 2)
    if paragraphs:
        blank = max(buffer.rfind(b"\n\n", low, high), buffer.rfind(b"\n\r\n", low, high))
        if blank >= 0:
            return buffer.index(b"\n", blank + 1) + 1
    line_end = buffer.rfind(b"\n", 0, high)
    if line_end >= 0:
        return line_end + 1
    # One line longer than the block: cut after a byte below 0x30, which is never part of a
    # multibyte character in UTF-8, GB18030 or Big5; failing that, at a UTF-8 character boundary.
    safe = max(buffer.rfind(bytes([b]), low, high) for b in range(0x30))
    if safe >= 0:
        return safe + 1
    cut = high
    while cut > 0 and buffer[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut or high


class BlockDecoder:
    """Decodes consecutive blocks of one file, reusing the first block's encoding where it works."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.codec: str | None = None
        self.first: Decoded | None = None

    def decode(self, block: bytes) -> Decoded:
        if self.first is None:
            self.first = decode_bytes(block, path=self.path)
            self.codec = _codec(self.first.encoding)
            return self.first
        if self.codec is not None:
            try:
                return Decoded(block.decode(self.codec), self.first.encoding, self.first.reason)
            except UnicodeDecodeError:
                pass
        return decode_bytes(block, path=self.path)


def _codec(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None  # "utf-8+gb18030" and the like: mixed files go through the full decoder per block


def process_file(
    path: Path, config: Config, *, display: str, kind: str, apply: bool, destination: Path | None
) -> FileResult:
    """Repair (or, with apply=False, scan) the file at `path` block by block and write the output to
    `destination` atomically. In place (destination == path) only a modified, fully decoded file is
    replaced; elsewhere a file that was skipped or had an error is copied unchanged."""
    result = FileResult(display, kind, applies=apply)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror or exc}") from exc
    in_place = destination == path
    with fh, _Output(destination) as out:
        _run_blocks(fh, result, config, display, kind, apply, out)
        usable = result.error is None and result.skipped is None
        out.commit = (result.modified and result.complete) if in_place else usable
    if destination is not None and not in_place and not usable:
        _copy(path, destination)
    return result


def _run_blocks(fh: IO[bytes], result: FileResult, config: Config, display: str, kind: str, apply: bool, out: _Output) -> None:
    decoder = BlockDecoder(display)
    result.changes = RecordSpool()  # a big file's records go to disk past the first few thousand
    char_offset = 0
    line_offset = 0
    problems: list[str] = []
    run = fix_text if apply else scan_text
    first = True
    for block, last in iter_blocks(fh, BLOCK_BYTES, paragraphs=kind != "jsonl"):
        result.input_bytes += len(block)
        decoded = decoder.decode(block)
        if first and decoded.binary:
            result.skipped = "binary file (NUL or control bytes); left unchanged"
            return
        if first:
            result.info = dict(decoded.info)
        result.complete = result.complete and decoded.complete
        text = decoded.text
        if kind == "jsonl":
            output, changes, found = repair_jsonl_text(text, config, display, apply, line_offset + 1)
            problems.extend(found)
        else:
            flags = {"doc_start": first, "doc_end": last}
            repaired = run(text, config, path=display, info={**decoded.info, **flags})
            for key, value in repaired.info.items():
                if key not in DOC_FLAGS:
                    result.info.setdefault(key, value)
            output = repaired.text
            changes = locate_all(repaired.changes, text)
        decoding = locate_all(decoded.changes, text)
        result.changes.extend(_shift(c, char_offset, line_offset, kind) for c in decoding + changes)
        result.lines_removed += max(0, text.count("\n") - output.count("\n"))
        out.write(output)
        char_offset += len(text)
        line_offset += text.count("\n")
        first = False
    if problems:
        result.error = "; ".join(problems)


def _shift(located: Located, char_offset: int, line_offset: int, kind: str) -> Located:
    """Block-local to file-global. JSONL record changes are already numbered by record and their
    spans are inside the record's field, so only decoding records move."""
    if located.record is not None:
        return located
    change = replace(located.change, start=located.change.start + char_offset, end=located.change.end + char_offset)
    return Located(change, located.line + line_offset, located.column)


class _Output:
    """A temporary file next to the destination, renamed over it only if `commit` is set; the
    rename keeps what :func:`repair.files.write_atomic` keeps (links written through, owner, mode)."""

    def __init__(self, destination: Path | None) -> None:
        self.destination = destination
        self.commit = False
        self._fh: IO[bytes] | None = None
        self._tmp = ""

    def __enter__(self) -> _Output:
        if self.destination is None:
            return self
        make_parent(self.destination)
        self._target = Path(os.path.realpath(self.destination))
        try:
            fd, self._tmp = tempfile.mkstemp(dir=self._target.parent, prefix=f".{self._target.name}.", suffix=".repair-tmp")
        except OSError as exc:
            raise InputError(f"{self.destination}: cannot write: {exc.strerror or exc}") from exc
        self._fh = os.fdopen(fd, "wb")
        return self

    def write(self, text: str) -> None:
        if self._fh is not None:
            self._fh.write(text.encode("utf-8"))

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._fh is None:
            return
        try:
            self._fh.close()
            if exc_type is None and self.commit:
                with open(self._tmp, "rb") as written:
                    os.fsync(written.fileno())
                _copy_owner_and_mode(self._tmp, self._target.stat() if self._target.exists() else None)
                os.replace(self._tmp, self._target)
                _fsync_directory(self._target.parent)
        except OSError as exc:
            raise InputError(f"{self.destination}: cannot write: {exc.strerror or exc}") from exc
        finally:
            Path(self._tmp).unlink(missing_ok=True)


def _copy(source: Path, destination: Path) -> None:
    """Copy unchanged, in bounded memory, through the same temporary file + rename as the output."""
    try:
        with open(source, "rb") as src, _Output(destination) as out:
            shutil.copyfileobj(src, out._fh)
            out.commit = True
    except OSError as exc:
        raise InputError(f"{destination}: cannot write: {exc.strerror or exc}") from exc
