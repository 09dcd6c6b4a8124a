"""Build repair/data/script_chars.txt: the traditional-only and the simplified-only characters.

repair.script.derive_script_chars converts every Han character with OpenCC's t2s and s2t, one
character at a time (the official binding's tables); telling the scripts apart then needs no
OpenCC at run time. Two lines: the traditional-only characters, then the simplified-only ones,
each sorted by code point. Rebuild after upgrading OpenCC; tests/test_script.py checks the
shipped file against the installed OpenCC.

Usage: .venv/bin/python scripts/build_script_chars.py [--out repair/data/script_chars.txt]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from repair.script import SCRIPT_CHARS_PATH, derive_script_chars, opencc_backend


def build(out: Path) -> tuple[int, int]:
    if opencc_backend() != "official":
        raise SystemExit("build with the official OpenCC binding (pip install opencc)")
    traditional, simplified = derive_script_chars()
    out.write_text("".join(sorted(traditional)) + "\n" + "".join(sorted(simplified)) + "\n", encoding="utf-8")
    return len(traditional), len(simplified)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SCRIPT_CHARS_PATH)
    args = parser.parse_args()
    traditional, simplified = build(args.out)
    print(f"{traditional} traditional-only, {simplified} simplified-only characters -> {args.out}")


if __name__ == "__main__":
    main()
