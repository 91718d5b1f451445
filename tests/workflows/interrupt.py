"""Interrupting a run for the resume tests: start `corpusmill run`, wait until its corpus stage
is marked done, then kill it outright (SIGKILL to its process group, and to any other process
groups `also_kill` names, e.g. an engine's job server and worker pool)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def kill_after_corpus_stage(
    args: list[str], out: Path, cwd: Path, timeout: float, also_kill: Callable[[], list[int]] = lambda: []
) -> None:
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = out / "_stats" / "done" / "corpus.json"
    deadline = time.monotonic() + timeout
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the corpus stage never completed"
    for pid in also_kill():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
