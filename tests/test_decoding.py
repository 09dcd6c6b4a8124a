"""E1xx: raw bytes in GB18030/GBK, Big5, UTF-16/32, BOMs and mixed files decode to the exact text."""
import codecs

import opencc
import pytest

from repair import Config, decode_bytes, fix_bytes
from repair.decoding import decode_damaged
from tests.conftest import seed_paths

SEEDS = {p.name[:3]: p.read_text(encoding="utf-8") for p in seed_paths()}
# Big5 cannot hold simplified characters: the Big5 copies are the clean seeds in Taiwan script.
TRADITIONAL = {name: opencc.OpenCC("s2tw").convert(SEEDS[name]) for name in ("000", "001", "002")}


def codes(decoded):
    return [c.code for c in decoded.changes]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_utf8_is_taken_as_is(name):
    decoded = decode_bytes(SEEDS[name].encode("utf-8"))
    assert (decoded.text, decoded.encoding, decoded.changes) == (SEEDS[name], "utf-8", [])


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_gbk_copy_decodes_exactly(name):
    decoded = decode_bytes(SEEDS[name].encode("gbk"))
    assert decoded.text == SEEDS[name]
    assert decoded.encoding == "gb18030"
    assert decoded.complete
    assert codes(decoded) == ["E102"]


@pytest.mark.parametrize("name", sorted(TRADITIONAL))
@pytest.mark.parametrize("codec", ["big5", "cp950"])
def test_big5_copy_decodes_exactly(name, codec):
    decoded = decode_bytes(TRADITIONAL[name].encode(codec))
    assert decoded.text == TRADITIONAL[name]
    assert decoded.encoding == "big5hkscs"


@pytest.mark.parametrize("name", sorted(SEEDS))
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(name, codec):
    data = SEEDS[name].encode(codec)
    if not codec.endswith(("16", "32")):  # explicit-endian codecs write no BOM of their own
        data = codecs.BOM_UTF16_BE + data
    decoded = decode_bytes(data)
    assert decoded.text == SEEDS[name]
    assert codes(decoded) == ["E101", "E102"]


def test_utf8_bom_is_dropped_and_reported():
    decoded = decode_bytes(codecs.BOM_UTF8 + SEEDS["000"].encode("utf-8"))
    assert decoded.text == SEEDS["000"]
    assert codes(decoded) == ["E101"]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_first_half_gbk_second_half_utf8(name):
    lines = SEEDS[name].splitlines(keepends=True)
    half = len(lines) // 2
    data = "".join(lines[:half]).encode("gbk") + "".join(lines[half:]).encode("utf-8")
    decoded = decode_bytes(data)
    assert decoded.text == SEEDS[name]
    assert decoded.encoding == "utf-8+gb18030"
    switches = [c.message for c in decoded.changes if c.code == "E103"]
    assert switches == [f"lines 1-{half} decoded as gb18030", f"lines {half + 1}-{len(lines)} decoded as utf-8"]


@pytest.mark.parametrize("name", sorted(SEEDS))
@pytest.mark.parametrize("which", [0, 1])  # the lead byte or the trail byte of one character
def test_gbk_with_one_byte_deleted_damages_one_character(name, which):
    text = SEEDS[name]
    data = text.encode("gbk")
    index = next(i for i in range(len(text) // 2, len(text)) if len(text[i].encode("gbk")) == 2)
    offset = len(text[:index].encode("gbk")) + which
    damaged = data[:offset] + data[offset + 1 :]
    decoded = decode_bytes(damaged)
    if not decoded.complete:  # the lost byte broke a character: the decoder resynchronises
        assert decoded.text == text[:index] + "\ufffd" + text[index + 1 :]
        assert [c.code for c in decoded.changes] == ["E102", "E104"]
    # Some deletions still decode strictly, realigning on a trail byte in the ASCII range
    # (`的監督` less a byte reads `谋O督`); the misalignment rule then repairs the run. Either
    # way, decoding plus repair leaves exactly one character different.
    config = Config(select=("E", "M"))
    expected, got = fix_bytes(data, config).text, fix_bytes(damaged, config).text
    assert len(got) == len(expected)
    assert sum(a != b for a, b in zip(got, expected)) == 1


def test_damaged_decode_resynchronises_after_a_lost_byte():
    data = "中文字測試項目".encode("gbk")
    assert decode_damaged(data[:1] + data[2:], "gb18030") == "\ufffd文字測試項目"


def test_crlf_line_endings_survive_decoding():
    text = SEEDS["001"].replace("\n", "\r\n")
    assert decode_bytes(text.encode("gbk")).text == text


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(32)) * 40])
def test_binary_is_recognised(data):
    decoded = decode_bytes(data)
    assert decoded.binary


def test_fix_bytes_records_the_encoding_and_why():
    result = fix_bytes(SEEDS["000"].encode("gbk"))
    assert result.text == SEEDS["000"]
    assert result.info["encoding"] == "gb18030"
    assert "plausible" in result.info["encoding_reason"]
    assert result.changes[0].code == "E102"
