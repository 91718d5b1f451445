"""SDK-worker side of the Flink/Spark engines: hold a bundle's output on local disk until the
bundle's input has ended, so that a stage of any size finishes.

Why (Beam 2.62, measured in benchmarks/results/engine_scale.md): the portable Flink and Spark
batch runners run a task's whole input partition as ONE bundle (FlinkExecutableStageFunction,
SparkExecutableStageFunction), and their task thread reads the bundle's output from the SDK
worker only after it has sent all of the bundle's input. Output that arrives meanwhile waits in
the runner's inbound queue for the bundle (100 data messages; the SDK sends messages of up to
10 MB). When that queue is full, the runner's gRPC thread blocks on it; gRPC delivers a
stream's callbacks one at a time, so the "ready to send more input" callback never comes and
the task thread blocks sending input: a deadlock. Exact + MinHash dedup of 1M ~4 KB documents
on 2 slots hung this way (about 2.2 GB of output per partition); 300k (about 0.65 GB) passed.
And even when the input has been sent, the runner drains the bundle's output only after the SDK
worker has answered that the bundle is complete (SdkHarnessClient.ActiveBundle.close: it awaits
the ProcessBundleResponse, then the data); until then Beam's SDK worker keeps whatever the
runner's queue does not take in its own unbounded send queue, i.e. in memory.

What this does: in the SDK workers that `workflows/worker_pool.py` starts, every data output
stream of a bundle writes its full 10 MB messages to temporary files (segments of at most
SEGMENT_BYTES, under TMPDIR, the engine session's folder, which the session removes) instead of
sending them. When the bundle's input has ended, Beam closes the stream: a thread then sends
the messages in order, never more than MAX_BACKLOG of them waiting in the worker's send queue,
and the end-of-stream marker last, while the worker answers that the bundle is complete, so
the runner starts draining. Each segment is deleted as soon as its messages are sent, so the
disk holds the spool and the runner's copy of the same output (its shuffle files) together
for one segment only, not for the whole bundle (at 1M documents a bundle's output was ~4 GB). Nothing is sent while the runner is still sending input, and the
worker's memory holds a few messages instead of a bundle's output. The bytes sent, their order
and their grouping into messages are unchanged; only the time they leave changes. Cost: one
sequential write and read of each stage's output on local disk (the page cache, mostly). If a
spool cannot be read back the worker exits (the runner then fails the job) rather than end a
stream short.

Stages whose input is small (reading files from a list of names) do not need it, but cannot be
told apart here; their output goes through the spool too.

Diagnostics (environment of the worker pool): CORPUSMILL_OUTPUT_SPOOL=0 sends output as Beam
does (to reproduce the deadlock); CORPUSMILL_OUTPUT_FLUSH_BYTES sets the message size (Beam's
10 MB by default; tests make it small so that a small stage fills the runner's queue);
CORPUSMILL_SPOOL_SEGMENT_BYTES the segment size (256 MiB).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO

from apache_beam.runners.worker import data_plane

MAX_BACKLOG = 4  # messages waiting in the worker's gRPC send queue while a spool is replayed
_HEADER = 8  # bytes of the little-endian length before each spooled message
SEGMENT_BYTES = 256 << 20  # a spool file is closed once it holds this much; a new one follows


def flush_bytes() -> int:
    """The data message size: CORPUSMILL_OUTPUT_FLUSH_BYTES, else Beam's default (10 MB)."""
    return int(os.environ.get("CORPUSMILL_OUTPUT_FLUSH_BYTES") or data_plane._DEFAULT_SIZE_FLUSH_THRESHOLD)


def segment_bytes() -> int:
    """The spool's segment size: CORPUSMILL_SPOOL_SEGMENT_BYTES, else SEGMENT_BYTES."""
    return int(os.environ.get("CORPUSMILL_SPOOL_SEGMENT_BYTES") or SEGMENT_BYTES)


def spool_enabled() -> bool:
    return os.environ.get("CORPUSMILL_OUTPUT_SPOOL", "1") != "0"


class SpoolingOutputStream(data_plane.SizeBasedBufferingClosableOutputStream):
    """A bundle's data output stream whose full messages go to a temporary file until close().

    `send(data)` hands one message to the worker's send queue, `close_callback(data)` sends the
    last one and the end-of-stream marker (both from Beam's own stream), `backlog()` is the
    length of the send queue. With `spool=False` messages are sent as they fill, like Beam's.
    """

    def __init__(
        self,
        close_callback: Callable[[bytes], None],
        send: Callable[[bytes], None],
        backlog: Callable[[], int],
        size_flush_threshold: int,
        spool: bool = True,
        segment_size: int = SEGMENT_BYTES,
    ) -> None:
        super().__init__(close_callback, flush_callback=send, size_flush_threshold=size_flush_threshold)
        self._send = send
        self._backlog = backlog
        self._spooling = spool
        self._segment_size = segment_size
        self._segments: list[IO[bytes]] = []  # in order; the last one is being written
        self._segment_fill = 0
        self.spooled_bytes = 0
        self.replay: threading.Thread | None = None  # the thread sending the spool after close()

    def flush(self) -> None:
        if not self._spooling:
            super().flush()
            return
        size = self.size()
        if not size:
            return
        if not self._segments or self._segment_fill >= self._segment_size:
            # deleted when closed; if the worker dies, the engine session removes its TMPDIR
            self._segments.append(tempfile.NamedTemporaryFile(prefix="corpusmill-spool-"))
            self._segment_fill = 0
        segment = self._segments[-1]
        segment.write(size.to_bytes(_HEADER, "little"))
        segment.write(self.get())
        self._segment_fill += _HEADER + size
        self.spooled_bytes += size
        self._clear()

    def close(self) -> None:
        """End of the bundle's output: send what was spooled from a thread, then the last
        message and the end-of-stream marker; return at once (see the module docstring)."""
        segments, self._segments = self._segments, []
        if not segments:
            super().close()
            return
        last = self.get()
        self._clear()
        self.replay = threading.Thread(target=self._replay, args=(segments, last), name="corpusmill-spool-replay", daemon=True)
        self.replay.start()

    def _replay(self, segments: list[IO[bytes]], last: bytes) -> None:
        name = segments[0].name
        try:
            for segment in segments:
                name = segment.name
                with segment:  # closing deletes the file: once sent, a segment leaves the disk
                    segment.seek(0)
                    while header := segment.read(_HEADER):
                        message = segment.read(int.from_bytes(header, "little"))
                        while self._backlog() >= MAX_BACKLOG:
                            time.sleep(0.005)
                        self._send(message)
            self._close_callback(last)
        except BaseException:  # an output stream ended short would lose data downstream
            logging.exception("output spool %s could not be sent; stopping this SDK worker", name)
            os._exit(1)


_original_output_stream = data_plane._GrpcDataChannel.output_stream


def _spooling_output_stream(self: data_plane._GrpcDataChannel, instruction_id: str, transform_id: str) -> data_plane.ClosableOutputStream:
    beams = _original_output_stream(self, instruction_id, transform_id)
    if not isinstance(beams, data_plane.SizeBasedBufferingClosableOutputStream) or isinstance(
        beams, data_plane.TimeBasedBufferingClosableOutputStream
    ):
        return beams  # a time-based stream has its own flusher thread: leave it as Beam made it
    return SpoolingOutputStream(
        beams._close_callback,
        beams._flush_callback,
        self._to_send.qsize,
        size_flush_threshold=flush_bytes(),
        spool=spool_enabled(),
        segment_size=segment_bytes(),
    )


def install() -> None:
    """Make the gRPC data channels of this process hand out spooling output streams (idempotent)."""
    data_plane._GrpcDataChannel.output_stream = _spooling_output_stream  # type: ignore[method-assign]
