"""The records of one big file in bounded memory.

A streamed file of a gigabyte can hold millions of records; the report needs them all (counts,
`--format concise`, the JSON report) but never at once. :class:`RecordSpool` keeps the first
`keep` records in memory and appends the rest, pickled in batches, to a temporary file that is
read back batch by batch on every iteration. A spool sent from a worker process to the main one
hands its file over: the receiving copy deletes it when it is garbage-collected.
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


class RecordSpool:
    """A list-like, append-only sequence of records that spills to disk past `keep` records."""

    def __init__(self, keep: int | None = None) -> None:
        self._keep = KEEP_IN_MEMORY if keep is None else keep
        self._head: list[Any] = []
        self._batch: list[Any] = []
        self._spilled = 0
        self._path: str | None = None
        self._finalizer: weakref.finalize | None = None

    def append(self, record: Any) -> None:
        if len(self._head) < self._keep:
            self._head.append(record)
            return
        self._batch.append(record)
        if len(self._batch) >= BATCH_SIZE:
            self._flush()

    def extend(self, records: Iterable[Any]) -> None:
        for record in records:
            self.append(record)

    def _flush(self) -> None:
        if not self._batch:
            return
        if self._path is None:
            fd, self._path = tempfile.mkstemp(prefix="repair-records-", suffix=".pickle")
            os.close(fd)
            self._finalizer = weakref.finalize(self, _remove, self._path)
        with open(self._path, "ab") as fh:
            pickle.dump(self._batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += len(self._batch)
        self._batch = []

    def __len__(self) -> int:
        return len(self._head) + self._spilled + len(self._batch)

    def __bool__(self) -> bool:
        return bool(self._head)

    def __iter__(self) -> Iterator[Any]:
        yield from self._head
        if self._path is not None:
            with open(self._path, "rb") as fh:
                while True:
                    try:
                        batch = pickle.load(fh)
                    except EOFError:
                        break
                    yield from batch
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
        # The pickled copy takes the file over: this one must no longer delete it.
        self._flush()
        if self._finalizer is not None:
            self._finalizer.detach()
        return {"keep": self._keep, "head": self._head, "spilled": self._spilled, "path": self._path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._keep, self._head, self._spilled, self._path = state["keep"], state["head"], state["spilled"], state["path"]
        self._batch = []
        self._finalizer = weakref.finalize(self, _remove, self._path) if self._path else None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
