"""One SDK worker process of a local Flink/Spark engine session, started by the worker pool
(`workflows/worker_pool.py`): Beam's SdkHarness with output spooling installed
(`workflows/output_spool.py`), connected to the runner's control endpoint.

    python -m corpusmill.workflows.sdk_worker --control-endpoint=HOST:PORT --worker-id=ID

Freed memory back to the system: glibc keeps memory freed inside its heaps (holes between
live blocks) mapped; each worker held 200-350 MB of it after a stage at 100k-300k ~4 KB
documents (benchmarks/results/engine_scale.md, notes). Every CORPUSMILL_SDK_MALLOC_TRIM_S
seconds (default 2; 0: never) a thread calls malloc_trim(0), which returns the free pages
inside the heaps, when mallinfo2 counts at least TRIM_MIN_FREE_MB free.

Memory diagnostics (opt-in, environment of the worker pool, which its workers inherit):
CORPUSMILL_SDK_MEMORY_LOG=DIR makes each worker append a line every
CORPUSMILL_SDK_MEMORY_EVERY_S seconds (default 5) to DIR/sdk-<worker id>.memory.log: its RSS,
glibc's malloc statistics (mallinfo2: bytes in use, free inside the heaps, mmapped) and its
thread count; with CORPUSMILL_SDK_TRACEMALLOC=1 also the 12 source lines holding the most
Python-allocated memory (tracemalloc, which slows the worker down).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import logging
import os
import threading
import time
import tracemalloc

from apache_beam.runners.worker.sdk_worker import SdkHarness

from corpusmill.workflows import output_spool

MEMORY_LOG_ENV = "CORPUSMILL_SDK_MEMORY_LOG"
MEMORY_EVERY_ENV = "CORPUSMILL_SDK_MEMORY_EVERY_S"
TRACEMALLOC_ENV = "CORPUSMILL_SDK_TRACEMALLOC"
TOP_SITES = 12
MALLOC_TRIM_ENV = "CORPUSMILL_SDK_MALLOC_TRIM_S"
TRIM_EVERY_S = 2.0
TRIM_MIN_FREE_MB = 32


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc with mallinfo2 (glibc >= 2.33), loaded once; None elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    return libc


def malloc_stats() -> dict[str, int]:
    """glibc's mallinfo2 in MB: `heap` (obtained with brk/arenas), `in_use`, `free` (inside the
    heaps, not returned to the system), `mmapped`; empty when not glibc >= 2.33."""
    libc = _libc()
    if libc is None:
        return {}
    info = libc.mallinfo2()
    mb = 2**20
    return {"heap": info.arena // mb, "in_use": info.uordblks // mb, "free": info.fordblks // mb, "mmapped": info.hblkhd // mb}


def _trim_loop(every_s: float) -> None:
    libc = _libc()
    while libc is not None:
        time.sleep(every_s)
        if malloc_stats().get("free", 0) >= TRIM_MIN_FREE_MB:
            libc.malloc_trim(0)


def start_malloc_trim() -> bool:
    """Start the malloc_trim thread (see the module docstring); False when off or not glibc."""
    every = float(os.environ.get(MALLOC_TRIM_ENV) or TRIM_EVERY_S)
    if every <= 0 or not malloc_stats():
        return False
    threading.Thread(target=_trim_loop, args=(every,), name="corpusmill-malloc-trim", daemon=True).start()
    return True


def rss_mb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def _memory_logger(path: str, every_s: float, trace: bool) -> None:
    if trace:
        tracemalloc.start(1)
    while True:
        line = f"{time.strftime('%H:%M:%S')} rss={rss_mb()} malloc={malloc_stats()} threads={threading.active_count()}"
        if trace:
            traced, peak = tracemalloc.get_traced_memory()
            stats = tracemalloc.take_snapshot().statistics("lineno")[:TOP_SITES]
            line += f" traced={traced // 2**20} traced_peak={peak // 2**20}\n" + "".join(
                f"    {s.size // 2**20:>6} MB {s.count:>9} blocks {s.traceback[0].filename}:{s.traceback[0].lineno}\n" for s in stats
            )
            tracemalloc.reset_peak()
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        time.sleep(every_s)


def start_memory_log(worker_id: str) -> None:
    """Start the memory log thread when CORPUSMILL_SDK_MEMORY_LOG names a folder."""
    folder = os.environ.get(MEMORY_LOG_ENV)
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"sdk-{worker_id}.memory.log")
    every = float(os.environ.get(MEMORY_EVERY_ENV) or 5)
    trace = os.environ.get(TRACEMALLOC_ENV, "0") not in ("", "0")
    threading.Thread(target=_memory_logger, args=(path, every, trace), name="corpusmill-memory-log", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control-endpoint", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--state-cache-size", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    output_spool.install()
    start_memory_log(args.worker_id)
    start_malloc_trim()
    # data_buffer_time_limit_ms=0: size-based output streams (the ones output_spool replaces)
    SdkHarness(args.control_endpoint, worker_id=args.worker_id, state_cache_size=args.state_cache_size, data_buffer_time_limit_ms=0).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
