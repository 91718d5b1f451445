"""Stage markers that let a rerun with the same output directory skip completed stages.

After a stage finishes, `_stats/done/<stage>.json` records a fingerprint of everything the
stage's output depends on (the relevant part of the run plan, the input files' names, sizes and
modification times, and the fingerprint of the stage before it) together with the stage's
result (its part of the manifest). A rerun skips a stage whose marker matches, taking its
result from the marker, and reruns it (and everything after it) otherwise. A run killed in the
middle of a stage leaves no marker for it, so that stage runs again from scratch; its shards
are replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from corpusmill.schemas import outputs

DONE_DIR = "_stats/done"


def fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def input_listing(paths: list[str]) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every input file (directories: of every file inside)."""
    listing = []
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    st = os.stat(full)
                    listing.append((full, st.st_size, st.st_mtime_ns))
        elif os.path.exists(path):
            st = os.stat(path)
            listing.append((path, st.st_size, st.st_mtime_ns))
        else:  # a remote path: its name is all we know cheaply
            listing.append((path, -1, -1))
    return sorted(listing)


def _marker(out_dir: str, stage: str) -> str:
    return outputs.join(out_dir, DONE_DIR, f"{stage}.json")


def done_result(out_dir: str, stage: str, print_: str) -> dict[str, Any] | None:
    """The result recorded by a completed `stage` with fingerprint `print_`, else None."""
    marker = outputs.read_json_or_none(_marker(out_dir, stage))
    if isinstance(marker, dict) and marker.get("fingerprint") == print_ and isinstance(marker.get("result"), dict):
        return marker["result"]
    return None


def mark_done(out_dir: str, stage: str, print_: str, result: dict[str, Any]) -> None:
    outputs.write_json(_marker(out_dir, stage), {"stage": stage, "fingerprint": print_, "result": result})


def clear(out_dir: str, stages: list[str]) -> None:
    for stage in stages:
        outputs.remove(_marker(out_dir, stage))
