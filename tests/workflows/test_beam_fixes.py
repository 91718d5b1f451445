"""workflows/beam_fixes.py: the FnApiRunner data-plane race it works around, and the work-around."""

from __future__ import annotations

from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.worker import data_plane

import corpusmill.workflows.runner  # noqa: F401 - applies beam_fixes

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
