"""Annotation residue (A1xx): pinyin that a simplified->traditional web converter wrote after the
characters it changed, `區(qū)政府`, and what is left of it where mojibake ate the character.

The same surface, `字(zì)`, is also legitimate teaching text, so nothing is removed unless the
document as a whole carries the converter's signature (see :class:`PinyinAnnotation`).
The pinyin table (repair.pinyin_table, built from pypinyin) and OpenCC load only for documents that contain a parenthesised pinyin syllable.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from repair.records import Change
from repair.registry import Context, Rule, register

# Tone-marked letters -> (plain letter, tone). ü is spelled v, as in the tone-number convention.
_TONE_MARKS = {
    **{m: ("a", t) for t, m in enumerate("āáǎà", 1)},
    **{m: ("e", t) for t, m in enumerate("ēéěè", 1)},
    **{m: ("i", t) for t, m in enumerate("īíǐì", 1)},
    **{m: ("o", t) for t, m in enumerate("ōóǒò", 1)},
    **{m: ("u", t) for t, m in enumerate("ūúǔù", 1)},
    **{m: ("v", t) for t, m in enumerate("ǖǘǚǜ", 1)},
    "ń": ("n", 2), "ň": ("n", 3), "ǹ": ("n", 4), "ḿ": ("m", 2), "ü": ("v", 0),
}
# Tone marks as precomposed letters, and as combining marks (text that was never NFC-normalised).
_MARKED = "".join(m for m in _TONE_MARKS if m != "ü") + "\u0300\u0301\u0304\u030c"
_LETTERS = "a-zü\u0308" + _MARKED
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# Cheap gate: an opening parenthesis (or a lost character's `?`) followed by a pinyin syllable
# that carries a tone mark or a tone number. Clean text almost never matches.
PREFILTER = re.compile(rf"[(（?][a-zü\u0308]{{0,6}}(?:[{_MARKED}]|[a-zü][1-5][)）])")
# Parenthesised pinyin right after a Han character: one syllable (`區(qū)`) or a teaching text's
# word (`仿佛(fǎngfú)`, `系统(xì tǒng)`).
_ANNOTATION = re.compile(rf"(?P<char>[{_HAN}])(?P<group>[(（](?P<body>[{_LETTERS}][{_LETTERS}0-5' ]{{0,40}})[)）])")
# `?lián)`: the character and its `(` were lost to mojibake; the syllable and `)` are left.
_ORPHAN = re.compile(rf"\?(?P<body>[{_LETTERS}]{{1,6}}[0-5]?)\)")
# `W(wǎng)`: the annotation survived but its character was misread as one ASCII byte.
_STRAY = re.compile(rf"(?<![A-Za-z0-9])(?P<byte>[!-'*-~])(?P<group>[(（](?P<body>[{_LETTERS}]{{1,6}}[0-5]?)[)）])")

INFO_KEY = "pinyin_annotation"
PREFILTER_MEMO = "pinyin-prefilter"  # A101 and A102 share one scan of the same text
# Lost characters found in an earlier pass: their context in the repaired text, for the report and
# so the last pass can flag them again.
LOST_KEY = "lost_characters"
ANCHOR_CHARS = 4
# Encodings whose double-byte characters can leave an ASCII second byte behind.
LEGACY_CODECS = ("gbk", "big5")


@lru_cache(maxsize=4096)
def syllable(text: str) -> tuple[str, int] | None:
    """('qu', 1) for 'qū', 'qu1' or 'qu'+combining macron; ('lv', 4) for 'lǜ', 'lü4', 'lv4';
    tone 0 for the neutral tone (no mark, 0 or 5). None when `text` is not one syllable's spelling."""
    text = unicodedata.normalize("NFC", text.strip().lower()).replace("u:", "ü")
    tone = 0
    if text and text[-1] in "012345":
        tone, text = int(text[-1]) % 5, text[:-1]
        if any(ch in _TONE_MARKS and ch != "ü" for ch in text):
            return None
    letters = []
    for ch in text:
        plain = _TONE_MARKS.get(ch)
        if plain is not None:
            if plain[1] and tone:
                return None  # two tones in one syllable
            letters.append(plain[0])
            tone = tone or plain[1]
        elif "a" <= ch <= "z":
            letters.append(ch)
        else:
            return None
    base = "".join(letters)
    return (base, tone) if base in valid_syllables() else None


@lru_cache(maxsize=1)
def _pinyin_dict() -> dict[int, str]:
    from repair.pinyin_table import pinyin_dict  # loaded for candidate documents only

    return pinyin_dict()


@lru_cache(maxsize=1)
def valid_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows (`qu`, `lv`, `ng`, ...)."""
    bases = set()
    for readings in _pinyin_dict().values():
        for reading in readings.split(","):
            base = "".join(_TONE_MARKS.get(ch, (ch, 0))[0] for ch in unicodedata.normalize("NFC", reading))
            bases.add(base)
    return frozenset(bases)


@lru_cache(maxsize=8192)
def readings(char: str) -> frozenset[tuple[str, int]]:
    """Every reading pypinyin gives `char` (heteronyms included), and its simplified form's: the
    converter read the simplified source, so 說 may carry 说's shuì."""
    from repair.script import convert

    found = set()
    for source in {char, convert(char, "t2s")}:
        for reading in _pinyin_dict().get(ord(source), "").split(","):
            parsed = syllable(reading) if reading else None
            if parsed:
                found.add(parsed)
    return frozenset(found)


@lru_cache(maxsize=65536)
def is_reading(char: str, spelled: str, any_tone: bool = False) -> bool:
    """Whether the syllable `spelled` (tone marks, tone numbers, v or ü) is a reading of `char`.
    A toneless syllable is the neutral tone, which any reading can take (個 ge, 麼 me); with
    `any_tone`, any tone of a reading counts (the converter may tone a phrase differently from
    pypinyin's table: 揹 is bēi there, bèi in 背包)."""
    parsed = syllable(spelled)
    if parsed is None:
        return False
    base, tone = parsed
    return any(base == b and (tone == t or tone == 0 or any_tone) for b, t in readings(char))


@lru_cache(maxsize=1024)
def trail_byte_candidates(byte: str, spelled: str) -> tuple[str, ...]:
    """Characters whose second byte in GBK or Big5 is `byte` and that `spelled` reads: what a
    stray ASCII byte followed by converter pinyin stood for (`^(qū)`: 區 is GBK 85 5E)."""
    found = set()
    for codec in LEGACY_CODECS:
        for lead in range(0x81, 0xFF):
            try:
                char = bytes((lead, ord(byte))).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(char) == 1 and is_reading(char, spelled):
                found.add(char)
    return tuple(sorted(found))


@dataclass(frozen=True)
class Signature:
    """How one document's pinyin annotations look, and whether that is the converter's work."""

    annotations: int  # pinyin groups after a Han character
    readings: int  # of those, single syllables that read the character before them
    on_converted: int  # of those, on characters an s2t conversion produces (traditional-only)
    converted_chars: int  # traditional-only characters in the document
    simplified_chars: int  # simplified-only characters in the document
    converter: bool

    @property
    def converted_share(self) -> float:
        return self.on_converted / self.annotations if self.annotations else 0.0

    @property
    def density(self) -> float:
        return self.on_converted / self.converted_chars if self.converted_chars else 0.0

    @property
    def simplified_share(self) -> float:
        specific = self.converted_chars + self.simplified_chars
        return self.simplified_chars / specific if specific else 0.0

    def to_info(self) -> dict[str, Any]:
        return {
            "annotations": self.annotations,
            "on_converted_share": round(self.converted_share, 3),
            "density": round(self.density, 3),
            "simplified_share": round(self.simplified_share, 3),
            "converter_residue": self.converter,
        }


def _has_tone(body: str) -> bool:
    return any(ch in _MARKED or ch.isdigit() for ch in body)


def measure(text: str, opts: dict[str, Any]) -> Signature:
    """Measure the converter's signature; `opts` are :class:`PinyinAnnotation`'s options."""
    from repair.script import count_script_chars, traditional_chars

    converted = traditional_chars()
    annotations = matching = on_converted = 0
    for match in _ANNOTATION.finditer(text):
        char, body = match["char"], match["body"]
        if is_reading(char, body):
            matching += 1
            annotations += 1
            on_converted += char in converted
        elif _has_tone(body):
            annotations += 1  # teaching pinyin for a word, or a syllable that is no reading
    signature = Signature(annotations, matching, on_converted, *count_script_chars(text), converter=False)
    is_converter = (
        matching >= opts["min-annotations"]
        and signature.converted_share >= opts["min-converted-share"]
        and signature.density >= opts["min-density"]
        and signature.simplified_share <= opts["max-simplified-share"]
    )
    return replace(signature, converter=is_converter)


def carries_signature(text: str, ctx: Context) -> bool:
    """Whether the document is converter output. Measured once, on the text the A rules first see,
    and kept in ctx.info (the report shows it), so later passes, which see the annotations already
    removed, keep the verdict."""
    known = ctx.info.get(INFO_KEY)
    if known is None:
        if not ctx.memo(PREFILTER_MEMO, text, lambda t: PREFILTER.search(t) is not None):
            return False
        known = ctx.info[INFO_KEY] = measure(text, ctx.config.rule_options(PinyinAnnotation)).to_info()
    return bool(known["converter_residue"])


@register
class PinyinAnnotation(Rule):
    """Pinyin that a simplified->traditional web converter wrote after each character it changed.

    SEO-spam and hijacked Chinese pages carry `區(qū)政府`, `現(xiàn)在`, `堅(jiān)強(qiáng)`: the converter's
    output with the reading of every changed character in ASCII parentheses. `X(pīn)` is removed
    when the syllable is a reading of X (pypinyin, heteronyms included, or a reading of X's
    simplified form; tone marks, tone numbers, v or ü; a toneless syllable counts as the neutral
    tone) and the document carries the converter's signature, measured once per document:

    * `min-annotations` (3): at least this many such annotations;
    * `min-converted-share` (0.9): at least this share of the document's parenthesised pinyin
      (single syllables and teaching-style words alike) sits on characters that OpenCC's t2s
      changes, i.e. traditional characters a conversion produced. Teaching text annotates
      arbitrary characters and words (`银行(yínháng)`, `见(xiàn)`), so its share is near 0 in
      simplified text and about the share of traditional-only characters (20-40%) in traditional
      text;
    * `min-density` (0.02): at least this share of the document's traditional-only characters
      carry an annotation. Seen converters annotate 30-60% of them (some annotate far fewer); a
      long traditional text with a handful of glosses on such characters stays, whose share
      alone could be 1 by chance;
    * `max-simplified-share` (0.3): at most this share of the document's script-specific
      characters are simplified-only. Converter output is traditional throughout (0-4% seen in
      whole documents, more in a short excerpt, from place names such as 大洼, regional variants
      and mojibake); a simplified text that teaches traditional characters with their readings
      (`學(xué)是学的繁体`) is not converter output.

    Chapter numbers `(一)`, real parentheticals `(縣域)` and English in parentheses are never
    touched: only pinyin syllables are. Annotations on characters t2s leaves alone (著, 瞭) are
    removed with confidence 0.9, and so are syllables that read the character in another tone; the
    others with 0.97. The verdict and its measurements appear in the report as
    `pinyin_annotation`.
    """

    code = "A101"
    name = "pinyin-annotation"
    summary = "Pinyin a simplified->traditional converter left after changed characters"
    example = ("大洼區(qū)政府工作報(bào)告:現(xiàn)在", "大洼區政府工作報告:現在")
    options = {"min-annotations": 3, "min-converted-share": 0.9, "min-density": 0.02, "max-simplified-share": 0.3}

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not carries_signature(text, ctx):
            return
        from repair.script import traditional_chars

        converted = traditional_chars()
        for match in _ANNOTATION.finditer(text):
            char, body = match["char"], match["body"]
            if is_reading(char, body, any_tone=True):
                exact = char in converted and is_reading(char, body)
                confidence = 0.97 if exact else 0.9
                yield self.fix(text, match.start("group"), match.end("group"), "", confidence,
                               f"converter pinyin ({body}) after {char}")


@register
class OrphanPinyin(Rule):
    """Converter pinyin whose character was lost to mojibake.

    In documents with the converter's signature (see A101), GBK misalignment sometimes struck
    text that already carried annotations: `勇?lián)?dāng)轉作風` (勇擔當轉作風), `納入?yún)^(qū)級`
    (納入區級). A `?` followed by a pinyin syllable and `)` is the trace of a lost character and
    its `(`; a pinyin annotation after a lone ASCII character (`^(qū)`, `W(wǎng)`) is the annotation
    of a character misread as that byte. The mojibake rules (M1xx) run first and repair such spans
    where the byte arithmetic allows. What is left here loses the orphan pinyin and the `?` is
    flagged; a stray byte becomes the character when exactly one GBK or Big5 character has it as
    its second byte and is read as annotated (`^(qū)` -> 區, `W(wǎng)` -> 網), and is flagged with
    the candidates otherwise.
    """

    code = "A102"
    name = "orphan-pinyin"
    summary = "Pinyin left behind by a character lost to mojibake"
    example = ("報(bào)告:區(qū)政府納入?yún)^(qū)級統(tǒng)管", "報告:區政府納入?區級統管")

    def find(self, text: str, ctx: Context) -> Iterable[Change]:
        if not carries_signature(text, ctx):
            return
        fixes: list[Change] = []
        flags: list[Change] = []
        for match in _ORPHAN.finditer(text):
            body = match["body"]
            if syllable(body) is not None:
                lost = match.start()
                fixes.append(self.fix(text, lost + 1, match.end(), "", 0.95, f"pinyin ({body}) of a lost character"))
                flags.append(self.flag(text, lost, lost + 1, 0.95,
                                       f"a character was lost here (the converter had annotated it {body})"))
        for match in _STRAY.finditer(text):
            body, byte = match["body"], match["byte"]
            if syllable(body) is None or not _has_tone(body):
                continue
            found = trail_byte_candidates(byte, body)
            if len(found) == 1:
                fixes.append(self.fix(text, match.start(), match.end(), found[0], 0.9,
                                      f"{byte!r} is the second byte of {found[0]} (read {body}) in a legacy encoding"))
                continue
            fixes.append(self.fix(text, match.start("group"), match.end("group"), "", 0.95,
                                  f"pinyin ({body}) of a character misread as {byte!r}"))
            hint = f" (candidates: {''.join(found)})" if found else ""
            flags.append(self.flag(text, match.start("byte"), match.end("byte"), 0.9,
                                   f"{byte!r} stands for a lost character read {body}{hint}"))
        remembered = ctx.info.get(LOST_KEY, [])
        yield from fixes
        yield from flags
        yield from self._recall(text, remembered, {c.start for c in flags})
        if flags:
            ctx.info[LOST_KEY] = remembered + list(_anchors(text, fixes, flags))

    def _recall(self, text: str, remembered: list[dict[str, Any]], taken: set[int]) -> Iterator[Change]:
        """Flag again the lost characters an earlier pass found: the engine reports the findings
        of its last pass, and by then the orphan pinyin that revealed them is gone."""
        if not remembered:
            return
        normal = _normalise(text)
        for lost in remembered:
            anchor = _normalise(lost["context"])
            at = normal.find(anchor)
            while at != -1 and at + lost["at"] in taken:
                at = normal.find(anchor, at + 1)
            if at != -1:
                taken.add(at + lost["at"])
                yield self.flag(text, at + lost["at"], at + lost["at"] + 1, lost["confidence"], lost["message"])


def _normalise(text: str) -> str:
    """Script-neutral form of `text`, so a context survives S101's conversion (t2s keeps lengths)."""
    from repair.script import convert

    converted = convert(text, "t2s")
    return converted if len(converted) == len(text) else text


def _anchors(text: str, fixes: list[Change], flags: list[Change]) -> Iterator[dict[str, Any]]:
    """Each flag's character with a few neighbours, in the text as it reads once `fixes` are applied."""
    pieces, cursor, moved = [], 0, {}
    flag_starts = sorted(c.start for c in flags)
    for fix in sorted(fixes, key=lambda c: c.start) + [None]:
        upto = fix.start if fix is not None else len(text)
        written = sum(map(len, pieces))
        for start in flag_starts:
            if cursor <= start < upto:
                moved[start] = written + start - cursor
        pieces.append(text[cursor:upto])
        if fix is not None:
            pieces.append(fix.after or "")
            cursor = fix.end
    repaired = "".join(pieces)
    for flag in sorted(flags, key=lambda c: c.start):
        at = moved[flag.start]
        left = max(at - ANCHOR_CHARS, repaired.rfind("\n", 0, at) + 1)
        right = min(at + 1 + ANCHOR_CHARS, len(repaired))
        newline = repaired.find("\n", at, right)
        context = repaired[left : newline if newline != -1 else right]
        yield {"context": context, "at": at - left, "confidence": flag.confidence, "message": flag.message}
