"""Progress of a long run in the terminal: files and documents read, elapsed time.

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

from corpusmill.schemas.outputs import PROGRESS_DIR, read_progress

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
        self._last: tuple[int, int] | None = None

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
        state = read_progress(self._dir)
        if state == self._last:
            return
        self._last = state
        units, documents = state
        elapsed = int(time.monotonic() - self._started)
        print(
            f"corpusmill: reading: {units} parts of {self._total} input files done, {documents:,} documents, "
            f"{elapsed // 3600:d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d} elapsed",
            file=self._stream or sys.stderr,
            flush=True,
        )
