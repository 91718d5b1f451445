"""CountProgress: progress of the stages after reading, for the terminal's progress line.

Elements pass through unchanged; each bundle appends `stage<TAB>count` to a worker's file
under `<out>/_stats/progress/` (`schemas.outputs.record_stage`), which
`workflows.progress.ProgressReporter` sums while the pipeline runs. Like metrics these are
attempted counts (a retried bundle counts again) and best effort: nothing is recorded where
workers cannot see the output directory. The run's real counts come from `_stats/stages.json`
and the shards.
"""

from __future__ import annotations

import uuid
from typing import Any

import apache_beam as beam

from corpusmill.schemas.outputs import record_stage


class CountProgress(beam.DoFn):
    """Pass elements through unchanged; record how many went by per bundle under `stage`."""

    def __init__(self, progress_dir: str, stage: str) -> None:
        self._dir = progress_dir
        self._stage = stage

    def setup(self) -> None:
        self._worker = uuid.uuid4().hex

    def start_bundle(self) -> None:
        self._count = 0

    def process(self, element: Any) -> Any:
        self._count += 1
        yield element

    def finish_bundle(self) -> None:
        if self._count:
            record_stage(self._dir, self._worker, self._stage, self._count)
            self._count = 0


def count_progress(pcoll: beam.PCollection, progress_dir: str | None, stage: str, label: str) -> beam.PCollection:
    """`pcoll` itself when progress is off, else `pcoll` through a `CountProgress`."""
    if not progress_dir:
        return pcoll
    return pcoll | label >> beam.ParDo(CountProgress(progress_dir, stage))
