"""Pinyin readings of single characters, from a compact table built from pypinyin's
(scripts/build_pinyin_table.py): the annotation rules and M101 need only these, and importing
pypinyin would load its phrase dictionaries as well (about 60 MB of memory for every worker)."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent / "data" / "pinyin_readings.txt.gz"


@lru_cache(maxsize=1)
def pinyin_dict() -> dict[int, str]:
    """Code point -> its readings joined by commas (pypinyin's PINYIN_DICT format)."""
    text = gzip.decompress(TABLE_PATH.read_bytes()).decode("utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        char, readings = line.split("\t")
        table[ord(char)] = readings
    return table
