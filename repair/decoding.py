"""E1xx: decoding raw bytes to text (being rewritten; interface is stable)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repair.records import Change


@dataclass
class Decoded:
    text: str
    encoding: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    complete: bool = True  # False: some bytes could not be decoded (never overwrite the source)
    binary: bool = False

    @property
    def info(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "encoding_reason": self.reason}


def decode_bytes(data: bytes, path: str | None = None) -> Decoded:
    return Decoded(data.decode("utf-8", errors="replace"), "utf-8", "placeholder")
