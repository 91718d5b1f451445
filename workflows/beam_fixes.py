"""Work-arounds for Beam defects that lose data or hold memory on the local runner; applied on
import of `corpusmill.workflows.runner`, so every pipeline this project runs in-process gets them.

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

FnApiRunner copies every bundle's whole input, in one message, into an unbounded queue
  (Beam 2.62). `BundleManager.process_bundle` writes all of a bundle's input to the worker's
  data channel before it starts the bundle, without ever flushing the size-based stream, so
  the input leaves as ONE message of the whole partition (a grouped input is even encoded as
  one byte string per worker), and the channel's `_to_send` queue has no bound. The runner
  then holds the stage's input two or three times over (its buffer, the concatenated stream,
  the protobuf message), and the worker receives it whole. Measured on the web preset at 160k
  documents (scratch diagnostics, 2026-12-05): the runner went from 0.82 GB to 1.99 GB within
  seconds of handing the 0.44 GB steps-stage input to its two workers.

  Fix: a bundle's input is written by a thread of its own, flushed in messages of about
  Beam's 10 MB flush size (a grouped input is encoded in chunks of whole elements by
  `workflows/local_spill.py`), into send queues of SEND_QUEUE_BYTES; the bundle thread goes
  on at once to start the bundle and read its output, so the input flows at the worker's pace. (A
  bounded queue with the input written first would deadlock: a worker does not read the
  input of a bundle it was not asked to run.)
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner, worker_handlers
from apache_beam.runners.worker import data_plane

from corpusmill.workflows import local_spill

log = logging.getLogger(__name__)

# Bytes of messages queued per worker before a writer waits (a message is ~10 MB, or one
# element when an element is larger, e.g. a whole shard group).
SEND_QUEUE_BYTES = 32 << 20
# A chunk of a bundle's input this large is sent as a message of its own (Beam copies every
# chunk into its stream's buffer, then copies the buffer out when it flushes).
DIRECT_MESSAGE_BYTES = 1 << 20


def _message_bytes(item: Any) -> int:
    return len(getattr(item, "data", b"") or getattr(item, "timers", b"") or b"")


class BoundedSendQueue(queue.Queue):  # type: ignore[type-arg]
    """A data channel's send queue that takes a message while it holds less than `maxsize`
    bytes (so at most `maxsize` plus one message); the channel's end-of-writes marker is
    never refused (closing must not wait for a worker). `qsize()` is bytes plus messages."""

    def _init(self, maxsize: int) -> None:
        super()._init(maxsize)
        self.bytes = 0

    def _qsize(self) -> int:
        return self.bytes + len(self.queue)

    def _put(self, item: Any) -> None:
        super()._put(item)
        self.bytes += _message_bytes(item)

    def _get(self) -> Any:
        item = super()._get()
        self.bytes -= _message_bytes(item)
        return item

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is data_plane._GrpcDataChannel._WRITES_FINISHED:
            with self.mutex:
                self._put(item)
                self.unfinished_tasks += 1
                self.not_empty.notify()
            return
        super().put(item, block, timeout)


_servicer_init = data_plane.BeamFnDataServicer.__init__


def _bounded_servicer_init(self: data_plane.BeamFnDataServicer, data_buffer_time_limit_ms: int = 0) -> None:
    _servicer_init(self, data_buffer_time_limit_ms)

    def channel() -> data_plane._GrpcDataChannel:
        conn = data_plane._GrpcDataChannel(data_buffer_time_limit_ms)
        conn._to_send = BoundedSendQueue(maxsize=SEND_QUEUE_BYTES)
        return conn

    self._connections_by_worker_id.default_factory = channel


_send_input_to_worker = fn_runner.BundleManager._send_input_to_worker


def _send_input_in_background(self: fn_runner.BundleManager, process_bundle_id: str, read_transform_id: str, byte_streams: Any) -> None:
    """Beam's `_send_input_to_worker`, on a thread of its own, for workers behind gRPC (see the
    module docstring). An in-process worker (`in_memory` mode) runs the bundle inside the
    request that starts it, so its input must be all there first: Beam's own send."""
    worker_handler = self._worker_handler
    assert worker_handler is not None
    if not isinstance(worker_handler.data_conn, data_plane._GrpcDataChannel):
        _send_input_to_worker(self, process_bundle_id, read_transform_id, byte_streams)
        return

    conn = worker_handler.data_conn

    def send() -> None:
        try:
            data_out = conn.output_stream(process_bundle_id, read_transform_id)
            for byte_stream in byte_streams or []:
                if len(byte_stream) >= DIRECT_MESSAGE_BYTES:  # a message of its own, not copied
                    data_out.flush()  # what came before it, in order
                    conn._to_send.put(
                        beam_fn_api_pb2.Elements.Data(instruction_id=process_bundle_id, transform_id=read_transform_id, data=byte_stream)
                    )
                    continue
                data_out.write(byte_stream)
                data_out.maybe_flush()  # one message per ~10 MB, not one for the whole input
            data_out.close()
        except Exception:  # noqa: BLE001 - the bundle then fails or waits; say why
            log.exception("sending the input of %s (%s) to its worker failed", process_bundle_id, read_transform_id)

    threading.Thread(target=send, name=f"input-{process_bundle_id}", daemon=True).start()


def apply() -> None:
    """Make FnApiRunner's runner-side data streams size-based, its send queues bounded,
    bundle inputs written alongside the bundle in ~10 MB messages, and its buffers spilled
    (workflows/local_spill.py) (idempotent)."""
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0
    data_plane.BeamFnDataServicer.__init__ = _bounded_servicer_init  # type: ignore[method-assign]
    fn_runner.BundleManager._send_input_to_worker = _send_input_in_background  # type: ignore[method-assign]
    local_spill.apply()


apply()
