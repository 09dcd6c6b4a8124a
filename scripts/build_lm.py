"""Build repair/data/zh_char_lm.bin, the character language model behind repair.lm.

Source: jieba 0.42.1's dict.txt (MIT licence, https://github.com/fxsjy/jieba), ~349k words with
corpus frequencies. Each all-Han word of frequency f adds f to
  - the unigram count of each of its characters,
  - the within-word bigram count of each adjacent character pair,
  - the word-initial count of its first character and the word-final count of its last.
The traditional side comes from converting every word with OpenCC s2t, s2tw and s2hk (each
distinct variant gets the same frequency f), so the model knows both scripts.

Stored model (see repair/lm.py for how it is used):
  P(c | p) = (1 - b(p)) * Pw(c | p) + b(p) * Pi(c)          p, c Han characters
  b(p)     = chance that a word ends after p (word-final count / all occurrences of p)
  Pw(c|p)  = Witten-Bell smoothed within-word bigram, backing off to Pi
  Pi(c)    = word-initial distribution mixed with the unigram and an unknown-character share
Seen pairs store -ln P(c|p) quantised to 1/10 nat; unseen pairs cost alpha(p) * Pi(c).

Layout: magic line, one JSON header line, then one zlib blob holding, in order,
vocab (UTF-8), logpi (float32 per char), logalpha (float32 per char), row offsets (uint32,
V+1), bigram next-char index (uint16, sorted within each row), bigram cost (uint8).

Usage: .venv/bin/python scripts/build_lm.py [--out repair/data/zh_char_lm.bin]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import zlib
from array import array
from collections import defaultdict
from pathlib import Path

import jieba
import opencc

MAGIC = b"ZHCHARLM1\n"
HAN_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+$")
WITTEN_BELL = 1.0  # frequency units per distinct continuation: how much mass goes to back-off
MIN_PAIR = 0  # keep every within-word pair; raise to shrink the file
UNKNOWN_SHARE = 1e-4  # probability mass kept for Han characters the dictionary never saw
UNIGRAM_SHARE = 0.1  # Pi mixes word-initial counts with plain unigram counts
QUANT = 10.0  # stored cost units per nat


def read_words(path: Path) -> list[tuple[str, int]]:
    words = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and HAN_WORD.match(parts[0]):
                words.append((parts[0], int(parts[1])))
    return words


def with_traditional(words: list[tuple[str, int]]) -> list[tuple[str, int]]:
    converters = [opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")]
    out = []
    for word, freq in words:
        variants = {word}
        variants.update(conv.convert(word) for conv in converters)
        out.extend((variant, freq) for variant in variants if HAN_WORD.match(variant))
    return out


def count(words: list[tuple[str, int]]):
    unigram: dict[str, float] = defaultdict(float)
    initial: dict[str, float] = defaultdict(float)
    final: dict[str, float] = defaultdict(float)
    pairs: dict[tuple[str, str], float] = defaultdict(float)
    for word, freq in words:
        for ch in word:
            unigram[ch] += freq
        initial[word[0]] += freq
        final[word[-1]] += freq
        for a, b in zip(word, word[1:]):
            pairs[a, b] += freq
    return unigram, initial, final, pairs


def build(words: list[tuple[str, int]]) -> tuple[dict, bytes]:
    unigram, initial, final, pairs = count(words)
    vocab = sorted(unigram, key=lambda ch: (-unigram[ch], ch))
    index = {ch: i for i, ch in enumerate(vocab)}
    total_uni = sum(unigram.values())
    total_init = sum(initial.values())
    pi = [
        (1 - UNKNOWN_SHARE) * ((1 - UNIGRAM_SHARE) * initial.get(ch, 0.0) / total_init
                               + UNIGRAM_SHARE * unigram[ch] / total_uni)
        for ch in vocab
    ]
    rows: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (a, b), n in pairs.items():
        if n > MIN_PAIR:
            rows[index[a]].append((index[b], n))
    logpi = array("f", (math.log(p) for p in pi))
    logalpha = array("f")
    offsets = array("I", [0])
    nexts = array("H")
    costs = array("B")
    for i, ch in enumerate(vocab):
        row = sorted(rows.get(i, []))
        inner = sum(n for _, n in row)  # occurrences of ch followed by a character of its word
        boundary = (final.get(ch, 0.0) + 1.0) / (final.get(ch, 0.0) + inner + 2.0)
        types = len(row)
        denom = inner + WITTEN_BELL * types
        # P(c|ch) = (1-b) * (n + WB*T*Pi(c)) / (N + WB*T) + b * Pi(c) = seen part + alpha * Pi(c)
        alpha = boundary + ((1 - boundary) * WITTEN_BELL * types / denom if denom else (1 - boundary))
        logalpha.append(math.log(alpha))
        for j, n in row:
            p = (1 - boundary) * n / denom + alpha * pi[j]
            nexts.append(j)
            costs.append(min(255, round(-math.log(p) * QUANT)))
        offsets.append(len(nexts))
    header = {
        "source": "jieba 0.42.1 dict.txt (MIT licence, https://github.com/fxsjy/jieba), "
                  "traditional via OpenCC s2t/s2tw/s2hk (Apache-2.0)",
        "built_by": "scripts/build_lm.py",
        "words": len(words),
        "vocab": len(vocab),
        "pairs": len(nexts),
        "quant": QUANT,
        "unknown_logp": math.log(UNKNOWN_SHARE / 20000),  # spread over ~20k unseen CJK characters
        "vocab_bytes": len("".join(vocab).encode("utf-8")),
    }
    blob = b"".join([
        "".join(vocab).encode("utf-8"),
        logpi.tobytes(), logalpha.tobytes(), offsets.tobytes(), nexts.tobytes(), costs.tobytes(),
    ])
    return header, zlib.compress(blob, 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "repair/data/zh_char_lm.bin")
    args = parser.parse_args(argv)
    if sys.byteorder != "little":
        raise SystemExit("build on a little-endian machine (the arrays are stored as little-endian)")
    words = with_traditional(read_words(Path(jieba.__file__).with_name("dict.txt")))
    header, blob = build(words)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(MAGIC + json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + blob)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, {header['vocab']} chars, {header['pairs']} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
