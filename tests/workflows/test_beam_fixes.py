"""workflows/beam_fixes.py: the FnApiRunner data-plane race it works around, and the work-around."""

from __future__ import annotations

import queue
import threading

import pytest
from apache_beam.portability.api import beam_fn_api_pb2

from apache_beam.runners.portability.fn_api_runner import fn_runner, worker_handlers
from apache_beam.runners.worker import data_plane

import corpusmill.workflows.runner  # noqa: F401 - applies beam_fixes
from corpusmill.workflows import beam_fixes
from tests.workflows.blob_pipeline import run_blob_pipeline

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
    sent: list = []

    def drain() -> None:  # the gRPC side: the queue is bounded, so the writer waits for it
        while not (sent and sent[-1].is_last):
            sent.append(conn._to_send.get())

    reader = threading.Thread(target=drain)
    reader.start()
    for _ in range(CHUNKS):
        stream.write(CHUNK)
    stream.close()
    reader.join(timeout=60)
    assert not reader.is_alive()
    assert sum(len(m.data) for m in sent) == len(CHUNK) * CHUNKS
    assert sent[-1].is_last
    assert _bytes_through(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS) == len(CHUNK) * CHUNKS


def test_runner_send_queue_is_bounded_and_never_refuses_the_end_marker() -> None:
    conn = data_plane.BeamFnDataServicer(0).get_conn_by_worker_id("w")
    assert conn._to_send.maxsize == beam_fixes.SEND_QUEUE_BYTES
    message = beam_fn_api_pb2.Elements.Data(instruction_id="b", transform_id="t", data=b"x" * (10 << 20))
    taken = 0
    while not conn._to_send.full():
        conn._to_send.put(message, timeout=1)
        taken += 1
    assert taken == -(-beam_fixes.SEND_QUEUE_BYTES // len(message.data))  # the bytes bound, plus one message
    with pytest.raises(queue.Full):
        conn._to_send.put(message, timeout=0.1)
    conn.close()  # puts the end-of-writes marker on a full queue without waiting
    drained = [conn._to_send.get_nowait() for _ in range(taken + 1)]
    assert drained[-1] is data_plane._GrpcDataChannel._WRITES_FINISHED
    assert conn._to_send.empty() and conn._to_send.bytes == 0


@pytest.mark.parametrize("mode", ["multi_processing", "in_memory"])
def test_runner_streams_large_bundle_inputs_through_bounded_queues(mode: str) -> None:
    """A stage whose input (~80 MB, grouped in the runner) is several times the send queues'
    bound reaches two worker processes whole: the bundle is started before its input is
    written, so the bounded queue drains while the worker runs (written first, it would
    deadlock). An in-process worker runs a bundle inside the request that starts it, so its
    input is written first, as Beam does (sent alongside, the bundle would see none of it)."""
    run_blob_pipeline(mode)


class _Handler:
    def __init__(self) -> None:
        self.data_conn = data_plane.BeamFnDataServicer(0).get_conn_by_worker_id("w")


def test_bundle_input_is_written_by_its_own_thread_at_the_workers_pace() -> None:
    """FnApiRunner writes a bundle's input before it starts the bundle; with a bounded queue
    that write must not hold up the bundle thread (it returns at once, with the queue full)
    and everything it writes still arrives, in order, once a worker reads."""
    manager = fn_runner.BundleManager.__new__(fn_runner.BundleManager)
    manager._worker_handler = _Handler()  # type: ignore[assignment]
    # large chunks (a message each) between runs of small ones (coalesced), order kept
    chunks = [bytes([i]) * ((11 << 20) if i % 3 == 0 else 300_000) for i in range(12 * beam_fixes.SEND_QUEUE_BYTES // (10 << 20))]
    manager._send_input_to_worker("bundle_1", "read", chunks)  # returns although nothing reads yet
    conn = manager._worker_handler.data_conn
    threading.Event().wait(0.5)
    assert conn._to_send.full()
    received = []
    while not (received and received[-1].is_last):
        received.append(conn._to_send.get(timeout=30))
    assert b"".join(m.data for m in received) == b"".join(chunks)
