"""Progress records of readers: one line per finished unit of work, appended to
`<out>/_stats/progress/<worker>.tsv`. Read back by `workflows.progress.ProgressReporter`."""

from __future__ import annotations

import glob
import os

PROGRESS_DIR = "_stats/progress"
def record_unit(progress_dir: str, worker: str, unit: str, documents: int) -> None:
    """Append `unit<TAB>documents` for this worker (never raises)."""
    try:
        os.makedirs(progress_dir, exist_ok=True)
        with open(os.path.join(progress_dir, f"{worker}.tsv"), "a", encoding="utf-8") as f:
            f.write(f"{unit}\t{documents}\n")
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
