"""B1xx: boilerplate, driven by rule files.

Each file in ``rules/`` (and each file a user adds with ``extend-rules``) is one rule: a code, a
name, and line patterns, each with an id, a description, examples that must match and near-misses
that must not. Patterns are written in simplified Chinese and lines are converted to simplified
mainland wording before they are matched (OpenCC tw2sp: 發表於 -> 发表于, 列印本頁 -> 打印本页),
so one pattern serves both scripts.

Precision guards, as the field uses them: a line goes only inside a *block* of boilerplate lines
at the start of the document (header), at its end (footer), or around an unmistakable post line
inside a forum thread (a post boundary). A block needs at least one *strong* line; *weak* lines
(楼主, - 3485, 联系电话：...) and short unmatched lines sandwiched between matched ones go only
with it. Lines longer than the file's ``max-length`` never match. A document that would lose more
than ``max-share`` of its characters (B106) is flagged, not cut.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from repair.config import Config
import repair.corpus  # noqa: F401  (registers B201, the corpus-level boilerplate rule)
from repair.records import Change
from repair.registry import Context, Rule, RuleError, builtin_rules, register, register_loader

STRONG_CONFIDENCE = 0.97
WEAK_CONFIDENCE = 0.92
FILLER_MAX_CHARS = 16  # an unmatched line this short may sit between boilerplate lines
FILLER_MAX_RUN = 2  # ... at most this many in a row
EVIDENCE = ("strong", "weak")
WHERE = ("edge", "header", "footer", "anywhere", "title")
# Which patterns may make a line part of a block in each zone of the document.
_ZONES = {
    "header": ("edge", "header", "anywhere"),
    "footer": ("edge", "footer", "anywhere"),
    "inside": ("edge", "header", "footer", "anywhere"),  # around a post boundary in a thread
}

_FILE_KEYS = {"code", "name", "summary", "description", "example", "default", "max-length", "extend", "pattern"}
_PATTERN_KEYS = {
    "id", "description", "regex", "evidence", "where", "takes-line-before", "max-length", "examples", "near-misses",
}


def rules_dir() -> Path:
    """The built-in rule files: repair/_rules links to the top-level rules/ and ships in the wheel."""
    return Path(__file__).parent / "_rules"


# --- Hanzi variants: one pattern matches simplified, traditional and variant forms -----------

_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))
# Pinyin a converter wrote after the characters it changed (版權(quán)所有): not part of the line's words.
_ANNOTATION = re.compile(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)")


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Traditional or variant character -> its simplified form (OpenCC t2s, one character at a time)."""
    import opencc

    chars = "\n".join(chr(c) for start, end in _CJK_RANGES for c in range(start, end))
    simplified = opencc.OpenCC("t2s").convert(chars)
    return {ord(a): b for a, b in zip(chars.split("\n"), simplified.split("\n")) if a != b and len(b) == 1}


@lru_cache(maxsize=1)
def _variants() -> dict[str, str]:
    """Character -> all its forms (simplified first); for regexes run over unfolded text."""
    forms: dict[str, str] = {}
    for variant, simple in _fold_table().items():
        forms[simple] = forms.get(simple, simple) + chr(variant)
    return {ch: group for group in forms.values() for ch in group}


def fold(text: str) -> str:
    """Text with every Hanzi in its simplified form; same length, so offsets still hold."""
    return text.translate(_fold_table())


def expand_variants(regex: str) -> str:
    """Let every Hanzi literal in `regex` match all its simplified/traditional forms.
    (Rule files have no named groups, so a Hanzi outside a class is always a literal.)"""
    table = _variants()
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            start = i + 1 + (regex[i + 1 : i + 2] == "^")
            if regex[start : start + 1] == "]":  # a leading ] is a literal inside the class
                start += 1
            out.append(regex[i:start])
            i = start
            continue
        if ch == "]" and in_class:
            in_class = False
        forms = table.get(ch, ch) if _HANZI.match(ch) else ch
        out.append(forms if in_class or len(forms) == 1 else f"[{forms}]")
        i += 1
    return "".join(out)


@lru_cache(maxsize=1)
def _to_mainland() -> Any:
    """OpenCC tw2sp: traditional to simplified with Taiwan phrases (列印本頁 -> 打印本页)."""
    import opencc

    return opencc.OpenCC("tw2sp")


def _words(line: str) -> str:
    """What line patterns see: the stripped line in simplified mainland wording, without pinyin annotations."""
    line = line.strip()
    if not line.isascii():
        line = _to_mainland().convert(line)
    return _ANNOTATION.sub("", line) if "(" in line else line


# --- Rule files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    id: str
    description: str
    regex: str
    code: str  # the rule the pattern belongs to
    source: str  # the rule file, for messages
    strong: bool = True
    where: str = "edge"
    takes_line_before: bool = False  # the short line above (the poster's name) belongs to it
    max_length: int = 160
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.source}: pattern {self.id!r}"


@dataclass
class RuleFile:
    path: str
    code: str
    name: str = ""
    summary: str = ""
    description: str = ""
    example: tuple[str, str] = ("", "")
    default: bool = True
    extend: bool = False  # adds patterns to an existing rule instead of defining one
    patterns: list[Pattern] = field(default_factory=list)


def _require(where: str, table: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in table:
        raise RuleError(f"{where}: missing field `{key}`")
    return _typed(where, table, key, kind)


def _typed(where: str, table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = table.get(key, default)
    if key in table and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise RuleError(f"{where}: field `{key}` has the wrong type ({type(value).__name__})")
    return value


def _strings(where: str, table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = _typed(where, table, key, list, [])
    if not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: field `{key}` must be a list of strings")
    return tuple(value)


def _unknown(where: str, table: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise RuleError(f"{where}: unknown key `{extra[0]}` (known: {', '.join(sorted(known))})")


def parse_rule_file(path: Path) -> RuleFile:
    """Read and check one rule file; errors name the file and the pattern id."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise RuleError(f"{source}: cannot read rule file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: invalid TOML: {exc}") from exc
    _unknown(source, data, _FILE_KEYS)
    extend = _typed(source, data, "extend", str)
    code = extend or _require(source, data, "code", str)
    if not re.fullmatch(r"B\d{3}", code):
        raise RuleError(f"{source}: rule code {code!r} must be B followed by three digits (boilerplate family)")
    rule = RuleFile(source, code, extend=bool(extend))
    if not extend:
        rule.name = _require(source, data, "name", str)
        rule.summary = _require(source, data, "summary", str)
        rule.description = _typed(source, data, "description", str, rule.summary)
        example = _strings(source, data, "example") or ("", "")
        if len(example) != 2:
            raise RuleError(f"{source}: field `example` must be [damaged, repaired]")
        rule.example = (example[0], example[1])
        rule.default = _typed(source, data, "default", bool, True)
    max_length = _typed(source, data, "max-length", int, 160)
    patterns = _typed(source, data, "pattern", list, [])
    if not patterns:
        raise RuleError(f"{source}: no [[pattern]] tables")
    seen: set[str] = set()
    for number, table in enumerate(patterns, 1):
        if not isinstance(table, dict):
            raise RuleError(f"{source}: pattern {number} must be a table ([[pattern]])")
        where = f"{source}: pattern {table.get('id', f'number {number}')!r}"
        pattern = _parse_pattern(where, table, code, source, max_length)
        if pattern.id in seen:
            raise RuleError(f"{where}: id used twice in this file")
        seen.add(pattern.id)
        rule.patterns.append(pattern)
    return rule


def _parse_pattern(where: str, table: dict[str, Any], code: str, source: str, max_length: int) -> Pattern:
    _unknown(where, table, _PATTERN_KEYS)
    regex = _require(where, table, "regex", str)  # compiled (and checked) with the rule set: compile_pattern
    evidence = _typed(where, table, "evidence", str, "strong")
    place = _typed(where, table, "where", str, "edge")
    if evidence not in EVIDENCE:
        raise RuleError(f"{where}: `evidence` must be one of {', '.join(EVIDENCE)}, got {evidence!r}")
    if place not in WHERE:
        raise RuleError(f"{where}: `where` must be one of {', '.join(WHERE)}, got {place!r}")
    examples = _strings(where, table, "examples")
    if not examples:
        raise RuleError(f"{where}: missing field `examples` (lines the pattern must match)")
    return Pattern(
        id=_require(where, table, "id", str),
        description=_require(where, table, "description", str),
        regex=regex,
        code=code,
        source=source,
        strong=evidence == "strong",
        where=place,
        takes_line_before=_typed(where, table, "takes-line-before", bool, False),
        max_length=_typed(where, table, "max-length", int, max_length),
        examples=examples,
        near_misses=_strings(where, table, "near-misses"),
    )


# --- Line analysis ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LineMatch:
    pattern: Pattern
    owned: bool = False  # a short line claimed by the pattern of the line below (the poster's name)

    @property
    def strong(self) -> bool:
        return self.pattern.strong and not self.owned


class _Compiled:
    """The patterns of one rule set, compiled, checked against their examples and near-misses.

    Lines are folded to simplified Hanzi before matching, so the patterns (folded too) stay small;
    only the few `anywhere` patterns, run over the whole unfolded text, spell out every variant.
    """

    def __init__(self, patterns: list[Pattern]) -> None:
        lines = [p for p in patterns if p.where != "title"]
        # strong patterns first, so a line matching both kinds counts as strong evidence
        self.lines = [(p, compile_pattern(p)) for p in sorted(lines, key=lambda p: not p.strong)]
        self.titles = [(p, compile_pattern(p)) for p in patterns if p.where == "title"]
        self.any_line = _union(self.lines)
        self.longest = max((p.max_length for p in lines), default=0)
        anywhere = [(p, re.compile(expand_variants(p.regex))) for p in lines if p.where == "anywhere" and p.strong]
        self.anywhere = _union(anywhere, re.MULTILINE) if anywhere else None
        # "\n" in front gives the regex engine a literal to skip ahead to: one try per line, not per character
        self.anywhere_after_newline = (
            re.compile(f"\\n(?:{self.anywhere.pattern})", re.MULTILINE) if self.anywhere else None
        )
        for pattern, regex in self.lines + self.titles:
            check_examples(pattern, regex)

    def match(self, line: str, zone: str) -> Pattern | None:
        if len(line) > self.longest + 40:  # cheap bound before folding (annotations lengthen a line)
            return None
        words = _words(line)
        if not words or len(words) > self.longest or not self.any_line.search(words):
            return None
        allowed = _ZONES[zone]
        for pattern, regex in self.lines:
            if pattern.where in allowed and len(words) <= pattern.max_length and regex.search(words):
                return pattern
        return None

    def anywhere_lines(self, text: str) -> list[int]:
        """Starts of the lines where an `anywhere` pattern may match (unfolded text, all variants)."""
        if self.anywhere is None:
            return []
        found = [0] if self.anywhere.match(text) else []
        return found + [hit.start() + 1 for hit in self.anywhere_after_newline.finditer(text)]

    def title_marker(self, line: str) -> tuple[Pattern, int, int] | None:
        indent = len(line) - len(line.lstrip())
        body = fold(line.strip())
        for pattern, regex in self.titles:
            found = regex.search(body) if len(body) <= pattern.max_length else None
            if found and found.end() > found.start():
                return pattern, indent + found.start(), indent + found.end()
        return None


def _union(compiled: list[tuple[Pattern, re.Pattern[str]]], flags: int = 0) -> re.Pattern[str]:
    """One regex that any of the patterns matches: a cheap first test."""
    try:
        return re.compile("|".join(f"(?:{r.pattern})" for _, r in compiled), flags)
    except re.error:
        for pattern, regex in compiled:  # name the pattern that cannot be combined
            try:
                re.compile(f"(?:{regex.pattern})|(?:{regex.pattern})")
            except re.error as exc:
                hint = "use scoped flags (?i:...) and no named groups"
                raise RuleError(f"{pattern.label}: regex cannot be combined with others ({exc}): {hint}") from exc
        raise


def compile_pattern(pattern: Pattern) -> re.Pattern[str]:
    """The pattern as it runs: over lines folded to simplified Hanzi."""
    try:
        return re.compile(fold(pattern.regex))
    except re.error as exc:
        raise RuleError(f"{pattern.label}: bad regex: {exc}") from exc


def check_examples(pattern: Pattern, regex: re.Pattern[str]) -> None:
    """Every example must match and no near-miss may; the error names the file and the pattern."""
    for example in pattern.examples:
        words = _words(example)
        if len(words) > pattern.max_length or not regex.search(words):
            raise RuleError(f"{pattern.label}: example {example!r} does not match")
    for near_miss in pattern.near_misses:
        if regex.search(_words(near_miss)):
            raise RuleError(f"{pattern.label}: near-miss {near_miss!r} matches")


@dataclass
class Removal:
    code: str
    start: int
    end: int
    after: str
    confidence: float
    message: str


@dataclass
class Analysis:
    removals: list[Removal] = field(default_factory=list)
    blocks: list[tuple[int, int]] = field(default_factory=list)  # character spans of the blocks found
    removed_chars: int = 0
    oversized: bool = False


class _Lines:
    """The lines of one text, found and classified lazily: most documents need only a few lines
    at each end, so the text is never split. A line is known by the offset it starts at."""

    def __init__(self, text: str, compiled: _Compiled) -> None:
        self.text = text
        self.compiled = compiled
        self._kinds: dict[tuple[int, str], tuple[str, LineMatch | None]] = {}
        self.first = 0 if text else None
        body_end = len(text) - 1 if text.endswith("\n") else len(text)  # no line after a final newline
        self.last = text.rfind("\n", 0, body_end) + 1 if text else None

    def end(self, start: int) -> int:
        found = self.text.find("\n", start)
        return len(self.text) if found < 0 else found

    def line(self, start: int) -> str:
        return self.text[start : self.end(start)]

    def step(self, start: int, forward: bool) -> int | None:
        """The start of the next (or previous) line, None past either end."""
        if forward:
            return self.end(start) + 1 if start != self.last else None
        return self.text.rfind("\n", 0, start - 1) + 1 if start else None

    def span(self, start: int) -> tuple[int, int]:
        """The line with its newline."""
        return start, min(self.end(start) + 1, len(self.text))

    def kind(self, start: int, zone: str) -> tuple[str, LineMatch | None]:
        """("match", m), ("blank", None), ("filler", None) or ("content", None), for a block in `zone`."""
        known = self._kinds.get((start, zone))
        if known is None:
            known = self._kinds[start, zone] = self._classify(start, zone)
        return known

    def _classify(self, start: int, zone: str) -> tuple[str, LineMatch | None]:
        line = self.line(start).strip()
        if not line:
            return "blank", None
        pattern = self.compiled.match(line, zone)
        if pattern is not None:
            return "match", LineMatch(pattern)
        if len(line) > FILLER_MAX_CHARS:
            return "content", None
        below = self.step(start, forward=True)
        if below is not None:
            kind, match = self.kind(below, zone)
            if kind == "match" and match.pattern.takes_line_before and not match.owned:
                return "match", LineMatch(match.pattern, owned=True)
        return "filler", None


def _grow(lines: _Lines, start: int, forward: bool, zone: str) -> tuple[int | None, bool]:
    """Walk from `start` while lines are boilerplate; return the last matched line and whether any was strong."""
    last: int | None = None
    strong = False
    pending = 0
    at: int | None = start
    while at is not None:
        kind, match = lines.kind(at, zone)
        if kind == "match":
            last, pending = at, 0
            strong = strong or match.strong
        elif kind == "filler" and zone != "inside" and last is not None and pending < FILLER_MAX_RUN:
            pending += 1
        elif kind != "blank":
            break
        at = lines.step(at, forward)
    return last, strong


def _blocks(lines: _Lines) -> list[tuple[int, int, str]]:
    """First and last line (start offsets) and zone of the header, footer and post-boundary blocks."""
    found: list[tuple[int, int, str]] = []
    if lines.first is None:
        return found
    end, strong = _grow(lines, lines.first, True, "header")
    if end is not None and strong:
        found.append((lines.first, end, "header"))
    begin, strong = _grow(lines, lines.last, False, "footer")
    if begin is not None and strong:
        found.append((begin, lines.last, "footer"))
    for start in lines.compiled.anywhere_lines(lines.text):
        kind, match = lines.kind(start, "inside")
        if kind != "match" or not match.strong or any(a <= start <= b for a, b, _ in found):
            continue
        first, _ = _grow(lines, start, False, "inside")
        final, _ = _grow(lines, start, True, "inside")
        found.append((first, final, "inside"))
    return _without_overlaps(lines, found)


def _without_overlaps(lines: _Lines, blocks: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for first, last, zone in sorted(blocks):
        if kept and first <= kept[-1][1]:
            first = lines.step(kept[-1][1], True)
            if first is None or first > last:
                continue
        kept.append((first, last, zone))
    return kept


def _block_lines(lines: _Lines, first: int, last: int) -> list[int]:
    """The lines of a block, without blank lines at its edges."""
    found: list[int] = []
    at: int | None = first
    while at is not None and at <= last:
        found.append(at)
        at = lines.step(at, True)
    while found and not lines.line(found[0]).strip():
        found.pop(0)
    while found and not lines.line(found[-1]).strip():
        found.pop()
    return found


def analyse(text: str, compiled: _Compiled, selected: frozenset[str], max_share: float) -> Analysis:
    """Find every removal the selected boilerplate rules would make in `text`."""
    lines = _Lines(text, compiled)
    result = Analysis()
    title: int | None = lines.first
    for first, last, zone in _blocks(lines):
        block = _block_lines(lines, first, last)
        if not block:
            continue
        if zone == "header":
            title = lines.step(block[-1], True)
        result.blocks.append((block[0], lines.span(block[-1])[1]))
        result.removals.extend(_block_removals(lines, block, zone, selected))
    marker = _title_removal(lines, title, selected)
    if marker is not None:
        result.removals.append(marker)
    result.removed_chars = sum(r.end - r.start for r in result.removals)
    if text and result.removed_chars > max_share * len(text):
        result.oversized = True
    return result


def _block_removals(lines: _Lines, block: list[int], zone: str, selected: frozenset[str]) -> list[Removal]:
    """One removal per line (lines of one rule may be apart in the input, so they are not merged);
    weak, owned, filler and blank lines go to the rule with the most strong lines in the block."""
    matches = [lines.kind(at, zone)[1] for at in block]
    strong_codes = Counter(m.pattern.code for m in matches if m is not None and m.strong)
    if not strong_codes:
        return []
    dominant = min(strong_codes, key=lambda c: (-strong_codes[c], c))
    removals: list[Removal] = []
    for at, match in zip(block, matches):
        code = match.pattern.code if match is not None and match.strong else dominant
        if code not in selected:
            continue
        start, end = lines.span(at)
        if match is None:
            kind = "short" if lines.line(at).strip() else "blank"
            confidence, message = WEAK_CONFIDENCE, f"{kind} line inside a boilerplate block"
        elif match.owned:
            confidence, message = WEAK_CONFIDENCE, f"poster's name above {match.pattern.id}"
        else:
            confidence = STRONG_CONFIDENCE if match.strong else WEAK_CONFIDENCE
            message = f"{match.pattern.id}: {match.pattern.description}"
        removals.append(Removal(code, start, end, "", confidence, message))
    return removals


def _title_removal(lines: _Lines, at: int | None, selected: frozenset[str]) -> Removal | None:
    """A decorative marker on the first non-blank line after the header."""
    if not lines.compiled.titles:
        return None
    while at is not None and not lines.line(at).strip():
        at = lines.step(at, True)
    if at is None:
        return None
    found = lines.compiled.title_marker(lines.line(at))
    if found is None or found[0].code not in selected:
        return None
    pattern, start, end = found
    return Removal(pattern.code, at + start, at + end, "", STRONG_CONFIDENCE, f"{pattern.id}: {pattern.description}")


# --- Rules ---------------------------------------------------------------------------------

class RuleSet:
    """Every boilerplate rule built from rule files for one configuration; they share one analysis."""

    def __init__(self, files: list[RuleFile]) -> None:
        self.rules: dict[str, PatternRule] = {}
        patterns: list[Pattern] = []
        for rule_file in files:
            if rule_file.extend:
                if rule_file.code not in self.rules:
                    raise RuleError(f"{rule_file.path}: `extend` names {rule_file.code!r}, which no rule file defines")
            elif rule_file.code in self.rules:
                other = self.rules[rule_file.code].source
                raise RuleError(f"{rule_file.path}: rule code {rule_file.code} is already defined by {other}")
            elif rule_file.code in builtin_rules():
                used_by = builtin_rules()[rule_file.code].name
                raise RuleError(f"{rule_file.path}: rule code {rule_file.code} is already used by {used_by}")
            else:
                self.rules[rule_file.code] = _make_rule(rule_file, self)
            ids = {p.id for p in patterns if p.code == rule_file.code}
            for pattern in rule_file.patterns:
                if pattern.id in ids:
                    raise RuleError(f"{pattern.label}: id already used by rule {pattern.code}")
            patterns.extend(rule_file.patterns)
        self.patterns = patterns
        self._compiled: _Compiled | None = None
        self._selected: dict[Config, frozenset[str]] = {}  # which of these rules each config runs

    def compiled(self) -> _Compiled:
        # compiled on first use: the Hanzi fold table costs ~40 ms, which runs without B rules skip
        if self._compiled is None:
            self._compiled = _Compiled(self.patterns)
        return self._compiled

    def analysis(self, text: str, ctx: Context) -> Analysis:
        selected = self._selected.get(ctx.config)
        if selected is None:
            selected = self._selected[ctx.config] = frozenset(
                code for code, rule in self.rules.items() if ctx.config.is_selected(rule)
            )
        share = max_share(ctx.config)
        key = f"boilerplate:{id(self)}:{hash(selected)}:{share}"
        return ctx.memo(key, text, lambda t: analyse(t, self.compiled(), selected, share))


class PatternRule(Rule):
    """A boilerplate rule read from a rule file (the class docstring is the file's description)."""

    source: str = ""
    ruleset: RuleSet

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        analysis = self.ruleset.analysis(text, ctx)
        if analysis.oversized:
            return
        for removal in analysis.removals:
            if removal.code == self.code:
                yield self.fix(text, removal.start, removal.end, removal.after, removal.confidence, removal.message)


def _make_rule(rule_file: RuleFile, ruleset: RuleSet) -> PatternRule:
    attributes = {
        "__doc__": rule_file.description,
        "code": rule_file.code,
        "name": rule_file.name,
        "summary": rule_file.summary,
        "example": rule_file.example,
        "default": rule_file.default,
        "source": rule_file.path,
        "ruleset": ruleset,
    }
    cls = type(f"Rule{rule_file.code}", (PatternRule,), attributes)
    return cls()


def builtin_rule_files() -> list[Path]:
    return sorted(rules_dir().glob("*.toml"))


@lru_cache(maxsize=32)
def ruleset_for(extend_rules: tuple[str, ...]) -> RuleSet:
    files = [parse_rule_file(p) for p in builtin_rule_files()]
    files += [parse_rule_file(Path(p)) for p in extend_rules]
    ruleset = RuleSet(files)
    if extend_rules:  # a user's file is checked against its examples now, not at the first document
        ruleset.compiled()
    return ruleset


@register_loader
def load_rule_files(config: Config) -> list[Rule]:
    return list(ruleset_for(tuple(config.extend_rules)).rules.values())


@register
class OversizedRemoval(Rule):
    """Boilerplate removal would take more than `max-share` of the document's characters (30% by
    default). Such a document is probably mostly navigation, or the patterns misfire on it, so
    nothing is cut: the blocks are reported for a person to look at. `max-share = 1.0` turns the
    guard off."""

    code = "B106"
    name = "oversized-removal"
    summary = "Boilerplate removal would take too much of the document; flagged, not cut"
    example = ("TA的每日心情 | 开心 2019-3-23 07:35 |\n短", "TA的每日心情 | 开心 2019-3-23 07:35 |\n短")
    fixable = False
    options = {"max-share": 0.3}

    def find(self, text: str, ctx: Context) -> Iterator[Change]:
        analysis = ruleset_for(tuple(ctx.config.extend_rules)).analysis(text, ctx)
        if not analysis.oversized:
            return
        share = analysis.removed_chars / len(text)
        for start, end in analysis.blocks:
            yield self.flag(
                text, start, end, 0.9,
                f"boilerplate removal would take {analysis.removed_chars} of {len(text)} characters "
                f"({share:.0%} > max-share {max_share(ctx.config):.0%}); not cut",
            )


_OVERSIZED = OversizedRemoval()


def max_share(config: Config) -> float:
    """B106's `max-share`: the guard holds for every boilerplate rule, even when B106 is ignored."""
    return float(config.rule_options(_OVERSIZED)["max-share"])
