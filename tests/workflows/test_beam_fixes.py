"""workflows/beam_fixes.py: the FnApiRunner data-plane race it works around, the work-around, and
the grouping buffer that releases its table while it encodes it."""

from __future__ import annotations

from apache_beam import coders
from apache_beam.runners.portability.fn_api_runner import execution, worker_handlers
from apache_beam.runners.worker import data_plane
from apache_beam.transforms.core import Windowing
from apache_beam.transforms.window import GlobalWindows

import corpusmill.workflows.runner  # noqa: F401 - applies beam_fixes
from corpusmill.workflows import beam_fixes

CHUNK = b"x" * (1 << 20)
CHUNKS = 100


def _bytes_through(time_limit_ms: int) -> int:
    """Write CHUNKS chunks into an output stream made with flush period `time_limit_ms`;
    return the bytes that reached the flush and close callbacks."""
    received: list[bytes] = []
    stream = data_plane.ClosableOutputStream.create(received.append, received.append, time_limit_ms)
    for _ in range(CHUNKS):
        stream.write(CHUNK)
    stream.close()
    return sum(map(len, received))


def test_beams_time_based_stream_drops_writes_that_race_its_flush() -> None:
    """The upstream defect: a periodic flush clears what was written after it read the buffer.
    With a 1 ms period it shows at once; FnApiRunner's 1000 ms period shows it when writing a
    bundle's input takes over a second. If this starts failing, Beam has fixed the race and
    beam_fixes can go."""
    lost = [len(CHUNK) * CHUNKS - _bytes_through(1) for _ in range(5)]
    assert any(n > 0 for n in lost), lost


def test_runner_side_streams_are_size_based_and_lose_nothing() -> None:
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0
    # the stream the runner's data servicer hands out for a bundle's input (GrpcServer builds
    # BeamFnDataServicer(DATA_BUFFER_TIME_LIMIT_MS))
    conn = data_plane.BeamFnDataServicer(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS).get_conn_by_worker_id("w")
    stream = conn.output_stream("bundle_1", "transform")
    assert not isinstance(stream, data_plane.TimeBasedBufferingClosableOutputStream)
    for _ in range(CHUNKS):
        stream.write(CHUNK)
    stream.close()
    sent = []
    while not conn._to_send.empty():
        sent.append(conn._to_send.get_nowait())
    assert sum(len(m.data) for m in sent) == len(CHUNK) * CHUNKS
    assert sent[-1].is_last
    assert _bytes_through(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS) == len(CHUNK) * CHUNKS



PRE = coders.WindowedValueCoder(coders.TupleCoder([coders.StrUtf8Coder(), coders.BytesCoder()]), coders.coders.GlobalWindowCoder())
POST = coders.WindowedValueCoder(
    coders.TupleCoder([coders.StrUtf8Coder(), coders.IterableCoder(coders.BytesCoder())]), coders.coders.GlobalWindowCoder()
)
KEYS = 37


def _grouping_buffer() -> execution.GroupingBuffer:
    buffer = execution.GroupingBuffer(PRE, POST, Windowing(GlobalWindows()))
    for i in range(2000):
        element = GlobalWindows.windowed_value((f"key{i % KEYS}", f"value {i}".encode() * 10))
        buffer.append(PRE.get_impl().encode_nested(element))  # as the data plane delivers it
    return buffer


class _CountingCoder:
    """POST, noting the grouping table's size each time a group is encoded."""

    def __init__(self, buffer: execution.GroupingBuffer, sizes: list[int]) -> None:
        self._buffer, self._sizes, self._impl = buffer, sizes, POST.get_impl()

    def get_impl(self) -> _CountingCoder:
        return self

    def encode_to_stream(self, value, stream, nested: bool) -> None:
        self._sizes.append(len(self._buffer._table))
        self._impl.encode_to_stream(value, stream, nested)


def test_grouping_buffer_releases_each_group_once_encoded_with_the_same_bytes() -> None:
    assert execution.GroupingBuffer.partition is beam_fixes._draining_partition
    original = beam_fixes._original_partition(_grouping_buffer(), 3)
    buffer = _grouping_buffer()
    sizes: list[int] = []
    buffer._post_grouped_coder = _CountingCoder(buffer, sizes)
    assert buffer.partition(3) == original  # the same groups, in the same order, as bytes
    assert sizes == list(range(KEYS - 1, -1, -1))  # the table loses each group as it is encoded
    assert buffer.partition(3) == original  # read again: the encoded groups are kept
