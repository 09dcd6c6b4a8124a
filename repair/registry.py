"""Rules and the registry that discovers them.

A rule is one unit: a code (family letter + number), a name, a one-line summary, an example, and
``find()``, which detects and, where it can, proposes the repair as :class:`Change` records.
The engine decides what is applied. Rule modules register at import; they must import cheaply and
load heavy resources (language model, OpenCC, pypinyin) inside ``find()``.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from repair.records import Change

if TYPE_CHECKING:
    from repair.config import Config

# The order families run in: decode -> mojibake -> annotation -> boilerplate -> script -> punctuation.
FAMILY_ORDER = "EMABSP"
FAMILY_NAMES = {
    "E": "decoding",
    "M": "mojibake",
    "A": "annotation residue",
    "B": "boilerplate",
    "S": "script",
    "P": "punctuation and whitespace",
}
# Modules whose import registers the built-in rules, in family order.
RULE_MODULES = (
    "repair.decoding",
    "repair.mojibake",
    "repair.annotation",
    "repair.boilerplate",
    "repair.corpus",
    "repair.script",
    "repair.punctuation",
)


class Context:
    """What a rule may know besides the text: its options, the run's config, the document's facts."""

    def __init__(self, config: Config, path: str | None = None, info: dict[str, Any] | None = None):
        self.config = config
        self.path = path
        self.info: dict[str, Any] = info if info is not None else {}
        self._memo: dict[str, tuple[str, Any]] = {}

    def options(self, rule: Rule) -> dict[str, Any]:
        return self.config.rule_options(rule)

    def memo(self, key: str, text: str, compute: Callable[[str], Any]) -> Any:
        """Share one analysis of `text` between rules (recomputed when the text has changed)."""
        hit = self._memo.get(key)
        if hit is not None and (hit[0] is text or hit[0] == text):
            return hit[1]
        value = compute(text)
        self._memo[key] = (text, value)
        return value


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    example: ClassVar[tuple[str, str]] = ("", "")  # (damaged, repaired); for flag-only rules, repaired == damaged
    fixable: ClassVar[bool] = True
    default: ClassVar[bool] = True  # on unless the config selects otherwise
    options: ClassVar[dict[str, Any]] = {}  # option name -> default value; the default's type is enforced
    # Text-level rules run in the engine; byte-level rules (E1xx) are applied by the decoder.
    text_rule: ClassVar[bool] = True

    @property
    def family(self) -> str:
        return self.code[0]

    @property
    def explanation(self) -> str:
        return inspect.cleandoc(type(self).__doc__ or self.summary)

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        raise NotImplementedError

    # Helpers so rules build records the same way.
    def fix(self, text: str, start: int, end: int, after: str, confidence: float, message: str = "") -> Change:
        return Change(self.code, self.name, start, end, text[start:end], after, confidence, message or self.summary)

    def flag(self, text: str, start: int, end: int, confidence: float, message: str = "") -> Change:
        return Change(self.code, self.name, start, end, text[start:end], None, confidence, message or self.summary)


class RuleError(ValueError):
    """A rule or rule file that cannot be used (bad regex, duplicate code, ...)."""


_RULES: dict[str, Rule] = {}
_LOADERS: list[Callable[[Config], Iterable[Rule]]] = []
_loaded = False


def register(rule: Rule | type[Rule]) -> Any:
    """Register a rule instance, or use as a class decorator."""
    instance = rule() if isinstance(rule, type) else rule
    if not instance.code or instance.code[0] not in FAMILY_ORDER:
        raise RuleError(f"rule {instance!r} has no valid code (family letter + number)")
    known = _RULES.get(instance.code)
    if known is not None and type(known) is not type(instance):
        raise RuleError(f"rule code {instance.code} is used twice ({known.name}, {instance.name})")
    _RULES[instance.code] = instance
    return rule


def register_loader(loader: Callable[[Config], Iterable[Rule]]) -> Callable[[Config], Iterable[Rule]]:
    """Register a function that builds extra rules from a config (user rule files: `extend-rules`)."""
    _LOADERS.append(loader)
    return loader


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        for module in RULE_MODULES:
            importlib.import_module(module)
        _loaded = True


def builtin_rules() -> dict[str, Rule]:
    _load_builtin()
    return dict(_RULES)


def all_rules(config: Config | None = None) -> dict[str, Rule]:
    """Every known rule by code, in running order: built-in ones plus those the config's files add."""
    rules = builtin_rules()
    if config is not None:
        for loader in _LOADERS:
            for rule in loader(config):
                if rule.code in rules and type(rules[rule.code]) is not type(rule):
                    raise RuleError(f"rule code {rule.code} from a rule file clashes with {rules[rule.code].name}")
                rules[rule.code] = rule
    return dict(sorted(rules.items(), key=lambda kv: (FAMILY_ORDER.index(kv[0][0]), kv[0])))


def iter_rules(config: Config | None = None) -> Iterator[Rule]:
    yield from all_rules(config).values()
