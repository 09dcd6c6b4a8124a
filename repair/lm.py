"""A small character language model of Chinese (simplified and traditional), for choosing repairs.

Mojibake repair produces candidates that differ by one character or by a whole re-decoding; only
"which one is plausible Chinese" separates them. This module scores text with a character bigram
model built by scripts/build_lm.py from jieba's word list with frequencies (MIT; traditional forms
via OpenCC) and stored in repair/data/zh_char_lm.bin (1 MB). It loads lazily on first use
(about 0.05 s, ~10 MB) and needs only the standard library.

How a character is scored, given the one before it (natural logs throughout):
  - Every character has a class: han, punct (CJK and ASCII punctuation), digit, latin (ASCII,
    fullwidth and accented letters, pinyin vowels), space,
    newline, kana, hangul, symbol (other symbols, bopomofo, box drawing, Latin-1 letters...),
    bad (U+FFFD, private use, controls). ``CLASS_COST`` gives -ln P(class | previous class);
    a class change inside Chinese text costs a few nats, kana, symbols and U+FFFD after Han a lot.
  - Han after Han: the bigram model -- within-word pairs from the dictionary, interpolated with a
    word-boundary back-off (chance that a word ends after the previous character, times the
    word-initial distribution), so text crossing word boundaries is not punished heavily.
  - Han after anything else: the word-initial distribution. Han characters outside the dictionary
    (rare Hanzi, extension B) cost the data file's `unknown_logp` (about -19).
  - Other classes: a flat per-character cost within the class (``MEMBER_COST``).

API:
  logprob(text, left="", right="") -> total log probability of `text`; `left` is the text before
      it (only its last character matters) and `right` the text after (the transition into its
      first character is counted), so spans can be scored in place.
  mean_logprob(text) -> logprob per character (0.0 for "").
  compare(a, b, left="", right="") -> logprob(a) - logprob(b) in the same context: > 0 means `a`
      is the better Chinese. Rules treat a margin >= ``CLEAR_MARGIN`` (6 nats) as "clearly better".
  step(prev, ch) -> ln P(ch | prev) for one character (prev "" = line start); for searches.
  frequency_rank(ch) -> 0 for the commonest Han character (both scripts), None if unseen.
  is_known(ch) -> whether the dictionary has seen this Han character.
  han_ratio(text) -> share of non-space characters that are Han.
  char_class(ch) -> the class name used above.

Typical values measured on the seeds and the dev benchmark (tests/test_lm.py checks them):
  - clean simplified or traditional prose: mean_logprob about -5.5 to -7 per character;
    Debian man-page text with ASCII around -4 to -5.
  - Big5 read as GBK, GBK read as Big5, misaligned GBK: about -10 to -13 per character.
  - UTF-8 read as GBK: about -11 to -12 per character.
  - one wrong character in a clause: the correct clause wins by about 5 to 20 nats
    (`社保基金管理` beats `社保基全管理` by ~6, `社保基仝管理` by ~13).
  - `。“走出去、請進來”` vs `?!白叱鋈ァ⒄堖M來”`: margin about 75 nats.
"""
from __future__ import annotations

import json
import math
import zlib
from array import array
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

DATA_PATH = Path(__file__).with_name("data") / "zh_char_lm.bin"
MAGIC = b"ZHCHARLM1\n"
CLEAR_MARGIN = 6.0  # nats; "candidate a is clearly better than b"

HAN, PUNCT, DIGIT, LATIN, SPACE, NEWLINE, KANA, HANGUL, SYMBOL, BAD = (
    "han", "punct", "digit", "latin", "space", "newline", "kana", "hangul", "symbol", "bad")

# Punctuation used in Chinese text, fullwidth and ASCII (NFKC-normalised corpora use ASCII).
_PUNCT = set("，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕—…·～－"
             ",.;:?!()[]{}\"'-/<>&%*+=_#@|~`$^\\")
_FULLWIDTH_DIGITS = set("０１２３４５６７８９")


def _is_accented_latin(o: int) -> bool:
    """Latin-1 and Latin Extended-A letters, and the pinyin vowels with a caron (ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ)."""
    return (0xC0 <= o <= 0x17F and o not in (0xD7, 0xF7)) or 0x1CD <= o <= 0x1DC


@lru_cache(maxsize=65536)
def char_class(ch: str) -> str:
    """The class of one character (see module docstring)."""
    o = ord(ch)
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x3FFFF or 0xF900 <= o <= 0xFAFF or o == 0x3007:
        return HAN
    if ch in _PUNCT or 0xFF01 <= o <= 0xFF0F or 0xFF1A <= o <= 0xFF20 or 0xFF3B <= o <= 0xFF40 or 0xFF5B <= o <= 0xFF65:
        return PUNCT
    if ch == "\n" or ch == "\r":
        return NEWLINE
    if ch in " \t\u3000\xa0":
        return SPACE
    if "0" <= ch <= "9" or ch in _FULLWIDTH_DIGITS:
        return DIGIT
    if "a" <= ch <= "z" or "A" <= ch <= "Z" or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A or _is_accented_latin(o):
        return LATIN
    if 0x3041 <= o <= 0x30FF:
        return KANA
    if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return HANGUL
    if o == 0xFFFD or 0xE000 <= o <= 0xF8FF or o < 0x20 or 0x7F <= o <= 0x9F:
        return BAD
    return SYMBOL


def _class_costs() -> dict[tuple[str, str], float]:
    """-ln P(class | previous class): hand-set, sensible for mixed Chinese text."""
    p = {
        HAN: {HAN: 0.85, PUNCT: 0.11, DIGIT: 0.01, LATIN: 0.01, SPACE: 0.01, NEWLINE: 0.01,
              KANA: 2e-5, HANGUL: 1e-5, SYMBOL: 2e-4, BAD: 1e-6},
        PUNCT: {HAN: 0.6, PUNCT: 0.15, DIGIT: 0.04, LATIN: 0.05, SPACE: 0.08, NEWLINE: 0.08,
                KANA: 5e-5, HANGUL: 1e-4, SYMBOL: 2e-3, BAD: 1e-6},
        DIGIT: {HAN: 0.3, PUNCT: 0.15, DIGIT: 0.45, LATIN: 0.03, SPACE: 0.05, NEWLINE: 0.02,
                KANA: 1e-4, HANGUL: 1e-4, SYMBOL: 2e-3, BAD: 1e-6},
        LATIN: {HAN: 0.05, PUNCT: 0.06, DIGIT: 0.02, LATIN: 0.72, SPACE: 0.13, NEWLINE: 0.02,
                KANA: 1e-4, HANGUL: 1e-4, SYMBOL: 1e-3, BAD: 1e-6},
        SPACE: {HAN: 0.3, PUNCT: 0.1, DIGIT: 0.05, LATIN: 0.25, SPACE: 0.25, NEWLINE: 0.05,
                KANA: 1e-4, HANGUL: 1e-3, SYMBOL: 3e-3, BAD: 1e-6},
        NEWLINE: {HAN: 0.4, PUNCT: 0.1, DIGIT: 0.05, LATIN: 0.1, SPACE: 0.2, NEWLINE: 0.15,
                  KANA: 1e-4, HANGUL: 1e-3, SYMBOL: 3e-3, BAD: 1e-6},
        # Japanese and Korean text continue in their own script; rules judge those, not this model.
        KANA: {HAN: 0.3, PUNCT: 0.1, KANA: 0.55, SPACE: 0.02, NEWLINE: 0.02, DIGIT: 0.01,
               LATIN: 0.01, HANGUL: 1e-5, SYMBOL: 1e-3, BAD: 1e-6},
        HANGUL: {HAN: 0.02, PUNCT: 0.1, HANGUL: 0.7, SPACE: 0.15, NEWLINE: 0.02, DIGIT: 0.01,
                 LATIN: 0.01, KANA: 1e-5, SYMBOL: 1e-3, BAD: 1e-6},
        SYMBOL: {HAN: 0.3, PUNCT: 0.1, DIGIT: 0.05, LATIN: 0.05, SPACE: 0.2, NEWLINE: 0.1,
                 KANA: 1e-3, HANGUL: 1e-3, SYMBOL: 0.2, BAD: 1e-6},
        BAD: {HAN: 0.2, PUNCT: 0.1, DIGIT: 0.05, LATIN: 0.05, SPACE: 0.1, NEWLINE: 0.1,
              KANA: 1e-3, HANGUL: 1e-3, SYMBOL: 0.05, BAD: 0.3},
    }
    return {(a, b): -math.log(v) for a, row in p.items() for b, v in row.items()}


CLASS_COST = _class_costs()
# -ln P(character | its class), flat within the class: roughly ln(number of common members).
# Lost-byte marks and private-use characters are damage in Chinese text, each one on its own.
MEMBER_COST = {PUNCT: 5.0, DIGIT: 2.3, LATIN: 3.5, SPACE: 0.3, NEWLINE: 0.1, KANA: 5.5,
               HANGUL: 7.0, SYMBOL: 7.0, BAD: 10.0}
# A line rarely ends on a mark that continues the sentence.
LINE_END_COST = {"、": 5.0, "，": 3.0, ",": 2.0, "：": 1.5, "；": 1.5,
                 **dict.fromkeys("“‘（《「『【〈〔", 5.0)}  # an opening bracket or quote never ends a line
IDEOGRAPHIC_SPACE_COST = 3.0  # U+3000 is rarer than an ASCII space
ACCENTED_LATIN_COST = 6.0  # é, ü, ǐ: Latin letters too, rarer than ASCII ones

# Punctuation is not equally likely: the common marks are cheap, question and exclamation marks
# (also the usual stand-in for lost bytes) dearer, programmer's symbols dearer still.
PUNCT_COST = {**{ch: 1.5 for ch in "，。、,.“”"}, **{ch: 2.5 for ch in "；：（）《》;:()\"'「」-—…‘’/"},
              **{ch: 3.5 for ch in "？！?!"}, **{ch: 5.0 for ch in "^\\`|~$#@{}<>_*+=&%"}}


class _Model:
    __slots__ = ("index", "logpi", "logalpha", "offsets", "nexts", "costs", "quant", "unknown")

    def __init__(self, path: Path):
        raw = path.read_bytes()
        if not raw.startswith(MAGIC):
            raise ValueError(f"{path} is not a character language model file")
        header_end = raw.index(b"\n", len(MAGIC))
        header = json.loads(raw[len(MAGIC):header_end])
        blob = zlib.decompress(raw[header_end + 1:])
        vocab_len, n = header["vocab_bytes"], header["vocab"]
        vocab = blob[:vocab_len].decode("utf-8")
        pos = vocab_len
        self.logpi, pos = _take(blob, pos, "f", n)
        self.logalpha, pos = _take(blob, pos, "f", n)
        self.offsets, pos = _take(blob, pos, "I", n + 1)
        self.nexts, pos = _take(blob, pos, "H", header["pairs"])
        self.costs, pos = _take(blob, pos, "B", header["pairs"])
        self.index = {ch: i for i, ch in enumerate(vocab)}
        self.quant = header["quant"]
        self.unknown = header["unknown_logp"]


def _take(blob: bytes, pos: int, typecode: str, count: int) -> tuple[array, int]:
    arr = array(typecode)
    end = pos + arr.itemsize * count
    arr.frombytes(blob[pos:end])
    return arr, end


@lru_cache(maxsize=1)
def _model() -> _Model:
    return _Model(DATA_PATH)


def _han_logp(model: _Model, prev: int | None, ch: str) -> float:
    """ln P(ch | prev) for a Han character; prev is the previous Han character's index or None."""
    j = model.index.get(ch)
    if j is None:
        return model.unknown
    if prev is None:
        return model.logpi[j]
    lo, hi = model.offsets[prev], model.offsets[prev + 1]
    k = bisect_left(model.nexts, j, lo, hi)
    if k < hi and model.nexts[k] == j:
        return -model.costs[k] / model.quant
    return model.logalpha[prev] + model.logpi[j]


def logprob(text: str, left: str = "", right: str = "") -> float:
    """Total natural-log probability of `text` after `left`, including the step into `right`."""
    model = _model()
    prev_class = char_class(left[-1]) if left else NEWLINE
    prev_han = model.index.get(left[-1]) if left and prev_class == HAN else None
    total = 0.0
    seq = text + right[:1]
    prev = left[-1:]
    for ch in seq:
        cls = char_class(ch)
        total -= CLASS_COST[prev_class, cls]
        if cls == NEWLINE:
            total -= LINE_END_COST.get(prev, 0.0)
        prev = ch
        if cls == HAN:
            total += _han_logp(model, prev_han, ch)
            prev_han = model.index.get(ch)
        else:
            prev_han = None
            if cls == PUNCT:
                total -= PUNCT_COST.get(ch, MEMBER_COST[PUNCT])
            elif cls == LATIN and ch > "\x7f":
                total -= ACCENTED_LATIN_COST
            elif ch == "\u3000":
                total -= IDEOGRAPHIC_SPACE_COST
            else:
                total -= MEMBER_COST[cls]
        prev_class = cls
    return total


@lru_cache(maxsize=1 << 16)  # bigger caches thrash: slower and ~50 MB more per process
def step(prev: str, ch: str) -> float:
    """ln P(ch | prev) for one character after one character ("" = start of a line)."""
    model = _model()
    prev_class = char_class(prev) if prev else NEWLINE
    cls = char_class(ch)
    cost = -CLASS_COST[prev_class, cls]
    if cls == HAN:
        return cost + _han_logp(model, model.index.get(prev) if prev_class == HAN else None, ch)
    if cls == PUNCT:
        return cost - PUNCT_COST.get(ch, MEMBER_COST[PUNCT])
    if cls == LATIN and ch > "\x7f":
        return cost - ACCENTED_LATIN_COST
    if cls == NEWLINE:
        return cost - LINE_END_COST.get(prev, 0.0) - MEMBER_COST[cls]
    if ch == "\u3000":
        return cost - IDEOGRAPHIC_SPACE_COST
    return cost - MEMBER_COST[cls]


def frequency_rank(ch: str) -> int | None:
    """0 for the commonest Han character in the dictionary, None for one it never saw."""
    return _model().index.get(ch)


def is_known(ch: str) -> bool:
    """Whether the model's dictionary has seen this Han character."""
    return ch in _model().index


def mean_logprob(text: str) -> float:
    """logprob per character: about -6 for clean Chinese, below -10 for mojibake."""
    return logprob(text) / len(text) if text else 0.0


def compare(a: str, b: str, left: str = "", right: str = "") -> float:
    """logprob(a) - logprob(b) in the same context; >= CLEAR_MARGIN means `a` is clearly better."""
    return logprob(a, left, right) - logprob(b, left, right)


def best(candidates: list[str], left: str = "", right: str = "") -> tuple[str, float]:
    """The most probable candidate and its margin over the runner-up (inf if there is only one)."""
    scored = sorted(((logprob(c, left, right), c) for c in candidates), reverse=True)
    if not scored:
        raise ValueError("no candidates")
    margin = scored[0][0] - scored[1][0] if len(scored) > 1 else math.inf
    return scored[0][1], margin


def han_ratio(text: str) -> float:
    """Share of non-space characters that are Han (0.0 for blank text)."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    return sum(1 for ch in chars if char_class(ch) == HAN) / len(chars)


# Brackets: a bigram model cannot see that a `》` closes the `《` before it, nor that a `」` with no
# `「` anywhere before it closes nothing. Searches that fill in lost characters ask these.
_BRACKETS = {"《": "》", "「": "」", "『": "』", "（": "）", "“": "”", "【": "】", "〈": "〉", "(": ")"}
_OPENER = {close: open_ for open_, close in _BRACKETS.items() if close != ")"}  # `)` also ends "1)"
BRACKET_BONUS = 6.0  # nats for the closing bracket the line waits for
BRACKET_REACH = 200  # characters looked back for an unclosed bracket


def unclosed_bracket(text: str) -> str:
    """The closing bracket the last unclosed opening bracket in `text` (its last line) waits for."""
    stack = []
    for ch in text[text.rfind("\n") + 1 :]:
        if ch in _BRACKETS:
            stack.append(_BRACKETS[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
    return stack[-1] if stack else ""


def bracket_fit(ch: str, awaited: str, before: str) -> float:
    """Nats for a candidate character: the closing bracket the line waits for gains
    BRACKET_BONUS, a closing bracket with no opening one in `before` loses as much."""
    if ch == awaited:
        return BRACKET_BONUS
    return -BRACKET_BONUS if ch in _OPENER and _OPENER[ch] not in before else 0.0
