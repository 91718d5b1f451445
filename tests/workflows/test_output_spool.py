"""workflows/output_spool.py: a bundle's output waits on disk until the bundle's input has ended."""

from __future__ import annotations

import os
import queue
import threading

import pytest
from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.worker import data_plane

from corpusmill.workflows import output_spool
from corpusmill.workflows.output_spool import SpoolingOutputStream

MESSAGE = 4096


def _stream(sent: list[bytes], closed: list[bytes], spool: bool = True, backlog=lambda: 0) -> SpoolingOutputStream:
    return SpoolingOutputStream(closed.append, sent.append, backlog, size_flush_threshold=MESSAGE, spool=spool)


def _close(stream: SpoolingOutputStream) -> None:
    """close(), then wait for the thread that sends the spool (close returns at once)."""
    stream.close()
    if stream.replay is not None:
        stream.replay.join(timeout=60)
        assert not stream.replay.is_alive()


def _write(stream: SpoolingOutputStream, n: int) -> bytes:
    written = b""
    for i in range(n):
        element = f"element {i:06d} ".encode() * 50
        stream.write(element)
        stream.maybe_flush()  # what Beam's DataOutputOperation does after each element
        written += element
    return written


def test_nothing_is_sent_before_close_then_everything_in_order() -> None:
    sent: list[bytes] = []
    closed: list[bytes] = []
    stream = _stream(sent, closed)
    written = _write(stream, 2000)
    assert sent == [] and closed == []  # all of it waits on disk while input may still arrive
    assert stream.spooled_bytes > 100 * MESSAGE
    _close(stream)
    assert len(sent) > 100 and all(len(m) > MESSAGE for m in sent)  # full messages, as Beam sends them
    assert len(closed) == 1
    assert b"".join(sent) + closed[0] == written


def test_without_spool_messages_leave_as_they_fill() -> None:
    sent: list[bytes] = []
    closed: list[bytes] = []
    stream = _stream(sent, closed, spool=False)
    written = _write(stream, 2000)
    assert len(sent) > 100 and closed == []
    stream.close()
    assert b"".join(sent) + closed[0] == written


def test_replay_waits_for_the_send_queue() -> None:
    """The replay never lets more than MAX_BACKLOG messages pile up in the worker's send queue."""
    pending: queue.Queue[bytes] = queue.Queue()
    seen_backlog: list[int] = []

    def send(message: bytes) -> None:
        seen_backlog.append(pending.qsize())
        pending.put(message)
        if pending.qsize() >= output_spool.MAX_BACKLOG:
            pending.get()  # the gRPC writer takes one while the replay waits

    stream = SpoolingOutputStream(lambda data: None, send, pending.qsize, size_flush_threshold=MESSAGE)
    _write(stream, 500)
    _close(stream)
    assert seen_backlog and max(seen_backlog) < output_spool.MAX_BACKLOG


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(data_plane._GrpcDataChannel, "output_stream", data_plane._GrpcDataChannel.output_stream)
    monkeypatch.setenv("CORPUSMILL_OUTPUT_FLUSH_BYTES", str(MESSAGE))
    output_spool.install()
    yield


def test_installed_in_beams_data_channel(installed: None) -> None:
    """Through Beam's own gRPC data channel: data messages for the instruction only after close,
    then the end-of-stream marker."""
    channel = data_plane.BeamFnDataServicer(0).get_conn_by_worker_id("w")
    stream = channel.output_stream("bundle_1", "transform")
    assert isinstance(stream, SpoolingOutputStream)
    written = _write(stream, 2000)
    assert channel._to_send.empty()
    messages: list[beam_fn_api_pb2.Elements.Data] = []


    done = threading.Event()

    def drain() -> None:  # the gRPC writer's part
        while not done.is_set() or not channel._to_send.empty():
            try:
                messages.append(channel._to_send.get(timeout=0.05))
            except queue.Empty:
                pass

    writer = threading.Thread(target=drain)
    writer.start()
    _close(stream)
    done.set()
    writer.join()
    assert all(m.instruction_id == "bundle_1" and m.transform_id == "transform" for m in messages)
    assert messages[-1].is_last and not any(m.is_last for m in messages[:-1])
    assert b"".join(m.data for m in messages) == written


def test_spool_file_is_visible_while_it_fills_and_deleted_once_sent(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under TMPDIR (the engine session's folder, which benchmarks measure with du), deleted
    when its messages are sent."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    stream = _stream([], [])
    _write(stream, 500)
    assert stream.spooled_bytes > 0
    assert [p.name.startswith("corpusmill-spool-") for p in tmp_path.iterdir()] == [True]
    _close(stream)
    assert list(tmp_path.iterdir()) == []


def test_segments_leave_the_disk_as_they_are_sent(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spool larger than a segment is split into files; each is deleted once its messages
    are sent, so the disk does not hold the whole bundle's output while the runner copies it."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    files_at_send: list[int] = []
    sent: list[bytes] = []
    closed: list[bytes] = []

    def send(message: bytes) -> None:
        files_at_send.append(len(list(tmp_path.iterdir())))
        sent.append(message)

    stream = SpoolingOutputStream(closed.append, send, lambda: 0, size_flush_threshold=MESSAGE, segment_size=8 * MESSAGE)
    written = _write(stream, 2000)
    segments = len(list(tmp_path.iterdir()))
    assert segments >= 10
    _close(stream)
    assert b"".join(sent) + closed[0] == written
    assert files_at_send[0] == segments and files_at_send[-1] == 1
    assert files_at_send == sorted(files_at_send, reverse=True)
    assert list(tmp_path.iterdir()) == []


def test_close_returns_before_the_spool_is_sent() -> None:
    """The runner drains a bundle's output only after the worker reports the bundle complete,
    which it does once close() returns: close must not wait for the runner."""
    release = threading.Event()
    sent: list[bytes] = []
    closed: list[bytes] = []

    def blocked_send(message: bytes) -> None:
        release.wait(timeout=60)
        sent.append(message)

    stream = SpoolingOutputStream(closed.append, blocked_send, lambda: 0, size_flush_threshold=MESSAGE)
    written = _write(stream, 500)
    stream.close()  # would deadlock here if it sent synchronously
    assert sent == [] and closed == []
    release.set()
    assert stream.replay is not None
    stream.replay.join(timeout=60)
    assert b"".join(sent) + closed[0] == written
