"""Build the tables the rules would otherwise derive at every start:

  repair/data/gate_markers.json  the M106/M107 gate's marker characters per confusion
                                 (repair.mojibake.big5.derive_gate_markers: both code tables and
                                 the language model's ranks, a tenth of a second);
  repair/data/script_chars.txt   the traditional-only, then the simplified-only characters, each
                                 line sorted by code point (repair.script.derive_script_chars:
                                 every Han character through the official OpenCC's t2s and s2t).

Rebuild after changing the model, the derivations or their constants, or after upgrading OpenCC;
tests/test_big5.py and tests/test_script.py check the shipped files against the derivations.

Usage: .venv/bin/python scripts/build_startup_tables.py
"""
from __future__ import annotations

import json

from repair.mojibake.big5 import MARKERS_PATH, Big5ReadAsGbk, GbkReadAsBig5, derive_gate_markers
from repair.script import SCRIPT_CHARS_PATH, derive_script_chars, opencc_backend


def main() -> None:
    if opencc_backend() != "official":
        raise SystemExit("build with the official OpenCC binding (pip install opencc)")
    markers = {rule.confusion.key: derive_gate_markers(rule.confusion) for rule in (Big5ReadAsGbk, GbkReadAsBig5)}
    MARKERS_PATH.write_text(json.dumps(markers, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    traditional, simplified = derive_script_chars()
    SCRIPT_CHARS_PATH.write_text("".join(sorted(traditional)) + "\n" + "".join(sorted(simplified)) + "\n",
                                 encoding="utf-8")
    print(f"{MARKERS_PATH}: {', '.join(f'{key} {len(chars)}' for key, chars in markers.items())} markers")
    print(f"{SCRIPT_CHARS_PATH}: {len(traditional)} traditional-only, {len(simplified)} simplified-only")


if __name__ == "__main__":
    main()
