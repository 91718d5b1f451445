"""CountStages: how many records passed each stage, per source kind, counted by the pipeline
itself (runner-independent, unlike metrics) and written to `<out>/_stats/stages.json`
(`schemas.outputs.STAGE_COUNTS`)."""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from corpusmill.schemas import outputs


def count_stage(pcoll: beam.PCollection, stage: str, label: str) -> beam.PCollection:
    """(stage, source) -> n for a PCollection of Documents/Rejections/Failures."""
    return (
        pcoll
        | f"{label}Key" >> beam.Map(lambda r, s=stage: (s, r.source))
        | f"{label}Sum" >> beam.combiners.Count.PerElement()
    )


def stage_from_outcomes(
    outcomes: beam.PCollection, stage: str, passed: tuple[str, ...] | None, label: str
) -> beam.PCollection:
    """(stage, source) -> n from WriteShards' outcomes (((kept | rejection step), source), n):
    the records whose outcome is one of `passed` (any outcome: None) went through `stage`.

    Counting a stage from the writer's outcomes instead of from the stage's own output keeps
    the count off that stage: on Flink every output PCollection leaving a fused stage is one
    more copy of all its outputs on disk (read.py's docstring), and the steps' stage carries
    the documents and dedup's payloads."""
    return (
        outcomes
        | f"{label}Filter" >> beam.Filter(lambda kv, ok=passed: ok is None or kv[0][0] in ok)
        | f"{label}Key" >> beam.MapTuple(lambda key, n, s=stage: ((s, key[1]), n))
        | f"{label}Sum" >> beam.CombinePerKey(sum)  # type: ignore[arg-type]  # Beam 2.62 types the argument as a CombineFn; a callable is valid
    )


class _WriteStatsFn(beam.DoFn):
    def __init__(self, path: str) -> None:
        self._path = path

    def process(self, counts: list[tuple[tuple[str, str], int]]) -> Any:
        table: dict[str, dict[str, int]] = {}
        for (stage, source), n in sorted(counts):  # several PCollections may count one stage
            row = table.setdefault(stage, {})
            row[source] = row.get(source, 0) + n
        outputs.write_json(self._path, table, indent=1, sort_keys=True)
        yield self._path


def write_stage_counts(counts: list[beam.PCollection], out_dir: str) -> beam.PCollection:
    return (
        tuple(counts)
        | "AllStageCounts" >> beam.Flatten()
        | "StageCountsList" >> beam.combiners.ToList()
        | "WriteStageCounts" >> beam.ParDo(_WriteStatsFn(outputs.join(out_dir, outputs.STAGE_COUNTS)))
    )
