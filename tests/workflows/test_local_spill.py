"""workflows/local_spill.py: FnApiRunner's buffers on disk, same bytes out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from apache_beam import coders
from apache_beam.coders.coder_impl import create_InputStream, create_OutputStream
from apache_beam.runners.portability.fn_api_runner import execution
from apache_beam.transforms import core, window
from apache_beam.transforms.window import GlobalWindows

import corpusmill.workflows.runner  # noqa: F401 - applies beam_fixes and local_spill
from corpusmill.workflows import local_spill
from tests.workflows.blob_pipeline import run_blob_pipeline


@pytest.fixture
def spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "spill"  # made by the first spill file
    monkeypatch.setenv("CORPUSMILL_LOCAL_SPILL_DIR", str(directory))
    return directory


def test_large_chunks_go_to_an_unnamed_file_and_come_back_unchanged(spill_dir: Path) -> None:
    chunks = [bytes([i]) * (local_spill.SPILL_MIN_BYTES + i) for i in range(6)] + [b"small"]
    stored = local_spill.SpilledChunks()
    for chunk in chunks:
        stored.append(chunk)
    assert stored.spilled_bytes() == sum(len(c) for c in chunks[:6])
    assert os.listdir(spill_dir) == []  # unlinked from the start: a crash leaves nothing
    assert list(stored) == chunks
    assert list(stored[1::2]) == chunks[1::2]  # slices are views on the same file
    assert stored[-1] == b"small" and stored[2] == chunks[2]
    copy = stored.view()
    copy.append(b"more" * local_spill.SPILL_MIN_BYTES)
    assert len(stored) == len(chunks) and list(copy)[:-1] == chunks
    merged = local_spill.SpilledChunks()
    merged.append(b"first")
    merged.extend(stored)
    assert list(merged) == [b"first", *chunks]


def test_list_buffers_of_the_runner_spill(spill_dir: Path) -> None:
    buffer = execution.ListBuffer(coder_impl=None)
    big = b"x" * (2 * local_spill.SPILL_MIN_BYTES)
    for _ in range(5):
        buffer.append(big)
    assert isinstance(buffer._inputs, local_spill.SpilledChunks)
    assert buffer._inputs.spilled_bytes() == 5 * len(big)
    parts = buffer.partition(2)
    assert [len(p) for p in parts] == [3, 2] and all(chunk == big for p in parts for chunk in p)
    assert list(buffer.copy()) == [big] * 5


def _grouping_buffer(keys: int, value_bytes: int, append: Any = None) -> execution.GroupingBuffer:
    """A runner's grouping buffer filled with 2 values (int, bytes) per key; `append`: ours
    (default, as patched) or Beam's own."""
    value = coders.TupleCoder([coders.VarIntCoder(), coders.BytesCoder()])
    pre = coders.WindowedValueCoder(coders.TupleCoder([coders.BytesCoder(), value]))
    post = coders.WindowedValueCoder(coders.TupleCoder([coders.BytesCoder(), coders.IterableCoder(value)]))
    buffer = execution.GroupingBuffer(pre, post, core.Windowing(window.GlobalWindows()))
    out = create_OutputStream()
    for i in range(keys):
        for j in range(2):
            pre.get_impl().encode_to_stream(GlobalWindows.windowed_value((b"key%d" % i, (i * j, bytes([j]) * value_bytes))), out, True)
    (append or execution.GroupingBuffer.append)(buffer, out.get())
    return buffer


def _decoded(buffer: execution.GroupingBuffer, parts: list[list[bytes]]) -> list[dict[bytes, list[Any]]]:
    impl = buffer._post_grouped_coder.get_impl()
    result = []
    for chunks in parts:
        groups: dict[bytes, list[Any]] = {}
        for chunk in chunks:
            stream = create_InputStream(chunk)
            while stream.size() > 0:
                key, values = impl.decode_from_stream(stream, True).value
                groups[key] = list(values)
        result.append(groups)
    return result


def test_grouped_input_is_encoded_in_chunks_with_the_same_groups_per_worker(spill_dir: Path) -> None:
    """A grouped bundle input leaves in chunks of about CHUNK_BYTES (whole elements, on disk)
    instead of one byte string per worker, each worker gets the same groups as with Beam's
    encoding, and the table is released."""
    keys, value_bytes = 2000, 5000  # ~20 MB: several chunks per worker
    ours = _grouping_buffer(keys, value_bytes)
    assert local_spill.enabled()
    assert all(isinstance(v, bytes) for values in ours._table.values() for v in values)  # kept encoded
    parts = ours.partition(2)
    assert all(len(chunks) >= 2 for chunks in parts)
    assert all(len(chunk) <= local_spill.CHUNK_BYTES + 3 * value_bytes for chunks in parts for chunk in chunks)
    beams = _grouping_buffer(keys, value_bytes, append=local_spill._grouping_append)
    reference = local_spill._grouping_partition(beams, 2)
    assert all(len(chunks) == 1 for chunks in reference)
    assert _decoded(ours, parts) == _decoded(beams, reference)
    assert sum(len(groups) for groups in _decoded(ours, parts)) == keys
    assert all(isinstance(chunks, local_spill.SpilledChunks) and chunks.spilled_bytes() > 0 for chunks in parts)
    assert not ours._table


def test_multi_process_pipeline_through_spilled_buffers(spill_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipeline on two worker processes whose stage inputs (~80 MB) go through spill files
    gives the exact result."""
    written: list[int] = []
    original = local_spill.SpillFile.write

    def counting(self: local_spill.SpillFile, chunk: bytes) -> tuple[int, int]:
        written.append(len(chunk))
        return original(self, chunk)

    monkeypatch.setattr(local_spill.SpillFile, "write", counting)
    run_blob_pipeline("multi_processing")
    assert sum(written) > 40 * 10**6
