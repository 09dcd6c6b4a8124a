"""Reports, all read from the same change records: the rich console table, concise and GitHub
annotation lines, JSON / JSONL, and the JSON + HTML files written under ``reports/<timestamp>/``.
rich is imported only when a table is drawn.
"""
from __future__ import annotations

import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from repair.files import FileResult, Located
from repair.registry import FAMILY_ORDER

EXAMPLES_PER_FILE = 3


def family_counts(result: FileResult) -> Counter:
    return Counter(located.change.code[0] for located in result.changes)


def chars_changed(result: FileResult) -> int:
    return sum(max(len(c.change.before), len(c.change.after or "")) for c in result.applied)


def summary(results: list[FileResult]) -> dict[str, Any]:
    return {
        "files": len(results),
        "files_changed": sum(r.modified for r in results),
        "files_flagged": sum(bool(r.findings) for r in results),
        "files_failed": sum(r.error is not None for r in results),
        "files_skipped": sum(r.skipped is not None for r in results),
        "changes": sum(len(r.applied) for r in results),
        "findings": sum(len(r.findings) for r in results),
        "chars_changed": sum(chars_changed(r) for r in results),
        "lines_removed": sum(r.lines_removed for r in results),
        "by_rule": dict(sorted(Counter(c.change.code for r in results for c in r.changes).items())),
    }


def file_dict(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "kind": result.kind,
        "info": result.info,
        "modified": result.modified,
        "complete": result.complete,
        "error": result.error,
        "skipped": result.skipped,
        "chars_changed": chars_changed(result),
        "lines_removed": result.lines_removed,
        "changes": [c.to_dict() for c in result.changes],
    }


def report_dict(results: list[FileResult], command: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from repair import __version__

    return {
        "tool": "corpus-repair",
        "version": __version__,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": summary(results),
        **(extra or {}),
        "files": [file_dict(r) for r in results],
    }


# --- line formats ---------------------------------------------------------------------------

def _mark(located: Located, result: FileResult) -> str:
    change = located.change
    if change.applied:
        return "fixed" if result.applies else "fixable"
    return "unsafe fix: --unsafe-fixes applies it" if change.after is not None else "flag"


def _describe(located: Located, result: FileResult) -> str:
    c = located.change
    what = f"{_short(c.before)} -> {_short(c.after)}" if c.after is not None else _short(c.before)
    return f"{c.message} [{what}] ({_mark(located, result)}, confidence {c.confidence:.2f})"


def _short(text: str | None, limit: int = 40) -> str:
    text = (text or "").replace("\n", "\\n")
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def write_concise(results: list[FileResult], out: IO[str]) -> None:
    for r in results:
        for problem in _problems(r):
            out.write(f"{r.path}: {problem}\n")
        for c in r.changes:
            out.write(f"{r.path}:{c.line}:{c.column}: {c.change.code} {_describe(c, r)}\n")


def write_github(results: list[FileResult], out: IO[str]) -> None:
    for r in results:
        for problem in _problems(r):
            out.write(f"::error file={r.path}::{problem}\n")
        for c in r.changes:
            level = "notice" if c.change.applied else "warning"
            out.write(f"::{level} file={r.path},line={c.line},col={c.column},title={c.change.code}::{_describe(c, r)}\n")


def write_jsonl(results: list[FileResult], out: IO[str]) -> None:
    for r in results:
        for c in r.changes:
            out.write(json.dumps({"path": r.path, **c.to_dict()}, ensure_ascii=False) + "\n")
        if r.error or r.skipped:
            out.write(json.dumps({"path": r.path, "error": r.error, "skipped": r.skipped}, ensure_ascii=False) + "\n")


def _problems(r: FileResult) -> list[str]:
    return [f"error: {r.error}"] * bool(r.error) + [f"skipped: {r.skipped}"] * bool(r.skipped) + [
        f"warning: {w}" for w in r.warnings
    ]


# --- the rich table -----------------------------------------------------------------------------

def render_console(results: list[FileResult], console: Any, verbose: bool = False, title: str = "repair") -> None:
    """A row per changed, flagged, failed or skipped file; a few examples each; a totals row."""
    from rich.table import Table
    from rich.text import Text

    shown = [r for r in results if r.changes or r.error or r.skipped or r.warnings]
    table = Table(title=title, show_footer=True, header_style="bold")
    total = summary(results)
    table.add_column("file", footer=f"{total['files']} files, {len(shown)} listed", overflow="fold")
    table.add_column("encoding", footer="")
    table.add_column("script", footer="")
    families = {f: sum(family_counts(r)[f] for r in results) for f in FAMILY_ORDER}
    for fam in FAMILY_ORDER:
        table.add_column(fam, justify="right", footer=str(families[fam] or ""))
    table.add_column("chars changed", justify="right", footer=str(total["chars_changed"]))
    table.add_column("lines removed", justify="right", footer=str(total["lines_removed"]))
    for r in shown:
        counts = family_counts(r)
        status = Text(r.path, style="red" if r.error else ("yellow" if r.findings or r.skipped else "green"))
        table.add_row(
            status, r.info.get("encoding", ""), r.info.get("script", ""),
            *[str(counts[f] or "") for f in FAMILY_ORDER],
            str(chars_changed(r)), str(r.lines_removed),
        )
    console.print(table)
    for r in shown:
        for problem in _problems(r):
            console.print(Text(f"{r.path}: {problem}", style="red" if problem.startswith("error") else "yellow"))
        changes = r.changes if verbose else r.changes[:EXAMPLES_PER_FILE]
        for c in changes:
            console.print(Text(f"  {r.path}:{c.line}:{c.column} {c.change.code} ", style="bold") + Text(_describe(c, r)))
        if len(r.changes) > len(changes):
            console.print(Text(f"  … {len(r.changes) - len(changes)} more (--verbose lists every change)", style="dim"))
    by_rule = ", ".join(f"{code} ×{n}" for code, n in total["by_rule"].items()) or "nothing"
    console.print(
        f"{total['changes']} changes, {total['findings']} findings in {total['files']} files "
        f"({total['files_changed']} changed, {total['files_flagged']} flagged, {total['files_failed']} failed); {by_rule}"
    )


def write_report_files(results: list[FileResult], directory: Path, command: str, verbose: bool, extra: dict[str, Any] | None = None) -> Path:
    """Write report.json and report.html under `directory`/<timestamp>/ and return that folder."""
    from rich.console import Console

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder = directory / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = directory / f"{stamp}-{suffix}"
    folder.mkdir(parents=True)
    data = report_dict(results, command, extra)
    (folder / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console = Console(record=True, width=140, file=io.StringIO(), force_terminal=True)
    render_console(results, console, verbose=verbose, title=f"repair {command}")
    console.save_html(str(folder / "report.html"))
    return folder
