"""Configuration: ``[tool.repair]`` in pyproject.toml or a ``repair.toml``, found upward from each
target as ruff does, then overridden by command-line flags. Unknown keys and wrong types are errors.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from repair.registry import Rule

SCRIPTS = ("keep", "simplified", "traditional", "tw", "hk", "twp")
CONFIG_FILES = ("repair.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()  # empty: the rules that are on by default
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    script: str = "keep"
    unsafe_fixes: bool = False
    min_confidence: float = 0.9  # repairs below this are reported, not applied (unless unsafe_fixes)
    field: str = "text"  # the JSONL string field to repair
    extend_rules: tuple[str, ...] = ()  # extra rule files, absolute paths
    # Compared but not hashed (a dict): equal configs share cached rule selections.
    options: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict, hash=False)
    source: str | None = None  # the file this config came from

    def is_selected(self, rule: Rule) -> bool:
        code = rule.code
        chosen = _matches(code, self.select) if self.select else rule.default
        chosen = chosen or _matches(code, self.extend_select)
        return chosen and not _matches(code, self.ignore)

    def rule_options(self, rule: Rule) -> dict[str, Any]:
        merged = dict(rule.options)
        merged.update(self.options.get(rule.code, {}))
        return merged

    def check_against(self, rules: dict[str, Rule]) -> None:
        """Reject codes and rule options that no rule knows."""
        where = self.source or "configuration"
        for key in ("select", "ignore", "extend_select"):
            for code in getattr(self, key):
                if code != "ALL" and not any(c.startswith(code) for c in rules):
                    raise ConfigError(f"{where}: `{_toml_name(key)}` names {code!r}, which matches no rule")
        for code, opts in self.options.items():
            rule = rules.get(code)
            if rule is None:
                raise ConfigError(f"{where}: options for unknown rule {code!r}")
            for name, value in opts.items():
                if name not in rule.options:
                    known = ", ".join(sorted(rule.options)) or "none"
                    raise ConfigError(f"{where}: rule {code} has no option {name!r} (options: {known})")
                _check_type(where, f"options.{code}.{name}", value, rule.options[name])

    def with_overrides(self, **overrides: Any) -> Config:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _matches(code: str, selectors: tuple[str, ...]) -> bool:
    return any(s == "ALL" or code.startswith(s) for s in selectors)


def _toml_name(attr: str) -> str:
    return attr.replace("_", "-")


def _check_type(where: str, key: str, value: Any, default: Any) -> None:
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{where}: `{key}` must be {expected.__name__}, got {type(value).__name__} {value!r}")


_TOP_KEYS = {_toml_name(f.name): f for f in fields(Config) if f.name not in ("options", "source")}


def parse_table(table: dict[str, Any], source: Path | None) -> Config:
    """Build a Config from a ``[tool.repair]`` table (or a repair.toml's top level)."""
    where = str(source) if source else "configuration"
    defaults = Config()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "options":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{where}: `options` must be a table of tables, e.g. [tool.repair.options.B101]")
            values["options"] = {code: dict(opts) for code, opts in value.items()}
            continue
        f = _TOP_KEYS.get(key)
        if f is None:
            raise ConfigError(f"{where}: unknown key `{key}` (known: {', '.join(sorted(_TOP_KEYS))}, options)")
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: `{key}` must be a list of strings, got {value!r}")
            value = tuple(value)
            if f.name == "extend_rules" and source is not None:
                value = tuple(str((source.parent / v).resolve()) for v in value)
            if f.name == "extend_rules":
                for rule_file in value:
                    if not Path(rule_file).is_file():
                        raise ConfigError(f"{where}: `extend-rules` names {rule_file}, which is not a file")
        else:
            _check_type(where, key, value, default)
        values[f.name] = value
    if values.get("script", "keep") not in SCRIPTS:
        raise ConfigError(f"{where}: `script` must be one of {', '.join(SCRIPTS)}, got {values['script']!r}")
    if not 0.0 <= float(values.get("min_confidence", 0.9)) <= 1.0:
        raise ConfigError(f"{where}: `min-confidence` must be between 0 and 1")
    return Config(**values, source=where)


def load_file(path: Path) -> Config:
    """Read a repair.toml or pyproject.toml; a pyproject without [tool.repair] gives the defaults."""
    import tomllib  # only runs that have a config file pay for the parser

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("repair", {})
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: [tool.repair] must be a table")
    return parse_table(data, path)


def _has_repair_table(path: Path) -> bool:
    if path.name != "pyproject.toml":
        return True
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        # Most pyproject files never mention the tool: no need to parse them.
        return b"repair" in raw and "repair" in tomllib.loads(raw.decode("utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # let load_file report the problem


@lru_cache(maxsize=1024)
def find_config_file(directory: Path) -> Path | None:
    """The nearest repair.toml, or pyproject.toml with [tool.repair], at or above `directory`."""
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file() and _has_repair_table(candidate):
                return candidate
    return None


def config_for(target: Path) -> Config:
    """The config that governs `target` (a file or directory)."""
    start = target.resolve()
    found = find_config_file(start if start.is_dir() else start.parent)
    return load_file(found) if found else Config()
