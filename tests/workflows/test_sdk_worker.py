"""workflows/sdk_worker.py: the opt-in memory log of the SDK workers (RSS, glibc malloc
statistics, thread count, and with tracemalloc the top allocation sites)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpusmill.workflows import sdk_worker

# starts the log, allocates ~40 MB of Python objects on one line (line 5), waits for the log
SCRIPT = """
import time
from corpusmill.workflows import sdk_worker
sdk_worker.start_memory_log("w-1"); time.sleep(0.5)  # tracemalloc starts in the log thread
held = [bytes(1000) + bytes([i % 256]) for i in range(40_000)]
time.sleep(3.0)
"""


def _run(tmp_path: Path, **env: str) -> list[str]:
    full = dict(os.environ, CORPUSMILL_SDK_MEMORY_LOG=str(tmp_path / "mem"), CORPUSMILL_SDK_MEMORY_EVERY_S="0.5", **env)
    subprocess.run([sys.executable, "-c", SCRIPT], env=full, check=True, timeout=60)
    return (tmp_path / "mem" / "sdk-w-1.memory.log").read_text().splitlines()


def test_memory_log_records_rss_and_malloc_statistics(tmp_path: Path) -> None:
    lines = _run(tmp_path)
    assert len(lines) >= 2
    first, last = lines[0], lines[-1]
    rss = [int(line.split("rss=", 1)[1].split()[0]) for line in (first, last)]
    assert rss[1] >= rss[0] + 30  # the ~40 MB held since the first line
    if sdk_worker.malloc_stats():  # glibc >= 2.33
        assert "'in_use':" in first and "'free':" in first and "'mmapped':" in first
    assert "threads=" in first and "traced=" not in first


def test_memory_log_with_tracemalloc_names_the_allocating_line(tmp_path: Path) -> None:
    lines = _run(tmp_path, CORPUSMILL_SDK_TRACEMALLOC="1")
    assert any("traced=" in line for line in lines)
    # allocation sites are lines "N MB M blocks file:line": the ~40 MB list is SCRIPT's line 5
    sites = [line.split() for line in lines if line.startswith(" ") and "blocks" in line]
    assert max(int(site[0]) for site in sites if site[-1] == "<string>:5") >= 30, sites[:5]


def test_no_memory_log_without_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CORPUSMILL_SDK_MEMORY_LOG"}
    code = "from corpusmill.workflows import sdk_worker; sdk_worker.start_memory_log('w'); import threading; print(threading.active_count())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "1"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("given", [{}, {"MALLOC_ARENA_MAX": "8"}])
def test_worker_pool_env_sets_malloc_defaults_unless_given(given: dict[str, str]) -> None:
    from corpusmill.workflows.engines import SDK_WORKER_ENV, worker_pool_env

    env = worker_pool_env({"PATH": "/bin", **given})
    assert env["PATH"] == "/bin"
    assert env["MALLOC_ARENA_MAX"] == given.get("MALLOC_ARENA_MAX", SDK_WORKER_ENV["MALLOC_ARENA_MAX"])
    assert env["MALLOC_MMAP_THRESHOLD_"] == SDK_WORKER_ENV["MALLOC_MMAP_THRESHOLD_"]


def test_worker_pool_env_can_be_left_as_glibc_and_beam_have_it() -> None:
    from corpusmill.workflows.engines import worker_pool_env

    env = worker_pool_env({"PATH": "/bin", "CORPUSMILL_SDK_WORKER_ENV": "0"})
    assert "MALLOC_ARENA_MAX" not in env and "CORPUSMILL_OUTPUT_FLUSH_BYTES" not in env
    assert env["CORPUSMILL_SDK_MALLOC_TRIM_S"] == "0"


TRIM_SCRIPT = """
import ctypes, sys, time
from corpusmill.workflows import sdk_worker
# ~200 MB in 4 KB blocks (below the mmap threshold: inside the heap), then 9 of every 10 freed:
# ~36 KB holes between the blocks still held, which the heap cannot shrink past
held = [ctypes.create_string_buffer(4096) for _ in range(50_000)]
for i in range(len(held)):
    if i % 10:
        held[i] = None
free_before = sdk_worker.malloc_stats()["free"]
rss_before = sdk_worker.rss_mb()
started = sdk_worker.start_malloc_trim()
time.sleep(1.0)
print(started, free_before, rss_before, sdk_worker.rss_mb())
"""


def test_malloc_trim_gives_freed_heap_memory_back(tmp_path: Path) -> None:
    if not sdk_worker.malloc_stats():
        pytest.skip("not glibc >= 2.33")
    env = dict(os.environ, CORPUSMILL_SDK_MALLOC_TRIM_S="0.2", MALLOC_ARENA_MAX="2")
    out = subprocess.run([sys.executable, "-c", TRIM_SCRIPT], env=env, capture_output=True, text=True, check=True, timeout=60)
    started, free_before, rss_before, rss_after = out.stdout.split()
    assert started == "True" and int(free_before) >= 120
    assert int(rss_after) <= int(rss_before) - 100, out.stdout  # the holes' pages left the process
    off = subprocess.run([sys.executable, "-c", TRIM_SCRIPT], env={**env, "CORPUSMILL_SDK_MALLOC_TRIM_S": "0"}, capture_output=True, text=True, check=True, timeout=60)
    assert off.stdout.split()[0] == "False" and int(off.stdout.split()[3]) >= int(off.stdout.split()[2]) - 10
