"""Work-arounds for Beam defects that lose data on the local runner; applied on import of
`corpusmill.workflows.runner`, so every pipeline this project runs in-process gets them.

FnApiRunner's data-plane streams race (Beam 2.62; the code is unchanged in later releases).
  With several worker processes (`--direct_running_mode=multi_processing`, this project's
  default on a machine with several cores) the runner sends each bundle's input to a worker
  through a `TimeBasedBufferingClosableOutputStream` (worker_handlers.DATA_BUFFER_TIME_LIMIT_MS
  = 1000). A background thread flushes that buffer every second: it reads the buffer, hands
  it to gRPC, then clears it, without holding off the thread that is still writing the
  bundle's input into it. A chunk written between the read and the clear is dropped without a
  trace. It only happens when writing one bundle's input takes longer than the flush period,
  i.e. on big stages or a loaded machine: runs here lost whole ~10 MB chunks of documents
  (1,173 of 30,000; 101,596 of 300,000) when another job shared the two cores, and nothing
  at all when the machine was idle. `tests/workflows/test_beam_fixes.py` reproduces the race
  on Beam's own class.

  Fix: a time limit of 0 makes the runner use Beam's size-based stream, which has no flusher
  thread; a batch bundle's input is flushed whole when it is closed, so nothing waits on the
  timer. (SDK workers already default to 0 on their side; Flink and Spark runners are Java and
  not affected.) Remove this when Beam guards the flush (the race test then fails).
"""

from __future__ import annotations

from apache_beam.runners.portability.fn_api_runner import worker_handlers


def apply() -> None:
    """Make FnApiRunner's runner-side data streams size-based (idempotent)."""
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0


apply()
