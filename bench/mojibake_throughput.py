"""Throughput of mojibake detection and repair, against ftfy.fix_text on the same text, same run.

    .venv/bin/python bench/mojibake_throughput.py            # rules M102-M105
    .venv/bin/python bench/mojibake_throughput.py --all      # every rule on by default
    .venv/bin/python bench/mojibake_throughput.py --repeat 3 --clean-only

The text is every seed file and every benchmark document (../shared/eval/data/dev/*/*.txt,
damaged inputs and gold files), each processed as one document, as a corpus run would.
Each measurement is the best of --repeat runs; caches are warmed by one untimed pass first.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ftfy  # noqa: E402

import repair  # noqa: E402
from repair.config import parse_table  # noqa: E402

MOJIBAKE_CODES = ["M102", "M103", "M104", "M105"]


def corpus(clean_only: bool) -> list[str]:
    paths = sorted((ROOT / "seeds").glob("*.txt"))
    dev = ROOT.parent / "shared" / "eval" / "data" / "dev"
    for path in sorted(dev.glob("*/*.txt")):
        if not clean_only or path.parent.name.startswith("clean_") or path.name.endswith(".gold.txt"):
            paths.append(path)
    return [p.read_text(encoding="utf-8") for p in paths]


def best_time(fn, docs: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for doc in docs:
            fn(doc)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="run every default rule, not only M102-M105")
    parser.add_argument("--clean-only", action="store_true", help="only clean text (gold files, clean controls, seeds)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    config = parse_table({} if args.all else {"select": MOJIBAKE_CODES}, None)
    docs = corpus(args.clean_only)
    megabytes = sum(len(d.encode("utf-8")) for d in docs) / 1e6

    def detect(doc: str) -> object:
        return repair.scan_text(doc, config)

    def fix(doc: str) -> object:
        return repair.fix_text(doc, config)

    for fn in (ftfy.fix_text, detect, fix):  # warm caches, lazy loads and the language model
        for doc in docs:
            fn(doc)
    ftfy_s = best_time(ftfy.fix_text, docs, args.repeat)
    rows = [("ftfy.fix_text", ftfy_s), ("repair.scan_text (detect)", best_time(detect, docs, args.repeat)),
            ("repair.fix_text (fix)", best_time(fix, docs, args.repeat))]
    rules = "all default rules" if args.all else " ".join(MOJIBAKE_CODES)
    print(f"{len(docs)} documents, {megabytes:.2f} MB of UTF-8; rules: {rules}; best of {args.repeat}")
    print(f"{'':28} {'seconds':>8} {'MB/s':>8} {'x ftfy':>8}")
    for name, seconds in rows:
        print(f"{name:28} {seconds:8.3f} {megabytes / seconds:8.2f} {ftfy_s / seconds:8.2f}")


if __name__ == "__main__":
    main()
