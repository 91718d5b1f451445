"""CountStages: how many records passed each stage, per source kind, counted by the pipeline
itself (runner-independent, unlike metrics) and written to `<out>/_stats/stages.json`."""

from __future__ import annotations

import json
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

STATS_FILE = "_stats/stages.json"


def count_stage(pcoll: beam.PCollection, stage: str, label: str) -> beam.PCollection:
    """(stage, source) -> n for a PCollection of Documents/Rejections/Failures."""
    return (
        pcoll
        | f"{label}Key" >> beam.Map(lambda r, s=stage: ((s, r.source), 1))
        | f"{label}Sum" >> beam.CombinePerKey(sum)
    )


class _WriteStatsFn(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, counts: list[tuple[tuple[str, str], int]]) -> Any:
        table: dict[str, dict[str, int]] = {}
        for (stage, source), n in sorted(counts):
            table.setdefault(stage, {})[source] = n
        tmp = self._path + ".tmp"
        with FileSystems.create(tmp) as f:
            f.write(json.dumps(table, indent=1, sort_keys=True).encode())
        if FileSystems.exists(self._path):
            FileSystems.delete([self._path])
        FileSystems.rename([tmp], [self._path])
        yield self._path


def write_stage_counts(counts: list[beam.PCollection], out_dir: str) -> beam.PCollection:
    return (
        tuple(counts)
        | "AllStageCounts" >> beam.Flatten()
        | "StageCountsList" >> beam.combiners.ToList()
        | "WriteStageCounts" >> beam.ParDo(_WriteStatsFn(f"{out_dir}/{STATS_FILE}"))
    )


def read_stage_counts(out_dir: str) -> dict[str, dict[str, int]]:
    with open(f"{out_dir}/{STATS_FILE}", encoding="utf-8") as f:
        return json.load(f)
