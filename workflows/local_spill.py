"""The local runner's materialised PCollections on disk instead of in memory.

Beam's FnApiRunner (the default runner here) keeps every PCollection that crosses a stage
boundary in its own process: a `ListBuffer` of encoded byte chunks (the messages its workers
sent back), or a `GroupingBuffer` for a shuffle, which it encodes once more per worker when the
reading stage starts. Those buffers live until their consumer stage runs, which on a corpus
pipeline is often much later: the documents wait in one while the whole dedup runs. They are
what made the runner process grow with the corpus (web preset at 160k documents, scratch
diagnostics of 2026-12-05: up to 1.2 GB of buffers in a 3.6 GB runner process).

Here every chunk of SPILL_MIN_BYTES or more that enters a ListBuffer, and every chunk of a
grouped input that the runner encodes for its workers, goes to an unlinked temporary file
(one per buffer, under CORPUSMILL_LOCAL_SPILL_DIR, default the system temporary directory)
and is read back when the consumer stage sends it to a worker. Small chunks (counts, ids of
small stages) stay in memory. A file disappears with the last reference to its buffer, and a
crashed run leaves nothing behind (the file has no name from the start). The table of a
grouping still fills in memory while its producer stage runs, but with each value kept
encoded (Beam keeps the decoded objects: ~4x the bytes for small tuples such as MinHash band
entries), and it is released key by key as the groups are encoded for the workers. The bytes sent to workers and
their order are the same as Beam's, so outputs are unchanged
(tests/workflows/test_local_spill.py; the byte-identical sample tests run on this runner).

`CORPUSMILL_LOCAL_SPILL=0` turns it off (Beam's in-memory buffers).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from apache_beam.coders.coder_impl import create_InputStream, create_OutputStream
from apache_beam.runners.portability.fn_api_runner import execution
from apache_beam.transforms.window import GlobalWindow, GlobalWindows
from apache_beam.utils import windowed_value

# Chunks this large or larger go to disk (workers send ~10 MB messages; remainders are smaller).
SPILL_MIN_BYTES = 256 << 10
# A grouped bundle input is encoded in byte strings of about this size (whole elements).
CHUNK_BYTES = 8 << 20


def enabled() -> bool:
    return os.environ.get("CORPUSMILL_LOCAL_SPILL", "1") != "0"


def spill_dir() -> str:
    return os.environ.get("CORPUSMILL_LOCAL_SPILL_DIR") or tempfile.gettempdir()


class SpillFile:
    """An unlinked temporary file that chunks are appended to and read back from by offset."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=directory, prefix="corpusmill-spill-")
        self._fd = self._file.fileno()
        self._size = 0
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> tuple[int, int]:
        with self._lock:
            offset = self._size
            self._size += len(chunk)
        view = memoryview(chunk)
        written = 0
        while written < len(chunk):
            written += os.pwrite(self._fd, view[written:], offset + written)
        return offset, len(chunk)

    def read(self, offset: int, length: int) -> bytes:
        parts = []
        done = 0
        while done < length:
            part = os.pread(self._fd, length - done, offset + done)
            if not part:
                raise OSError(f"spill file ended at {offset + done} of {offset + length}")
            parts.append(part)
            done += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    @property
    def size(self) -> int:
        return self._size


Item = bytes | tuple[int, int]  # a chunk in memory, or (offset, length) in the spill file


class SpilledChunks(Sequence[bytes]):
    """A list of byte chunks whose large members live in a SpillFile. Slices and copies are
    views sharing the file (so partitioning a buffer for its workers copies no bytes)."""

    def __init__(self, store: SpillFile | None = None, items: list[Item] | None = None) -> None:
        self._store = store
        self._items: list[Item] = items if items is not None else []

    def append(self, chunk: bytes) -> None:
        if len(chunk) >= SPILL_MIN_BYTES:
            if self._store is None:
                self._store = SpillFile(spill_dir())
            self._items.append(self._store.write(chunk))
        else:
            self._items.append(chunk)

    def extend(self, chunks: Iterable[bytes]) -> None:
        if isinstance(chunks, SpilledChunks):
            theirs_on_disk = any(isinstance(i, tuple) for i in chunks._items)
            if self._store is None and theirs_on_disk:
                self._store = chunks._store  # nothing of ours on disk yet: share their file
            if chunks._store is self._store or not theirs_on_disk:
                self._items.extend(chunks._items)
                return
        for chunk in chunks:
            self.append(chunk)

    def view(self) -> SpilledChunks:
        return SpilledChunks(self._store, list(self._items))

    def _load(self, item: Item) -> bytes:
        if isinstance(item, tuple):
            assert self._store is not None
            return self._store.read(*item)
        return item

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> SpilledChunks: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return SpilledChunks(self._store, self._items[index])
        return self._load(self._items[index])

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[bytes]:
        for item in self._items:
            yield self._load(item)

    def spilled_bytes(self) -> int:
        return sum(item[1] for item in self._items if isinstance(item, tuple))


_list_init = execution.ListBuffer.__init__
_grouping_append = execution.GroupingBuffer.append
_grouping_partition = execution.GroupingBuffer.partition


def _spilling_list_init(self: execution.ListBuffer, coder_impl: Any) -> None:
    _list_init(self, coder_impl)
    self._inputs = SpilledChunks()  # type: ignore[assignment]


def _spilling_list_copy(self: execution.ListBuffer) -> execution.ListBuffer:
    new = execution.ListBuffer(self._coder_impl)
    inputs = self._inputs
    new._inputs = inputs.view() if isinstance(inputs, SpilledChunks) else list(inputs)  # type: ignore[assignment]
    return new


def _compact_grouping_append(self: execution.GroupingBuffer, elements_data: bytes) -> None:
    """GroupingBuffer.append keeping each value encoded (bytes) in the table rather than as
    the decoded Python objects: a MinHash band entry is ~60 bytes encoded and ~250 as a
    tuple of objects. Other windowings: Beam's own."""
    if not self._windowing.is_default():
        _grouping_append(self, elements_data)
        return
    if self._grouped_output:
        raise RuntimeError("Grouping table append after read.")
    self._encoded_values = True
    stream = create_InputStream(elements_data)
    coder_impl = self._pre_grouped_coder.get_impl()
    key_impl = self._key_coder.get_impl()
    value_impl = self._pre_grouped_coder.value_coder().get_impl()
    table = self._table
    while stream.size() > 0:
        key, value = coder_impl.decode_from_stream(stream, True).value
        table[key_impl.encode(key)].append(value_impl.encode(value))


def _spilling_grouping_partition(self: execution.GroupingBuffer, n: int) -> list[Any]:
    """GroupingBuffer.partition (key i of the table to worker i mod n, each group a
    globally-windowed (key, values), partitioned once), encoded in chunks of CHUNK_BYTES of
    whole elements that go to a spill file, the table released key by key. Other windowings:
    Beam's own."""
    if self._grouped_output:
        return self._grouped_output
    if not self._windowing.is_default():
        return _grouping_partition(self, n)
    pane = windowed_value.PaneInfo(
        is_first=True, is_last=True, timing=windowed_value.PaneInfoTiming.ON_TIME, index=0, nonspeculative_index=0
    )
    in_window = GlobalWindows.windowed_value(None, timestamp=GlobalWindow().max_timestamp(), pane_info=pane).with_value
    coder_impl = self._post_grouped_coder.get_impl()
    key_coder_impl = self._key_coder.get_impl()
    store = SpillFile(spill_dir()) if enabled() else None
    parts: list[Any] = [SpilledChunks(store) if store is not None else [] for _ in range(n)]
    streams = [create_OutputStream() for _ in range(n)]
    table = self._table
    decode = self._pre_grouped_coder.value_coder().get_impl().decode if getattr(self, "_encoded_values", False) else None
    for idx, encoded_key in enumerate(list(table)):
        values = table.pop(encoded_key)
        if decode is not None:
            values = [decode(v) for v in values]
        stream = streams[idx % n]
        coder_impl.encode_to_stream(in_window((key_coder_impl.decode(encoded_key), values)), stream, True)
        if stream.size() >= CHUNK_BYTES:
            parts[idx % n].append(stream.get())
            streams[idx % n] = create_OutputStream()
    for ix, stream in enumerate(streams):
        if stream.size():
            parts[ix].append(stream.get())
    self._grouped_output = parts
    return parts


def apply() -> None:
    """Chunked grouped inputs always (messages of ~CHUNK_BYTES instead of one per worker);
    buffers on disk unless CORPUSMILL_LOCAL_SPILL=0 (idempotent)."""
    execution.GroupingBuffer.partition = _spilling_grouping_partition  # type: ignore[method-assign]
    if enabled():
        execution.GroupingBuffer.append = _compact_grouping_append  # type: ignore[method-assign]
        execution.ListBuffer.__init__ = _spilling_list_init  # type: ignore[method-assign]
        execution.ListBuffer.copy = _spilling_list_copy  # type: ignore[method-assign]
