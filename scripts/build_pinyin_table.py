"""Build repair/data/pinyin_readings.txt, the character readings behind repair.pinyin_table.

Source: pypinyin's single-character table (pypinyin.constants.PINYIN_DICT, MIT licence,
https://github.com/mozillazh/python-pinyin): every reading of every character, heteronyms
included, tone-marked. Importing pypinyin itself loads its phrase dictionaries too (~60 MB of
memory); this file holds only what the annotation rules ask: one line per character,
`<character>\t<reading>,<reading>...`, sorted by code point, gzip-compressed.

Usage: .venv/bin/python scripts/build_pinyin_table.py [--out repair/data/pinyin_readings.txt.gz]
"""
from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from pypinyin.constants import PINYIN_DICT

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "repair" / "data" / "pinyin_readings.txt.gz"


def build(out: Path) -> int:
    lines = [f"{chr(code)}\t{PINYIN_DICT[code]}\n" for code in sorted(PINYIN_DICT)]
    # mtime=0: the same table gives the same bytes, so a rebuild shows no spurious diff.
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write("".join(lines).encode("utf-8"))
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    print(f"{build(args.out)} characters -> {args.out}")


if __name__ == "__main__":
    main()
