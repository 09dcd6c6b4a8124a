"""The `repair` command: a thin layer over the library.

    repair check PATH...     findings; exit 0 clean, 1 findings, 2 usage or I/O error
    repair fix PATH...       repair in place (atomic), or --output DIR, --stdout, --diff
    repair rules             list the rules
    repair rule CODE         explain one rule
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from repair import __version__
from repair.config import SCRIPTS, Config, ConfigError, config_for, load_file
from repair.engine import RuleFailure
from repair.files import (
    FileResult, InputError, discover, kind_of, make_parent, process_bytes, read_file, write_atomic,
)
from repair.registry import FAMILY_NAMES, RuleError, all_rules
from repair.stream import process_file, should_stream

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("rich", "concise", "json", "jsonl", "github")
PARALLEL_MIN_BYTES = 1 << 20  # below this a process pool costs more than it saves
NOT_OVERWRITTEN = "not fully decodable; not overwritten (use --output or --stdout to write the decoded text)"


@dataclass(frozen=True)
class Task:
    """One file's work, picklable for worker processes."""

    path: str
    display: str
    mode: str  # check | fix | output | stdout | diff
    overrides: tuple[tuple[str, Any], ...]
    config_file: str | None
    output: str | None = None  # the --output destination of this file
    use_cache: bool = True


def _split_codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repair", description="Repair damaged Chinese text corpora.")
    parser.add_argument("--version", action="version", version=f"repair {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("check", "report findings; change nothing"), ("fix", "repair files")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("paths", nargs="+", metavar="PATH", help="files or directories; - reads stdin")
        sub.add_argument("--select", type=_split_codes, help="rule codes or prefixes to run (comma-separated)")
        sub.add_argument("--ignore", type=_split_codes, help="rule codes or prefixes to skip")
        sub.add_argument("--extend-select", type=_split_codes, help="add rules to the selection")
        sub.add_argument("--script", choices=SCRIPTS, help="target script (default: keep)")
        sub.add_argument("--field", help="JSONL string field to repair (default: text)")
        sub.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply low-confidence repairs")
        sub.add_argument("--config", help="use this repair.toml / pyproject.toml instead of discovery")
        sub.add_argument("--format", choices=FORMATS, default="rich", help="console output (default: rich)")
        sub.add_argument("--report", default="reports", metavar="DIR", help="where to write JSON+HTML reports (default: reports/)")
        sub.add_argument("--no-report", action="store_true", help="write no report files")
        sub.add_argument("--no-cache", action="store_true", help="ignore and do not write .repair_cache/")
        sub.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPU count)")
        sub.add_argument("--quiet", "-q", action="store_true", help="print only errors")
        sub.add_argument("--verbose", "-v", action="store_true", help="list every change")
        if name == "fix":
            where = sub.add_mutually_exclusive_group()
            where.add_argument("--output", "-o", metavar="DIR", help="write repaired files under DIR, mirroring the tree")
            where.add_argument("--stdout", action="store_true", help="print the repaired text instead of writing")
            where.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    commands.add_parser("rules", help="list the rules")
    rule = commands.add_parser("rule", help="explain one rule")
    rule.add_argument("code")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "rules":
            return _list_rules()
        if args.command == "rule":
            return _explain_rule(args.code.upper())
        return _run(args)
    except (ConfigError, RuleError) as exc:
        print(f"repair: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("repair: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


# --- rules ---------------------------------------------------------------------------------------

def _list_rules() -> int:
    rules = all_rules(config_for(Path.cwd()))
    family = None
    for rule in rules.values():
        if rule.family != family:
            family = rule.family
            print(f"\n{family}  {FAMILY_NAMES[family]}")
        flags = ("fix" if rule.fixable else "flag") + ("" if rule.default else ", off by default")
        print(f"  {rule.code}  {rule.name:<32} {rule.summary}  [{flags}]")
    return EXIT_CLEAN


def _explain_rule(code: str) -> int:
    rule = all_rules(config_for(Path.cwd())).get(code)
    if rule is None:
        print(f"repair: error: no rule {code!r} (see `repair rules`)", file=sys.stderr)
        return EXIT_ERROR
    damaged, repaired = rule.example
    print(f"{rule.code} {rule.name} ({FAMILY_NAMES[rule.family]})\n")
    print(rule.explanation + "\n")
    print(f"Fixable: {'yes' if rule.fixable else 'no (flag only)'}. On by default: {'yes' if rule.default else 'no'}.")
    print(f"Example:\n  before: {damaged}\n  after:  {repaired}")
    if rule.options:
        print(f"Options ([tool.repair.options.{rule.code}]):")
        for name, default in rule.options.items():
            print(f"  {name} = {default!r}")
    return EXIT_CLEAN


# --- check / fix ---------------------------------------------------------------------------------

def _overrides(args: argparse.Namespace) -> tuple[tuple[str, Any], ...]:
    keys = ("select", "ignore", "extend_select", "script", "field", "unsafe_fixes")
    return tuple((k, getattr(args, k)) for k in keys if getattr(args, k) is not None)


@lru_cache(maxsize=256)
def _config(path: str, config_file: str | None, overrides: tuple[tuple[str, Any], ...]) -> Config:
    base = load_file(Path(config_file)) if config_file else config_for(Path(path))
    return base.with_overrides(**dict(overrides))


def _mode(args: argparse.Namespace) -> str:
    if args.command == "check":
        return "check"
    return "output" if args.output else "stdout" if args.stdout else "diff" if args.diff else "fix"


def _tasks(args: argparse.Namespace, mode: str) -> tuple[list[Task], list[str]]:
    overrides = _overrides(args)
    tasks: list[Task] = []
    errors: list[str] = []
    for raw in args.paths:
        if raw == "-":
            continue
        files, problems = discover([raw])
        errors.extend(problems)
        root = Path(raw)
        for file in files:
            output = None
            if mode == "output":
                relative = file.relative_to(root) if root.is_dir() else Path(file.name)
                output = str(Path(args.output) / relative)
            tasks.append(Task(str(file), str(file), mode, overrides, args.config, output, not args.no_cache))
    if mode == "output":
        tasks = [_in_place_if_onto_itself(t) for t in _without_output_clashes(tasks, errors)]
    return tasks, errors


def _in_place_if_onto_itself(task: Task) -> Task:
    """--output onto the input file itself (the same folder, or a link to the input) is an in-place
    fix, with its safeguard: a file that could not be fully decoded is not overwritten."""
    try:
        same = os.path.samefile(task.output, task.path)
    except OSError:
        return task  # no output file yet
    return replace(task, mode="fix", output=None) if same else task


def _without_output_clashes(tasks: list[Task], errors: list[str]) -> list[Task]:
    """Two inputs mapped to one output file would overwrite each other: the first is written, the
    others are refused with an error. A file named twice is written once."""
    first_by_output: dict[str, Task] = {}
    kept = []
    for task in tasks:
        target = os.path.realpath(task.output)
        first = first_by_output.setdefault(target, task)
        if first is task:
            kept.append(task)
        elif os.path.realpath(first.path) != os.path.realpath(task.path):
            errors.append(f"{task.display}: not written: {first.display} also goes to {task.output}")
    return kept


CACHED_MODES = ("check", "fix")  # modes whose cached result is the whole answer (fix: when nothing changes)
STREAMED_MODES = ("check", "fix", "output")  # --stdout and --diff hold the texts anyway


def process_task(task: Task) -> FileResult:
    """Read, repair and (depending on the mode) write one file. Runs in worker processes."""
    path = Path(task.path)
    try:
        config = _config(task.path, task.config_file, task.overrides)
        if task.mode in STREAMED_MODES and should_stream(path, _size(task.path)):
            return _cached(task, config, path, None, _stream_task)
        data = read_file(path)
        return _cached(task, config, path, data, _whole_file_task)
    except (InputError, RuleFailure, ConfigError, RuleError) as exc:
        return FileResult(task.display, error=str(exc))


def _cached(task: Task, config: Config, path: Path, data: bytes | None, run: Any) -> FileResult:
    """Serve the result from the cache when content, config and tool are unchanged; else run and store."""
    if not task.use_cache or task.mode not in CACHED_MODES:
        return run(task, config, path, data)
    from repair import cache

    store = _cache_for(config)
    digest = cache.bytes_digest(data) if data is not None else cache.file_digest(path)
    key = store.key(digest, task.display, kind_of(path), _config_digest(config))
    hit = store.get(key, task.display, applies=task.mode != "check")
    if hit is not None and (task.mode == "check" or not hit.modified):
        return hit
    result = run(task, config, path, data)
    if cache.cacheable(result) and not (task.mode == "fix" and result.modified):
        store.put(key, result)
    return result


@lru_cache(maxsize=64)
def _cache_for(config: Config) -> Any:
    from repair.cache import Cache, cache_root

    return Cache(cache_root(config))


@lru_cache(maxsize=64)
def _config_digest(config: Config) -> str:
    from repair.cache import config_fingerprint

    return config_fingerprint(config)


def _stream_task(task: Task, config: Config, path: Path, data: None) -> FileResult:
    destination = Path(task.output) if task.mode == "output" else path if task.mode == "fix" else None
    result = process_file(path, config, display=task.display, kind=kind_of(path), apply=task.mode != "check",
                          destination=destination)
    if task.mode == "fix" and result.modified and not result.complete:
        result.error = NOT_OVERWRITTEN
    return result


def _whole_file_task(task: Task, config: Config, path: Path, data: bytes) -> FileResult:
    result = process_bytes(data, config, path=task.display, kind=kind_of(path), apply=task.mode != "check")
    try:
        _write(task, path, data, result)
    except InputError as exc:
        result.error = str(exc)
    if task.mode not in ("stdout", "diff"):
        result.input_text = result.output_text = ""  # keep worker results small on big runs
    return result


def _write(task: Task, path: Path, data: bytes, result: FileResult) -> None:
    if task.mode == "output":
        destination = Path(task.output)
        make_parent(destination)
        usable = result.skipped is None and result.error is None
        write_atomic(destination, result.output_text.encode("utf-8") if usable else data)
    elif task.mode == "fix" and result.modified:
        if not result.complete:
            result.error = NOT_OVERWRITTEN
        elif result.error is None:
            write_atomic(path, result.output_text.encode("utf-8"))


def _stdin_task(args: argparse.Namespace, mode: str) -> FileResult:
    data = sys.stdin.buffer.read()
    config = _config(str(Path.cwd() / "-"), args.config, _overrides(args))
    try:
        return process_bytes(data, config, path="-", apply=mode != "check")
    except RuleFailure as exc:
        return FileResult("-", error=str(exc))


def _run(args: argparse.Namespace) -> int:
    mode = _mode(args)
    if args.jobs < 1:
        print("repair: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_ERROR
    if args.config and not Path(args.config).is_file():
        print(f"repair: error: {args.config}: config file not found", file=sys.stderr)
        return EXIT_ERROR
    tasks, errors = _tasks(args, mode)
    results = [_stdin_task(args, "stdout" if mode == "fix" else mode)] if "-" in args.paths else []
    evidence, min_files = _corpus_evidence(tasks, args)
    extra = {}
    if evidence is not None:
        # Results depend on the whole corpus, so no file's cached result stands for itself.
        tasks = [replace(t, use_cache=False) for t in tasks]
        extra["repeated_lines"] = [{"line": line, "files": n} for line, n in evidence.most_repeated(20, min_files=2)]
        evidence = evidence.trimmed(min_files)
    results.extend(_execute(tasks, args, evidence))
    for message in errors:
        results.append(FileResult(message.split(":", 1)[0], error=message))
    _emit_texts(results, mode)
    _print_report(results, args, mode)
    if not args.no_report and mode != "diff":
        from repair.report import write_report_files

        try:
            folder = write_report_files(results, Path(args.report), args.command, args.verbose, extra)
            if not args.quiet:
                print(f"report: {folder}/report.html, report.json", file=sys.stderr)
        except OSError as exc:
            print(f"repair: error: {args.report}: cannot write report: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR
    return _exit_code(results, mode)


def _corpus_evidence(tasks: list[Task], args: argparse.Namespace) -> tuple[Any, int]:
    """Phase 1 of a run that selects B201: which normalised lines recur across the files.

    Returns the evidence (None when B201 is not selected) and the rule's `min-files`."""
    config = _config(str(Path.cwd() / "-"), args.config, _overrides(args))
    rule = all_rules(config).get("B201")
    if rule is None or not config.is_selected(rule) or not tasks:
        return None, 0
    min_files = config.rule_options(rule)["min-files"]
    if len(tasks) == 1 and kind_of(Path(tasks[0].path)) == "text":  # one document: nothing recurs across documents
        return None, min_files
    from repair.corpus import Evidence

    evidence = Evidence()
    jobs = min(args.jobs, len(tasks))
    shares = [[(t.path, config.field) for t in tasks[i::jobs]] for i in range(jobs)]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor  # only runs with several workers pay for it

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for part in pool.map(_collect_evidence, shares):
                evidence.merge(part)
    else:
        evidence.merge(_collect_evidence(shares[0]))
    return evidence, min_files


def _collect_evidence(files: list[tuple[str, str]]) -> Any:
    """One worker's share of phase 1 (unreadable files are reported by phase 2)."""
    import json

    from repair.corpus import Evidence
    from repair.decoding import decode_bytes

    evidence = Evidence()
    for path, field in files:
        try:
            text = decode_bytes(read_file(Path(path)), path=path).text
        except InputError:
            continue
        if kind_of(Path(path)) == "text":
            evidence.add_document(text)
            continue
        for line in text.split("\n"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get(field), str):
                evidence.add_document(record[field])
    return evidence


def _execute(tasks: list[Task], args: argparse.Namespace, evidence: Any = None) -> list[FileResult]:
    """Run the tasks, in a process pool when there is enough work; results come back in task order.
    `evidence` (B201's corpus statistics) is installed in this process and in every worker."""
    from repair.corpus import set_evidence

    set_evidence(evidence)
    sizes = [_size(t.path) for t in tasks]
    total = sum(sizes)
    jobs = min(args.jobs, len(tasks)) if total >= PARALLEL_MIN_BYTES else 1
    progress = _progress(tasks, total, args)
    results: list[FileResult | None] = [None] * len(tasks)
    budget = _RecordBudget()
    with progress or _NullProgress() as bar:
        if jobs > 1:
            from concurrent.futures import ProcessPoolExecutor

            # Largest files first, so one big file started last does not leave the other workers idle.
            order = sorted(range(len(tasks)), key=lambda i: -sizes[i])
            # Small chunks: a chunk's results travel and unpickle as one object, and 64 converted
            # files carry hundreds of thousands of records (fix --script on 30 MB: 382 -> 171 MB RSS).
            chunksize = max(1, min(8, len(tasks) // (jobs * 8)))
            with ProcessPoolExecutor(max_workers=jobs, initializer=set_evidence, initargs=(evidence,)) as pool:
                for index, result in zip(order, pool.map(process_task, [tasks[i] for i in order], chunksize=chunksize)):
                    results[index] = budget.keep(result)
                    bar.advance(result)
        else:
            for index, task in enumerate(tasks):
                results[index] = budget.keep(process_task(task))
                bar.advance(results[index])
    return results


class _RecordBudget:
    """Holds a corpus run's records in bounded memory: past RECORDS_IN_MEMORY records, each further
    file keeps in memory only the few the console shows and spools the rest to one temporary file,
    where the report formats and counts read them back (repair.spool)."""

    RECORDS_IN_MEMORY = 100_000
    KEPT_PER_FILE = 3  # the console report's examples per file

    def __init__(self) -> None:
        self.held = 0
        self.store: Any = None

    def keep(self, result: FileResult) -> FileResult:
        if isinstance(result.changes, list) and self.held + len(result.changes) > self.RECORDS_IN_MEMORY:
            from repair.spool import RecordSpool, SpoolFile

            self.store = self.store or SpoolFile()
            spool = RecordSpool(keep=self.KEPT_PER_FILE, store=self.store)
            spool.extend(result.changes)
            spool.close()
            result.changes = spool
        self.held += len(result.changes) if isinstance(result.changes, list) else self.KEPT_PER_FILE
        return result


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _NullProgress:
    def __enter__(self) -> _NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, result: FileResult) -> None:
        return None


class _RichProgress:
    """Files done, MB and MB/s, on a terminal only."""

    def __init__(self, files: int, total: int) -> None:
        from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TransferSpeedColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), MofNCompleteColumn(), transient=True)
        self._files = files
        self._done = 0
        self._task = self._bar.add_task("repair", total=total)

    def __enter__(self) -> _RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def advance(self, result: FileResult) -> None:
        self._done += 1
        self._bar.update(self._task, advance=result.input_bytes, description=f"{self._done}/{self._files} files")


def _progress(tasks: list[Task], total: int, args: argparse.Namespace) -> _RichProgress | None:
    if args.quiet or len(tasks) < 2 or not sys.stderr.isatty():
        return None
    return _RichProgress(len(tasks), total)


def _emit_texts(results: list[FileResult], mode: str) -> None:
    out = sys.stdout
    for r in results:
        if r.error and not r.output_text:
            continue
        if mode == "stdout" or (mode == "fix" and r.path == "-"):  # fix - : stdin to stdout
            out.write(r.output_text)
        elif mode == "diff" and r.input_text != r.output_text:
            out.writelines(difflib.unified_diff(
                r.input_text.splitlines(keepends=True), r.output_text.splitlines(keepends=True),
                fromfile=f"a/{r.path}", tofile=f"b/{r.path}",
            ))
    out.flush()


def _print_report(results: list[FileResult], args: argparse.Namespace, mode: str) -> None:
    # Texts go to stdout in --stdout / --diff mode, so the report goes to stderr there.
    texts_on_stdout = mode in ("stdout", "diff") or (mode == "fix" and "-" in args.paths)
    stream = sys.stderr if texts_on_stdout else sys.stdout
    if args.quiet:
        for r in results:
            if r.error:
                print(f"{r.path}: error: {r.error}", file=sys.stderr)
        return
    from repair import report

    if args.format == "json":
        import json

        json.dump(report.report_dict(results, args.command), stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif args.format == "jsonl":
        report.write_jsonl(results, stream)
    elif args.format == "github":
        report.write_github(results, stream)
    elif args.format == "concise" or not any(r.changes or r.error or r.skipped for r in results):
        report.write_concise(results, stream)
        if not args.quiet and args.format != "concise":
            print(f"{len(results)} files checked: nothing to repair.", file=stream)
    else:
        from rich.console import Console

        report.render_console(results, Console(file=stream), verbose=args.verbose, title=f"repair {args.command}")


def _exit_code(results: list[FileResult], mode: str) -> int:
    if any(r.error for r in results):
        return EXIT_ERROR
    if mode == "check":
        return EXIT_FINDINGS if any(r.changes for r in results) else EXIT_CLEAN
    return EXIT_FINDINGS if any(r.findings for r in results) else EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
