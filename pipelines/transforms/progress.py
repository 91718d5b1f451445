"""Progress records of a running pipeline, appended to files under `<out>/_stats/progress/`
and read back by `workflows.progress.ProgressReporter` in the launching process.

* readers: one line `unit<TAB>documents` per finished unit of work, in `<worker>.tsv`;
* later stages (documents through steps, MinHash signatures, connected-component rounds,
  shards written): one line `stage<TAB>count` per bundle, in `<worker>.stages`
  (`CountProgress`, `record_stage`).
Best effort, like metrics, these are attempted counts: a retried bundle counts again, and on a
cluster whose workers cannot see the output directory nothing is recorded. The run's real
counts come from `_stats/stages.json` and the shards.
"""

from __future__ import annotations

import glob
import os
import uuid
from typing import Any

import apache_beam as beam

PROGRESS_DIR = "_stats/progress"


def record_unit(progress_dir: str, worker: str, unit: str, documents: int) -> None:
    """Append `unit<TAB>documents` for this worker (never raises)."""
    _append(os.path.join(progress_dir, f"{worker}.tsv"), f"{unit}\t{documents}\n", progress_dir)


def record_stage(progress_dir: str, worker: str, stage: str, count: int) -> None:
    """Append `stage<TAB>count` for this worker (never raises)."""
    _append(os.path.join(progress_dir, f"{worker}.stages"), f"{stage}\t{count}\n", progress_dir)


def _append(path: str, line: str, progress_dir: str) -> None:
    try:
        os.makedirs(progress_dir, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
    except OSError:
        pass


def read_progress(progress_dir: str) -> tuple[int, int]:
    """(units done, documents read) so far."""
    units = documents = 0
    for path in glob.glob(os.path.join(progress_dir, "*.tsv")):
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    _, _, n = line.rstrip("\n").rpartition("\t")
                    if n.isdigit():
                        units += 1
                        documents += int(n)
        except OSError:
            continue
    return units, documents


def read_stages(progress_dir: str) -> dict[str, int]:
    """{stage: count so far} over all workers, in the order stages first appeared per file."""
    totals: dict[str, int] = {}
    for path in sorted(glob.glob(os.path.join(progress_dir, "*.stages"))):
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    stage, _, n = line.rstrip("\n").rpartition("\t")
                    if stage and n.isdigit():
                        totals[stage] = totals.get(stage, 0) + int(n)
        except OSError:
            continue
    return totals


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
