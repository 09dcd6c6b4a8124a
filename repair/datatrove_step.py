"""A datatrove pipeline step that repairs ``Document.text`` and records the changes in its metadata.

Install with ``pip install corpus-repair[datatrove]``. Only this module imports datatrove, so the
``repair`` package itself stays free of the dependency.
"""

import json
from collections import Counter
from typing import Any

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from repair.config import Config, parse_table
from repair.engine import fix_text
from repair.records import Change, Result


def change_record(change: Change) -> dict[str, Any]:
    """The JSON-serialisable fields of one change."""
    return {
        "code": change.code,
        "start": change.start,
        "end": change.end,
        "before": change.before,
        "after": change.after,
        "confidence": change.confidence,
        "applied": change.applied,
    }


def result_summary(result: Result) -> dict[str, Any]:
    """What goes into ``doc.metadata[key]``: every change, the document facts and counts."""
    applied = sum(change.applied for change in result.changes)
    return {
        "changes": [change_record(change) for change in result.changes],
        # A JSON round trip: writers must be able to serialise the metadata whatever the rules put in info.
        "info": json.loads(json.dumps(result.info, default=str)),
        "applied": applied,
        "findings": len(result.changes) - applied,
    }


class RepairStep(PipelineStep):
    """Repair each document's text with corpus-repair; summary of the changes in ``metadata[key]``."""

    name = "🩹 corpus-repair"
    type = "✂️ - FORMAT"

    def __init__(self, config: Config | dict | None = None, metadata_key: str = "repair"):
        super().__init__()
        # A dict is the [tool.repair] table form, convenient in pipeline scripts.
        self.config = parse_table(config, None) if isinstance(config, dict) else (config or Config())
        self.metadata_key = metadata_key

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            self.stat_update("documents")
            with self.track_time():
                result = fix_text(doc.text, self.config)
            if result.text != doc.text:
                self.stat_update("changed")
            for family, count in Counter(c.code[0] for c in result.changes if c.applied).items():
                self.stat_update(f"applied_{family}", value=count)
            doc.text = result.text
            doc.metadata[self.metadata_key] = result_summary(result)
            yield doc
