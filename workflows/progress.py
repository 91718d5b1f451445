"""Progress of a long run in the terminal: files and documents read, then the later stages
(documents through steps, dedup survivors, MinHash signatures and edges after each
connected-component round, shards written: `<worker>.stages` files written through
`schemas.outputs.record_stage`), elapsed time. The same on every engine whose workers write to
the output directory.

Readers append one line per finished unit of work to `<out>/_stats/progress/<worker>.tsv`
(`pipelines.transforms.read.ReadUnitFn` via `schemas.outputs.record_progress`); a thread in the launching process sums those files
every few seconds and prints a line when something changed. Best effort by design: on a
cluster whose workers cannot see the output directory it simply prints nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from corpusmill.schemas.outputs import PROGRESS_DIR, read_progress, read_stages

__all__ = ["PROGRESS_DIR", "ProgressReporter"]


class ProgressReporter:
    """Prints `reading: U/T files, D documents, elapsed` to stderr while a stage runs."""

    def __init__(
        self, progress_dir: str, total_files: int, interval: float = 5.0, stream: TextIO | None = None
    ) -> None:
        self._stream = stream
        self._dir = progress_dir
        self._total = total_files
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="corpusmill-progress", daemon=True)
        self._started = time.monotonic()
        self._last: tuple[tuple[int, int], dict[str, int]] | None = None
        self._order: list[str] = []

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._print()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._print()

    def _print(self) -> None:
        read, stages = read_progress(self._dir), read_stages(self._dir)
        if (read, stages) == self._last:
            return
        self._last = (read, stages)
        units, documents = read
        elapsed = int(time.monotonic() - self._started)
        for stage in sorted(stages):  # later stages in the order they first showed up
            if stage not in self._order:
                self._order.append(stage)
        later = "".join(f", {stage} {stages[stage]:,}" for stage in self._order)
        print(
            f"corpusmill: reading: {units} parts of {self._total} input files done, {documents:,} documents{later}, "
            f"{elapsed // 3600:d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d} elapsed",
            file=self._stream or sys.stderr,
            flush=True,
        )
