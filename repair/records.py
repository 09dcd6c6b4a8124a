"""The one record every rule emits, and the result of a run.

A :class:`Change` is the single source of truth: the console report, ``--diff``, the JSON report
and the tests all read these records. ``after is None`` marks a flag-only finding.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Change:
    code: str
    name: str
    start: int  # span in the input text (character offsets)
    end: int
    before: str
    after: str | None  # None: flagged, not repaired
    confidence: float
    message: str = ""
    applied: bool = False  # True once the engine has written `after` into the text

    @property
    def is_fix(self) -> bool:
        return self.after is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Result:
    """What :func:`repair.fix_text` returns: the repaired text and every record behind it."""

    text: str
    changes: list[Change] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # document facts: encoding, script, ...

    @property
    def applied(self) -> list[Change]:
        return [c for c in self.changes if c.applied]

    @property
    def findings(self) -> list[Change]:
        """Everything not applied: flags, and repairs held back as unsafe."""
        return [c for c in self.changes if not c.applied]

    @property
    def changed(self) -> bool:
        return bool(self.applied)
