"""Records in bounded memory.

A streamed file of a gigabyte, or a corpus run over thousands of files, can produce millions of
records; the report needs them all (counts, `--format concise`, the JSON report) but never at
once. :class:`RecordSpool` keeps its first `keep` records in memory and appends the rest, pickled
in batches, to a :class:`SpoolFile` (a temporary file, which several spools may share) that is
read back batch by batch on every iteration. A spool sent from a worker process to the main one
takes its file along: the receiving copy deletes it when it is garbage-collected.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

KEEP_IN_MEMORY = 5_000
BATCH_SIZE = 2_000


class SpoolFile:
    """An append-only temporary file of pickled batches, deleted with the last object using it."""

    def __init__(self) -> None:
        self.path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def append(self, batch: list[Any]) -> tuple[int, int]:
        """Write one batch; returns where it lies (offset, length)."""
        if self.path is None:
            fd, self.path = tempfile.mkstemp(prefix="repair-records-", suffix=".pickle")
            os.close(fd)
            self._finalizer = weakref.finalize(self, _remove, self.path)
        with open(self.path, "ab") as fh:
            offset = fh.tell()
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
            return offset, fh.tell() - offset

    def read(self, segments: list[tuple[int, int]]) -> Iterator[Any]:
        if not segments or self.path is None:
            return
        with open(self.path, "rb") as fh:
            for offset, length in segments:
                fh.seek(offset)
                yield from pickle.loads(fh.read(length))

    def __getstate__(self) -> str | None:
        # The pickled copy takes the file over: this one must no longer delete it.
        if self._finalizer is not None:
            self._finalizer.detach()
        return self.path

    def __setstate__(self, path: str | None) -> None:
        self.path = path
        self._finalizer = weakref.finalize(self, _remove, path) if path else None


class RecordSpool:
    """A list-like, append-only sequence of records that spills to disk past `keep` records."""

    def __init__(self, keep: int | None = None, store: SpoolFile | None = None) -> None:
        self._keep = KEEP_IN_MEMORY if keep is None else keep
        self._store = store or SpoolFile()
        self._head: list[Any] = []
        self._batch: list[Any] = []
        self._segments: list[tuple[int, int]] = []
        self._spilled = 0

    def append(self, record: Any) -> None:
        if len(self._head) < self._keep:
            self._head.append(record)
            return
        self._batch.append(record)
        if len(self._batch) >= BATCH_SIZE:
            self.close()

    def extend(self, records: Iterable[Any]) -> None:
        for record in records:
            self.append(record)

    def close(self) -> None:
        """Write what is waiting in memory to the file (appending later is still allowed)."""
        if self._batch:
            self._segments.append(self._store.append(self._batch))
            self._spilled += len(self._batch)
            self._batch = []

    def __len__(self) -> int:
        return len(self._head) + self._spilled + len(self._batch)

    def __bool__(self) -> bool:
        return bool(self._head)

    def __iter__(self) -> Iterator[Any]:
        yield from self._head
        yield from self._store.read(list(self._segments))
        yield from list(self._batch)

    def __getitem__(self, index: slice | int) -> Any:
        if isinstance(index, slice):
            if index.start is None and index.step is None and index.stop is not None and index.stop >= 0:
                return list(islice(self, index.stop))
            return list(self)[index]
        if 0 <= index < len(self._head):
            return self._head[index]
        return list(self)[index]

    def __getstate__(self) -> dict[str, Any]:
        self.close()
        return {"keep": self._keep, "store": self._store, "head": self._head,
                "segments": self._segments, "spilled": self._spilled}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._keep, self._store, self._head = state["keep"], state["store"], state["head"]
        self._segments, self._spilled, self._batch = state["segments"], state["spilled"], []


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
