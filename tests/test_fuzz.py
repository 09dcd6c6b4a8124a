"""Fuzzing `fix_bytes` (and the JSONL path) with hypothesis, over arbitrary bytes and over corpus-like
bytes: seed text in UTF-8, GBK, Big5 or UTF-16, with bytes deleted, inserted and flipped, mixed
encodings and binary junk. Nothing may raise, the text must be writable as UTF-8, valid UTF-8 must
decode to itself, and every record's span must lie inside the text.

The default run is bounded (a few seconds); the `slow` variant runs many more examples.
"""
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from repair import Config, decode_bytes, fix_bytes
from repair.files import process_bytes
from tests.conftest import seed_text

ENCODINGS = ("utf-8", "gbk", "big5", "utf-16", "utf-8-sig", "gb18030")
SHORT = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fragment(draw, longest=200):
    text = seed_text(draw(st.sampled_from(["000", "001", "002", "003", "004"])))
    start = draw(st.integers(0, len(text) - 1))
    piece = text[start:start + draw(st.integers(1, longest))]
    return piece.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def edited(draw, data: bytes) -> bytes:
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["delete", "insert", "flip"]))
        if how == "delete":
            data = data[:at] + data[at + 1:]
        elif how == "insert":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at:]
        else:
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    return data


@st.composite
def corpus_bytes(draw):
    parts = draw(st.lists(st.one_of(fragment(), st.binary(max_size=40), st.sampled_from([b"\n", b"\r\n", b" "])),
                          min_size=1, max_size=6))
    return draw(edited(b"".join(parts)))


def check_fix_bytes(data: bytes) -> None:
    result = fix_bytes(data)
    result.text.encode("utf-8")  # no lone surrogates: the output can always be written
    decoded = decode_bytes(data)
    for change in result.changes:
        assert 0 <= change.start <= change.end, change
    if not decoded.binary:
        try:
            as_utf8 = data.decode("utf-8")
        except UnicodeDecodeError:
            return
        if not data.startswith(b"\xef\xbb\xbf"):
            assert decoded.text == as_utf8 and decoded.complete


def check_jsonl(data: bytes) -> None:
    result = process_bytes(data, Config(), path="fuzz.jsonl", kind="jsonl")
    result.output_text.encode("utf-8")
    if result.error is None and result.skipped is None:
        for line in result.output_text.split("\n"):  # JSONL lines end at \n only (U+0085 is text)
            if line.strip():
                json.loads(line)  # every record written back is still JSON


@st.composite
def jsonl_bytes(draw):
    records = draw(st.lists(st.one_of(
        fragment(80).map(lambda b: json.dumps({"text": b.decode("utf-8", errors="replace"), "id": 1}, ensure_ascii=False)),
        fragment(80).map(lambda b: json.dumps({"text": b.decode("latin-1")}, ensure_ascii=False)),
        st.text(max_size=30),
    ), min_size=1, max_size=5))
    return draw(edited("\n".join(records).encode("utf-8")))


@given(st.binary(max_size=400))
@example(b"\t\t\t\t   \x80\n\x01\x01\x01\x01\x02\x01\x01\x01\t!\x80")  # found: charset-normalizer says UTF-16
@SHORT
def test_fix_bytes_on_arbitrary_bytes(data):
    check_fix_bytes(data)


@given(corpus_bytes())
@SHORT
def test_fix_bytes_on_damaged_corpus_bytes(data):
    check_fix_bytes(data)


@given(jsonl_bytes())
@example('{"text": "(l\ufffdng)\ufffd"}\n'.encode("utf-8") + b'{"text": "\xbf\xbd\xda\x85^(q)"}\n')  # found: NEL in a record
@SHORT
def test_jsonl_on_damaged_records(data):
    check_jsonl(data)


@pytest.mark.slow
@given(st.one_of(st.binary(max_size=2000), corpus_bytes()))
@LONG
def test_fix_bytes_long_fuzz(data):
    check_fix_bytes(data)


@pytest.mark.slow
@given(jsonl_bytes())
@LONG
def test_jsonl_long_fuzz(data):
    check_jsonl(data)
