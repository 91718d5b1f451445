"""CountProgress: progress of the stages after reading, for the terminal's progress line.

Elements pass through unchanged; each bundle appends `stage<TAB>count` to a worker's file
under `<out>/_stats/progress/` (`schemas.outputs.record_stage`) when it ends, and every
RECORD_EVERY_S seconds while it runs (Flink and Spark batch stages run a whole partition as one
bundle, so a stage would otherwise report only when it ends), which
`workflows.progress.ProgressReporter` sums while the pipeline runs. Like metrics these are
attempted counts (a retried bundle counts again) and best effort: nothing is recorded where
workers cannot see the output directory. The run's real counts come from `_stats/stages.json`
and the shards.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import apache_beam as beam

from corpusmill.schemas.outputs import record_stage

RECORD_EVERY_S = 5.0  # the progress line's own refresh period (workflows/progress.py)
_CHECK_EVERY = 256  # elements between clock reads

class CountProgress(beam.DoFn):
    """Pass elements through unchanged; record how many went by per bundle under `stage`."""

    def __init__(self, progress_dir: str, stage: str) -> None:
        self._dir = progress_dir
        self._stage = stage

    def setup(self) -> None:
        self._worker = uuid.uuid4().hex

    def start_bundle(self) -> None:
        self._count = 0
        self._recorded_at = time.monotonic()

    def process(self, element: Any) -> Any:
        self._count += 1
        if self._count % _CHECK_EVERY == 0 and time.monotonic() - self._recorded_at >= RECORD_EVERY_S:
            record_stage(self._dir, self._worker, self._stage, self._count)
            self._count = 0
            self._recorded_at = time.monotonic()
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
