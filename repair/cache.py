"""A result cache, as ruff keeps one: a file whose content, config and tool have not changed since
the last run is not repaired again; its recorded findings are reported instead.

The cache lives in ``.repair_cache/`` next to the config file (or in the working directory), one
small JSON file per (content, path, config, tool) key, written atomically so parallel workers can
share it. The tool's fingerprint is its version plus the size and mtime of every module and rule
file, so an edited rule (or an editable install) never serves stale results.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from repair.config import Config
from repair.files import FileResult, Located
from repair.records import Change

CACHE_DIR = ".repair_cache"
READ_BYTES = 1 << 20
_PACKAGE = Path(__file__).resolve().parent


def cache_root(config: Config) -> Path:
    source = Path(config.source) if config.source else None
    folder = source.parent if source is not None and source.is_file() else Path.cwd()
    return folder / CACHE_DIR


def _tool_fingerprint() -> str:
    from repair import __version__

    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in (".py", ".toml", ".json", ".txt", ".bin", ".gz") and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(_PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def config_fingerprint(config: Config, extra: str = "") -> str:
    """Everything in the config that can change a result (not where it was read from), the content
    of its rule files, and `extra` (for example the corpus evidence a rule uses)."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "source"}
    digest = hashlib.blake2b(json.dumps(fields, sort_keys=True, default=str).encode(), digest_size=16)
    for rule_file in config.extend_rules:
        try:
            digest.update(Path(rule_file).read_bytes())
        except OSError:
            digest.update(b"missing:" + rule_file.encode())
    digest.update(extra.encode())
    return digest.hexdigest()


class Cache:
    """Results by key under one cache directory."""

    def __init__(self, root: Path) -> None:
        from repair import __version__

        self.root = root
        self.folder = root / __version__
        self._tool = _tool_fingerprint()

    def key(self, content_digest: str, display: str, kind: str, config_digest: str) -> str:
        parts = (self._tool, config_digest, content_digest, kind, display)
        return hashlib.blake2b("\0".join(parts).encode(), digest_size=20).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str, display: str, applies: bool) -> FileResult | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return _from_dict(data, display, applies)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable: compute again

    def put(self, key: str, result: FileResult) -> None:
        """Store a result; a cache that cannot be written is skipped silently (it is only a cache)."""
        target = self._path(key)
        try:
            self._prepare(target.parent)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(_to_dict(result), fh, ensure_ascii=False)
            os.replace(tmp, target)
        except OSError:
            return

    def _prepare(self, folder: Path) -> None:
        if not self.root.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / ".gitignore").write_text("# Created by corpus-repair.\n*\n", encoding="utf-8")
            (self.root / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# corpus-repair result cache\n", encoding="utf-8"
            )
        folder.mkdir(parents=True, exist_ok=True)


def file_digest(path: Path) -> str:
    """Content hash read in blocks, so a large file is never held whole."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


# A cache entry is one JSON document read whole; a file with more records than this (a streamed
# gigabyte) is cheaper to run again than to load.
MAX_CACHED_RECORDS = 50_000


def cacheable(result: FileResult) -> bool:
    return result.error is None and len(result.changes) <= MAX_CACHED_RECORDS


def _to_dict(result: FileResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "info": result.info,
        "input_bytes": result.input_bytes,
        "skipped": result.skipped,
        "warnings": result.warnings,
        "complete": result.complete,
        "lines_removed": result.lines_removed,
        "changes": [
            {"change": dataclasses.asdict(c.change), "line": c.line, "column": c.column, "record": c.record}
            for c in result.changes
        ],
    }


def _from_dict(data: dict[str, Any], display: str, applies: bool) -> FileResult:
    changes = [Located(Change(**c["change"]), c["line"], c["column"], c["record"]) for c in data["changes"]]
    return FileResult(
        display, data["kind"], data["info"], changes, input_bytes=data["input_bytes"], skipped=data["skipped"],
        warnings=data["warnings"], complete=data["complete"], applies=applies, lines_removed=data["lines_removed"],
    )
