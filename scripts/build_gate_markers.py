"""Build repair/data/gate_markers.json, the marker characters of the M106/M107 gate.

Each confusion's markers are what the right codec's common characters and punctuation turn into
under the wrong decoder (in step or one byte out of step) and clean Chinese hardly uses
(repair.mojibake.big5.derive_gate_markers): derived from the codec tables and the language
model, which takes a tenth of a second that every process would pay before its first line.
Rebuild after changing the model, the derivation or its constants; tests/test_big5.py checks
that the shipped file matches the derivation.

Usage: .venv/bin/python scripts/build_gate_markers.py [--out repair/data/gate_markers.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from repair.mojibake.big5 import MARKERS_PATH, Big5ReadAsGbk, GbkReadAsBig5, derive_gate_markers


def build(out: Path) -> dict[str, int]:
    markers = {rule.confusion.key: derive_gate_markers(rule.confusion) for rule in (Big5ReadAsGbk, GbkReadAsBig5)}
    out.write_text(json.dumps(markers, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return {key: len(chars) for key, chars in markers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MARKERS_PATH)
    args = parser.parse_args()
    print(f"{build(args.out)} -> {args.out}")


if __name__ == "__main__":
    main()
