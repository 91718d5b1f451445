"""Work-arounds for Beam defects of the local runner (one loses data, one doubles a grouping's
memory); applied on import of `corpusmill.workflows.runner`, so every pipeline this project
runs in-process gets them.

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

FnApiRunner's groupings hold their data twice at their peak (Beam 2.62, execution.GroupingBuffer).
  A GroupByKey's values wait in the runner's process as decoded Python objects in a table
  (key -> list). When the consuming stage starts, `partition` encodes every group into output
  streams and clears the table only at the end, so for the time of that loop the runner holds
  the whole grouping twice: as objects and as encoded bytes. For the shard grouping and the
  MinHash payload join that is every document's packed bytes or shingle set.

  Fix: `partition` reads the table through a view that removes each key as it hands it out, so
  a group's objects are released once they are encoded. The keys, their order and the bytes
  produced are the same (`tests/workflows/test_beam_fixes.py`).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

from apache_beam.runners.portability.fn_api_runner import execution, worker_handlers


class DrainingTable(collections.defaultdict):  # type: ignore[type-arg]
    """A grouping table whose `items()` removes each key as it yields it (insertion order)."""

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        for key in list(self.keys()):
            yield key, self.pop(key)


_original_partition = execution.GroupingBuffer.partition


def _draining_partition(self: execution.GroupingBuffer, n: int) -> list[list[bytes]]:
    if not self._grouped_output and not isinstance(self._table, DrainingTable):
        table = DrainingTable(list)
        table.update(self._table)
        self._table = table
    return _original_partition(self, n)


def apply() -> None:
    """Make FnApiRunner's runner-side data streams size-based and its groupings release their
    table while they encode it (idempotent)."""
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0
    execution.GroupingBuffer.partition = _draining_partition  # type: ignore[method-assign]


apply()
