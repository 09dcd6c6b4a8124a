"""RepairStep in a LocalPipelineExecutor over JSONL shards."""

import json
from pathlib import Path

import pytest

pytest.importorskip("datatrove")

from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.readers import JsonlReader  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from repair.datatrove_step import RepairStep  # noqa: E402

SEEDS = Path(__file__).parent.parent / "seeds"


def seed_chunks(prefix: str, count: int, lines: int = 10) -> list[str]:
    """Documents of `lines` consecutive seed lines: enough text for the script and residue evidence."""
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    seed = path.read_text(encoding="utf-8").splitlines()
    return ["\n".join(seed[i : i + lines]) for i in range(0, count * lines, lines)]


def read_output(folder: Path) -> dict[str, dict]:
    docs = {}
    for shard in sorted(folder.glob("*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            docs[doc["id"]] = doc
    return docs


def test_pipeline_repairs_annotations_and_keeps_clean_text(tmp_path):
    damaged = seed_chunks("004", 2)
    clean = seed_chunks("000", 3, lines=4)
    assert all("(qū)" in text for text in damaged) and all(clean)
    docs = [("damaged", i, text) for i, text in enumerate(damaged)] + [("clean", i, text) for i, text in enumerate(clean)]
    source = tmp_path / "in"
    source.mkdir()
    for shard in range(2):
        with open(source / f"shard{shard}.jsonl", "w", encoding="utf-8") as out:
            for kind, i, text in docs[shard::2]:
                out.write(json.dumps({"id": f"{kind}-{i}", "text": text}, ensure_ascii=False) + "\n")

    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(source), glob_pattern="*.jsonl"),
            RepairStep({"select": ["A"]}, metadata_key="repair"),
            JsonlWriter(str(tmp_path / "out"), compression=None),
        ],
        tasks=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()

    out = read_output(tmp_path / "out")
    assert len(out) == len(docs)
    for kind, i, text in docs:
        doc = out[f"{kind}-{i}"]
        summary = doc["metadata"]["repair"]
        if kind == "clean":
            assert doc["text"] == text
            assert summary["applied"] == 0
        else:
            assert "(qū)" not in doc["text"]
            records = [c for c in summary["changes"] if c["applied"]]
            assert records and all(c["code"].startswith("A") for c in records)
            assert any("(qū)" in c["before"] and "(qū)" not in c["after"] for c in records)
            assert summary["info"]["pinyin_annotation"]["annotations"] > 0
            assert summary["applied"] == len(records)
