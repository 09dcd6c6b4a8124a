"""B1xx: boilerplate, driven by rule files.

Each file in ``rules/`` (and each file a user adds with ``extend-rules``) is one rule: a code, a
name, and line patterns, each with an id, a description, examples that must match and near-misses
that must not. Patterns are written in simplified Chinese; every Hanzi also matches its
traditional and variant forms (发表于 matches 發表於), so one pattern serves both scripts.

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
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from repair.config import Config
from repair.registry import Context, Rule, RuleError, register, register_loader

STRONG_CONFIDENCE = 0.97
WEAK_CONFIDENCE = 0.92
FILLER_MAX_CHARS = 16  # an unmatched line this short may sit between boilerplate lines
FILLER_MAX_RUN = 2  # ... at most this many in a row
EVIDENCE = ("strong", "weak")
WHERE = ("edge", "anywhere", "title")

_FILE_KEYS = {"code", "name", "summary", "description", "example", "default", "max-length", "extend", "pattern"}
_PATTERN_KEYS = {
    "id", "description", "regex", "evidence", "where", "takes-line-before", "max-length", "examples", "near-misses",
}


def rules_dir() -> Path:
    """The built-in rule files (shipped with the package)."""
    import repair

    return Path(repair.__file__).parent.parent / "rules"


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
    """Let every Hanzi literal in `regex` match all its simplified/traditional forms."""
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
        if not in_class and regex.startswith(("(?P<", "(?P="), i):
            end = regex.find(">" if regex[i + 3] == "<" else ")", i)
            out.append(regex[i : end + 1])
            i = end + 1
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


def _words(line: str) -> str:
    """What line patterns see: the stripped line, simplified, without pinyin annotations."""
    line = fold(line.strip())
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
    regex = _require(where, table, "regex", str)
    try:
        re.compile(regex)
    except re.error as exc:
        raise RuleError(f"{where}: bad regex: {exc}") from exc
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
        self.lines = [(p, re.compile(fold(p.regex))) for p in sorted(lines, key=lambda p: not p.strong)]
        self.titles = [(p, re.compile(fold(p.regex))) for p in patterns if p.where == "title"]
        self.any_line = _union([r.pattern for _, r in self.lines])
        self.longest = max((p.max_length for p in lines), default=0)
        anywhere = [expand_variants(p.regex) for p in lines if p.where == "anywhere" and p.strong]
        self.anywhere = _union(anywhere, re.MULTILINE) if anywhere else None
        for pattern, regex in self.lines + self.titles:
            _check_examples(pattern, regex)

    def match(self, line: str) -> Pattern | None:
        if len(line) > self.longest + 40:  # cheap bound before folding (annotations lengthen a line)
            return None
        words = _words(line)
        if not words or len(words) > self.longest or (self.any_line and not self.any_line.search(words)):
            return None
        for pattern, regex in self.lines:
            if len(words) <= pattern.max_length and regex.search(words):
                return pattern
        return None

    def title_marker(self, line: str) -> tuple[Pattern, int, int] | None:
        indent = len(line) - len(line.lstrip())
        body = fold(line.strip())
        for pattern, regex in self.titles:
            found = regex.search(body) if len(body) <= pattern.max_length else None
            if found and found.end() > found.start():
                return pattern, indent + found.start(), indent + found.end()
        return None


def _union(regexes: list[str], flags: int = 0) -> re.Pattern[str] | None:
    """One regex that any of the patterns matches: a cheap first test."""
    try:
        return re.compile("|".join(f"(?:{r})" for r in regexes), flags)
    except re.error:  # e.g. a user pattern with global inline flags: test the patterns one by one
        return None


def _check_examples(pattern: Pattern, regex: re.Pattern[str]) -> None:
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
    """The lines of one text, classified lazily (most documents need only a few at each end)."""

    def __init__(self, text: str, compiled: _Compiled) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0, *accumulate(len(line) + 1 for line in self.lines)]
        self.compiled = compiled
        self._kinds: dict[int, tuple[str, LineMatch | None]] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def kind(self, i: int) -> tuple[str, LineMatch | None]:
        """("match", m), ("blank", None), ("filler", None) or ("content", None)."""
        known = self._kinds.get(i)
        if known is None:
            known = self._kinds[i] = self._classify(i)
        return known

    def _classify(self, i: int) -> tuple[str, LineMatch | None]:
        line = self.lines[i].strip()
        if not line:
            return "blank", None
        pattern = self.compiled.match(line)
        if pattern is not None:
            return "match", LineMatch(pattern)
        if len(line) > FILLER_MAX_CHARS:
            return "content", None
        if i + 1 < len(self.lines):
            below, match = self.kind(i + 1)
            if below == "match" and match and match.pattern.takes_line_before and not match.owned:
                return "match", LineMatch(match.pattern, owned=True)
        return "filler", None

    def span(self, i: int) -> tuple[int, int]:
        """Line i with its newline."""
        return self.starts[i], min(self.starts[i + 1], len(self.text))


def _grow(lines: _Lines, start: int, step: int, fillers: bool) -> tuple[int | None, bool]:
    """Walk from `start` while lines are boilerplate; return the last matched line and whether any was strong."""
    last: int | None = None
    strong = False
    pending = 0
    i = start
    while 0 <= i < len(lines):
        kind, match = lines.kind(i)
        if kind == "match":
            last, pending = i, 0
            strong = strong or match.strong
        elif kind == "filler" and fillers and last is not None and pending < FILLER_MAX_RUN:
            pending += 1
        elif kind != "blank":
            break
        i += step
    return last, strong


def _blocks(lines: _Lines) -> list[tuple[int, int]]:
    """Line ranges (inclusive) of the header, footer and post-boundary blocks."""
    found: list[tuple[int, int]] = []
    if not lines.lines:
        return found
    last = len(lines) - 1
    if last > 0 and not lines.lines[last]:  # the empty string after a final newline is not a line
        last -= 1
    end, strong = _grow(lines, 0, 1, fillers=True)
    if end is not None and strong:
        found.append((0, end))
    begin, strong = _grow(lines, last, -1, fillers=True)
    if begin is not None and strong:
        found.append((begin, last))
    if lines.compiled.anywhere is not None:
        for hit in lines.compiled.anywhere.finditer(lines.text):
            i = bisect_right(lines.starts, hit.start()) - 1
            kind, match = lines.kind(i)
            if kind != "match" or not match.strong or any(a <= i <= b for a, b in found):
                continue
            first, _ = _grow(lines, i, -1, fillers=False)
            final, _ = _grow(lines, i, 1, fillers=False)
            found.append((first, final))
    return _merge(found)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _trim_blank_edges(lines: _Lines, a: int, b: int) -> tuple[int, int]:
    while a < b and lines.kind(a)[0] == "blank":
        a += 1
    while b > a and lines.kind(b)[0] == "blank":
        b -= 1
    return a, b


def analyse(text: str, compiled: _Compiled, selected: frozenset[str], max_share: float) -> Analysis:
    """Find every removal the selected boilerplate rules would make in `text`."""
    lines = _Lines(text, compiled)
    result = Analysis()
    header_end = -1
    for a, b in _blocks(lines):
        a, b = _trim_blank_edges(lines, a, b)
        if a == 0:
            header_end = b
        result.blocks.append((lines.span(a)[0], lines.span(b)[1]))
        result.removals.extend(_block_removals(lines, a, b, selected))
    title = _title_removal(lines, header_end + 1, selected)
    if title is not None:
        result.removals.append(title)
    result.removed_chars = sum(r.end - r.start for r in result.removals)
    if text and result.removed_chars > max_share * len(text):
        result.oversized = True
    return result


def _block_removals(lines: _Lines, a: int, b: int, selected: frozenset[str]) -> list[Removal]:
    """One removal per run of lines of the same rule; weak, owned, filler and blank lines go to
    the rule with the most strong lines in the block."""
    matches = [lines.kind(i)[1] for i in range(a, b + 1)]
    strong_codes = Counter(m.pattern.code for m in matches if m is not None and m.strong)
    if not strong_codes:
        return []
    dominant = min(strong_codes, key=lambda c: (-strong_codes[c], c))
    removals: list[Removal] = []
    for i, match in zip(range(a, b + 1), matches):
        code = match.pattern.code if match is not None and match.strong else dominant
        if code not in selected:
            continue
        start, end = lines.span(i)
        if match is not None:
            confidence = STRONG_CONFIDENCE if match.strong else WEAK_CONFIDENCE
            message = f"{match.pattern.id}: {match.pattern.description}"
            if match.owned:
                message = f"poster line above {match.pattern.id}"
        else:
            confidence, message = WEAK_CONFIDENCE, "between boilerplate lines"
        previous = removals[-1] if removals else None
        if previous is not None and previous.code == code and previous.end == start:
            previous.end = end
            previous.confidence = min(previous.confidence, confidence)
            previous.message = previous.message if previous.message == message else f"{previous.message}; {message}"
        else:
            removals.append(Removal(code, start, end, "", confidence, message))
    return removals


def _title_removal(lines: _Lines, first: int, selected: frozenset[str]) -> Removal | None:
    """A decorative marker on the first line after the header."""
    if not lines.compiled.titles:
        return None
    while first < len(lines) and not lines.lines[first].strip():
        first += 1
    if first >= len(lines):
        return None
    found = lines.compiled.title_marker(lines.lines[first])
    if found is None or found[0].code not in selected:
        return None
    pattern, start, end = found
    base = lines.starts[first]
    return Removal(pattern.code, base + start, base + end, "", STRONG_CONFIDENCE, f"{pattern.id}: {pattern.description}")


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
            elif rule_file.code in _CODE_RULES:
                raise RuleError(f"{rule_file.path}: rule code {rule_file.code} is already used by {_CODE_RULES[rule_file.code].name}")
            else:
                self.rules[rule_file.code] = _make_rule(rule_file, self)
            ids = {p.id for p in patterns if p.code == rule_file.code}
            for pattern in rule_file.patterns:
                if pattern.id in ids:
                    raise RuleError(f"{pattern.label}: id already used by rule {pattern.code}")
            patterns.extend(rule_file.patterns)
        self.patterns = patterns

    @property
    def compiled(self) -> _Compiled:
        # compiled on first use: the Hanzi fold table costs ~40 ms, not paid by `repair --help`
        if "_compiled" not in self.__dict__:
            self.__dict__["_compiled"] = _Compiled(self.patterns)
        return self.__dict__["_compiled"]

    def analysis(self, text: str, ctx: Context) -> Analysis:
        selected = frozenset(code for code, rule in self.rules.items() if ctx.config.is_selected(rule))
        share = max_share(ctx.config)
        key = f"boilerplate:{id(self)}:{sorted(selected)}:{share}"
        return ctx.memo(key, text, lambda t: analyse(t, self.compiled, selected, share))


class PatternRule(Rule):
    """A boilerplate rule read from a rule file (the class docstring is the file's description)."""

    source: str = ""
    ruleset: RuleSet

    def find(self, text: str, ctx: Context):
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
    return RuleSet(files)


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

    def find(self, text: str, ctx: Context):
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


_CODE_RULES: dict[str, Rule] = {OversizedRemoval.code: OversizedRemoval()}


def max_share(config: Config) -> float:
    return float(config.rule_options(_CODE_RULES["B106"])["max-share"])


# The corpus-level rule (B201) lives in repair.corpus; importing it here registers it.
from repair import corpus  # noqa: E402,F401

_CODE_RULES[corpus.RepeatedLine.code] = corpus.RepeatedLine()
