"""B2xx: boilerplate found by repetition across a corpus (CCNet's line deduplication).

Two phases. First, every document contributes the hashes of its normalised lines (lower case,
digits -> 0, punctuation, symbols and spaces removed, as CCNet normalises for dedup) to an
:class:`Evidence`: a Counter of line hash -> number of files containing the line. Evidence from
worker processes merges by addition. Then, with the merged evidence installed by
:func:`set_evidence` (in every worker: pass it as the pool's initializer), rule B201 removes the
lines whose normalised hash occurs in at least `min-files` files.

    evidence = Evidence()
    for text in texts:                      # or one Evidence per worker, then a.merge(b)
        evidence.add_document(text)
    evidence.most_repeated(20)              # [(sample line, files), ...] for the report
    set_evidence(evidence.trimmed(min_files))
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from hashlib import blake2b

from repair.records import Change
from repair.registry import Context, Rule, register

_NOT_WORD = re.compile(r"[\W_]+")
_NOT_WORD_OR_NEWLINE = re.compile(r"[^\w\n]+|_+")
_DIGIT = re.compile(r"\d")
SAMPLE_CHARS = 80  # how much of a line the evidence keeps to show in the report


def normalise_line(line: str) -> str:
    """The form lines are compared in: lower case, every digit 0, no punctuation, symbols or spaces."""
    return _DIGIT.sub("0", _NOT_WORD.sub("", line.lower()))


def line_hash(normalised: str) -> int:
    """A hash that is the same in every process (str.__hash__ is salted per process)."""
    return int.from_bytes(blake2b(normalised.encode("utf-8"), digest_size=8).digest(), "big")


def normal_lines(text: str) -> list[str]:
    """normalise_line of every line of `text`, one regex pass over the whole text."""
    return _DIGIT.sub("0", _NOT_WORD_OR_NEWLINE.sub("", text.lower())).split("\n")


def document_lines(text: str) -> dict[int, str]:
    """Hash -> first line with that normal form, for the distinct non-empty normal forms of `text`."""
    found: dict[int, str] = {}
    for line, normal in zip(text.split("\n"), normal_lines(text)):
        if normal:
            found.setdefault(line_hash(normal), line.strip())
    return found


class Evidence:
    """How many files each normalised line occurs in; mergeable between worker processes."""

    def __init__(self) -> None:
        self.files = 0
        self.counts: Counter[int] = Counter()
        self.samples: dict[int, str] = {}

    def add_document(self, text: str) -> None:
        self.files += 1
        for digest, line in document_lines(text).items():
            self.counts[digest] += 1
            self.samples.setdefault(digest, line[:SAMPLE_CHARS])

    def merge(self, other: Evidence) -> Evidence:
        self.files += other.files
        self.counts.update(other.counts)
        for digest, line in other.samples.items():
            self.samples.setdefault(digest, line)
        return self

    def files_with(self, line: str) -> int:
        return self.files_with_normal(normalise_line(line))

    def files_with_normal(self, normal: str) -> int:
        return self.counts.get(line_hash(normal), 0) if normal else 0

    def most_repeated(self, n: int = 20, min_files: int = 2) -> list[tuple[str, int]]:
        """The `n` lines found in the most files (at least `min_files`), with their file counts."""
        return [
            (self.samples.get(digest, f"<line {digest:016x}>"), count)
            for digest, count in self.counts.most_common(n)
            if count >= min_files
        ]

    def trimmed(self, min_files: int) -> Evidence:
        """Only the lines in at least `min_files` files: what the removal needs, small to send to workers."""
        kept = Evidence()
        kept.files = self.files
        kept.counts = Counter({d: c for d, c in self.counts.items() if c >= min_files})
        kept.samples = {d: self.samples[d] for d in kept.counts if d in self.samples}
        return kept


def collect(texts: Iterable[str]) -> Evidence:
    """Evidence from many documents (one worker's share of a corpus)."""
    evidence = Evidence()
    for text in texts:
        evidence.add_document(text)
    return evidence


_evidence: Evidence | None = None


def set_evidence(evidence: Evidence | None) -> None:
    """Install the corpus evidence B201 uses in this process (None: B201 does nothing)."""
    global _evidence
    _evidence = evidence


def current_evidence() -> Evidence | None:
    return _evidence


@register
class RepeatedLine(Rule):
    """A line whose normalised form (digits -> 0, punctuation and spaces removed) occurs in at
    least `min-files` files of the corpus being processed: navigation, footers and templates that
    no single-file pattern knows. Off by default, and it needs corpus evidence: the CLI collects it
    in a first pass over all files; a library user calls `repair.corpus.set_evidence()`.
    Lines whose normal form is shorter than `min-chars` stay: short repeated lines are mostly
    structure (NAME, 注意, 一、), not boilerplate. A document that would lose more than B106's
    `max-share` is flagged, not cut."""

    code = "B201"
    name = "repeated-line"
    summary = "Line repeated across many files of the corpus (boilerplate by frequency)"
    example = (
        "各位代表:现在,我代表区人民政府向大会报告工作,请予审议,并请区政协委员提出意见。\n"
        "本网站所有内容版权归本站所有",
        "各位代表:现在,我代表区人民政府向大会报告工作,请予审议,并请区政协委员提出意见。\n",
    )
    default = False
    options = {"min-files": 10, "min-chars": 8}

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        evidence = current_evidence()
        if evidence is None or not evidence.counts:
            return
        from repair.boilerplate import max_share

        options = ctx.options(self)
        min_files, min_chars = options["min-files"], options["min-chars"]
        spans: list[tuple[int, int, int]] = []
        start = 0
        for line, normal in zip(text.split("\n"), normal_lines(text)):
            end = min(start + len(line) + 1, len(text))  # with its newline
            files = evidence.files_with_normal(normal) if len(normal) >= min_chars else 0
            if files >= min_files:
                spans.append((start, end, files))
            start = end
        removed = sum(end - begin for begin, end, _ in spans)
        oversized = removed > max_share(ctx.config) * len(text)
        for begin, end, files in spans:
            message = f"line found in {files} files (min-files {min_files})"
            if oversized:
                share = removed / len(text)
                yield self.flag(text, begin, end, 0.9, f"{message}; not cut: the document would lose {share:.0%}")
            else:
                yield self.fix(text, begin, end, "", 0.95, message)
