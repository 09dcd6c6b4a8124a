"""Large files are repaired block by block with file-global records and the same output as a
whole-file run (repair/stream.py)."""
import gc
import io
import json
import os
import pickle

import pytest

from repair import spool, stream
from repair.cli import main
from repair.config import Config
from repair.files import process_bytes
from tests.conftest import seed_text

BLOCK = 4096


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(stream, "STREAM_MIN_BYTES", 8 * BLOCK)
    monkeypatch.setattr(stream, "BLOCK_BYTES", BLOCK)


def _blocks(data: bytes, paragraphs: bool = True) -> list[tuple[bytes, bool]]:
    return list(stream.iter_blocks(io.BytesIO(data), BLOCK, paragraphs))


def test_blocks_cover_the_file_and_cut_at_blank_lines():
    data = ("第一段的文字。\n第二行。\n\n" * 2000).encode("utf-8")
    blocks = _blocks(data)
    assert b"".join(b for b, _ in blocks) == data
    assert [last for _, last in blocks] == [False] * (len(blocks) - 1) + [True]
    assert all(b.endswith(b"\n\n") for b, _ in blocks[:-1])
    assert all(len(b) <= 2 * BLOCK for b, _ in blocks)


def test_last_block_is_never_a_small_remainder():
    data = ("一行文字\n" * 1000).encode("utf-8")  # no blank lines: cut at line ends
    for extra in (b"", b"tail\n", b"x" * 100):
        blocks = _blocks(data + extra, paragraphs=False)
        assert b"".join(b for b, _ in blocks) == data + extra
        assert len(blocks[-1][0]) >= BLOCK // 2
        assert all(b.endswith(b"\n") for b, _ in blocks[:-1])


def test_a_line_longer_than_a_block_is_cut_at_a_character_boundary():
    data = ("長" * (3 * BLOCK)).encode("utf-8")
    blocks = _blocks(data)
    assert len(blocks) > 1
    for block, _ in blocks:
        block.decode("utf-8")  # raises if a character was split


@pytest.mark.parametrize("codec", ["gb18030", "big5"])
def test_a_legacy_one_line_file_is_cut_between_characters(codec):
    text = "項目進展順利,資金到位。" * 2000  # one line; ASCII comma is the only safe cut byte
    blocks = _blocks(text.encode(codec))
    assert len(blocks) > 1
    assert "".join(block.decode(codec) for block, _ in blocks) == text


def test_later_blocks_reuse_the_first_blocks_legacy_encoding():
    text = "項目進展順利,資金到位。\n\n" * 3000
    decoder = stream.BlockDecoder("x.txt")
    pieces = [decoder.decode(block) for block, _ in _blocks(text.encode("gb18030"))]
    assert decoder.codec == "gb18030"
    assert "".join(p.text for p in pieces) == text
    assert all(p.encoding == "gb18030" for p in pieces)


def test_rules_are_told_which_block_holds_the_document_start_and_end(tmp_path, small_blocks, monkeypatch):
    seen = []
    real = stream.scan_text

    def spy(text, config, *, path=None, info=None):
        seen.append((info["doc_start"], info["doc_end"]))
        return real(text, config, path=path, info=info)

    monkeypatch.setattr(stream, "scan_text", spy)
    source = tmp_path / "big.txt"
    source.write_bytes(("段落。\n\n" * 6000).encode("utf-8"))
    result = stream.process_file(source, Config(), display="big.txt", kind="text", apply=False, destination=None)
    assert len(seen) > 2
    assert seen[0] == (True, False) and seen[-1] == (False, True)
    assert all(flags == (False, False) for flags in seen[1:-1])
    assert "doc_start" not in result.info and result.info["encoding"] == "utf-8"


def test_streamed_jsonl_numbers_records_across_blocks(tmp_path, small_blocks):
    seed_line = seed_text("004").splitlines()[5]
    lines = [json.dumps({"id": i, "text": f"{i}. {seed_line}"}, ensure_ascii=False) for i in range(400)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    whole = process_bytes(data, Config(), path="d.jsonl", kind="jsonl", apply=True)
    source = tmp_path / "d.jsonl"
    source.write_bytes(data)
    out = tmp_path / "out" / "d.jsonl"
    streamed = stream.process_file(source, Config(), display="d.jsonl", kind="jsonl", apply=True, destination=out)
    assert whole.applied
    assert out.read_text(encoding="utf-8") == whole.output_text
    assert [(c.record, c.change.start) for c in streamed.changes] == [(c.record, c.change.start) for c in whole.changes]
    assert streamed.changes[-1].record > 300


def test_check_through_the_cli_streams_and_writes_nothing(tmp_path, small_blocks, capsys):
    source = tmp_path / "big.txt"
    data = "\n\n".join([seed_text("004")] * 4).encode("utf-8")
    source.write_bytes(data)
    code = main(["check", str(source), "--format", "json", "--no-report", "--no-cache"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert source.read_bytes() == data
    assert report["files"][0]["changes"]
    assert not list(tmp_path.glob(".*repair-tmp"))


def test_fix_in_place_leaves_no_temporary_file_and_keeps_the_mode(tmp_path, small_blocks, capsys):
    source = tmp_path / "big.txt"
    source.write_bytes("\n\n".join([seed_text("004")] * 4).encode("utf-8"))
    source.chmod(0o640)
    main(["fix", str(source), "--no-report", "--no-cache", "-q"])
    assert "(qū)" not in source.read_text(encoding="utf-8")
    assert source.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["big.txt"]


def test_a_spool_keeps_order_spills_past_its_memory_share_and_hands_its_file_over(monkeypatch):
    monkeypatch.setattr(spool, "BATCH_SIZE", 4)
    records = [("record", n) for n in range(23)]
    kept = spool.RecordSpool(keep=5)
    kept.extend(records)
    assert len(kept) == 23 and list(kept) == records and kept[:7] == records[:7] and kept[3] == records[3]
    spilled = kept._store.path
    assert spilled and os.path.exists(spilled)
    copy = pickle.loads(pickle.dumps(kept))  # what a worker sends to the main process
    del kept
    gc.collect()
    assert os.path.exists(spilled), "the worker's copy deleted the file the main process reads"
    assert list(copy) == records and len(copy) == 23
    del copy
    gc.collect()
    assert not os.path.exists(spilled)


def test_a_streamed_files_records_are_spooled_and_all_reported(tmp_path, small_blocks, monkeypatch, capsys):
    source = tmp_path / "big.txt"
    source.write_bytes("\n\n".join([seed_text("004")] * 4).encode("utf-8"))
    main(["check", str(source), "--format", "concise", "--no-report", "--no-cache", "-j", "1"])
    whole = capsys.readouterr().out.splitlines()
    monkeypatch.setattr(spool, "KEEP_IN_MEMORY", 3)
    monkeypatch.setattr(spool, "BATCH_SIZE", 5)
    main(["check", str(source), "--format", "concise", "--no-report", "--no-cache", "-j", "1"])
    assert capsys.readouterr().out.splitlines() == whole
    assert len(whole) > 20


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_corpus_runs_records_past_the_memory_budget_are_spooled_and_all_reported(tmp_path, monkeypatch, capsys, jobs):
    from repair import cli

    for n in range(6):
        (tmp_path / f"doc{n}.txt").write_text(seed_text("004"), encoding="utf-8")
    command = ["check", str(tmp_path), "--format", "concise", "--no-report", "--no-cache", "-j", jobs]
    main(command)
    whole = capsys.readouterr().out.splitlines()
    monkeypatch.setattr(cli._RecordBudget, "RECORDS_IN_MEMORY", 10)
    kept = []
    monkeypatch.setattr(cli._RecordBudget, "keep", lambda self, result, keep=cli._RecordBudget.keep: kept.append(keep(self, result)) or kept[-1])
    main(command)
    assert capsys.readouterr().out.splitlines() == whole
    assert len(whole) > 60
    assert sum(isinstance(r.changes, spool.RecordSpool) for r in kept) >= 5
