"""WriteShards: records -> `<dir>/<kind>/part-SSSSS-of-NNNNN.parquet`, deterministically.

A record goes to shard `hash(id) mod N` (BLAKE2b of the id, so the same id always lands in
the same shard whatever the runner or worker count); rows are sorted within a shard by a total
order (`sort_key`). A shard is written to a hidden temporary name in the same directory and
renamed into place when complete, so a reader never sees a half-written shard. Shards that
received no rows are written empty by `finalize_shards` after the pipeline, so every run has
exactly N files per kind.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpusmill.pipelines.transforms.progress import PROGRESS_DIR, record_stage
from corpusmill.schemas.document import SCHEMAS, Document, Failure, Rejection, to_row

ROW_GROUP_ROWS = 4096
COMPRESSION = "zstd"


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}.parquet"


def shard_of(key: str, count: int) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def record_key(record: Document | Rejection | Failure) -> str:
    if isinstance(record, Failure):
        return record.id or record.location
    return record.id


def sort_key(record: Document | Rejection | Failure) -> tuple[str, ...]:
    """A total order over records of one kind (ties between equal ids broken by content)."""
    if isinstance(record, Document):
        return (record.id, record.location, record.text)
    if isinstance(record, Rejection):
        return (record.id, record.step, record.reason, record.location, record.detail)
    return (record.location, record.step, record.error, record.id or "")


def write_parquet_atomically(rows: list[dict[str, Any]], schema: pa.Schema, path: str) -> None:
    """Write rows to `path` via a hidden temporary file in the same directory + rename."""
    directory, name = path.rsplit("/", 1) if "/" in path else (".", path)
    tmp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
    table = pa.Table.from_pylist(rows, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS, write_statistics=True)
    with FileSystems.create(tmp) as f:
        f.write(buffer.getvalue())
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


class WriteShardFn(beam.DoFn):
    def __init__(self, directory: str, kind: str, count: int) -> None:
        self._directory = directory
        self._kind = kind
        self._count = count

    def process(self, element: tuple[int, Iterable[Any]]) -> Iterator[str]:
        index, records = element
        ordered = sorted(records, key=sort_key)
        path = f"{self._directory}/{self._kind}/{shard_name(index, self._count)}"
        write_parquet_atomically([to_row(r) for r in ordered], SCHEMAS[self._kind], path)
        if "://" not in self._directory:  # progress files are local-only, best effort
            record_stage(f"{self._directory}/{PROGRESS_DIR}", uuid.uuid4().hex[:8], f"{self._kind} shards written", 1)
        yield path


class WriteShards(beam.PTransform):
    """Write a PCollection of records of one kind (`corpus`, `rejected`, `failed`)."""

    def __init__(self, directory: str, kind: str, count: int) -> None:
        super().__init__()
        if kind not in SCHEMAS:
            raise ValueError(f"unknown record kind {kind!r}")
        self._directory = directory
        self._kind = kind
        self._count = count

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        count = self._count
        return (
            records
            | "KeyByShard" >> beam.Map(lambda r: (shard_of(record_key(r), count), r))
            | "GroupByShard" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(WriteShardFn(self._directory, self._kind, count))
        )


def finalize_shards(directory: str, kind: str, count: int) -> list[dict[str, Any]]:
    """After the pipeline: write missing shards empty, remove stale shards of another count,
    and describe every shard (path relative to `directory`, rows, bytes, sha256)."""
    folder = os.path.join(directory, kind)
    os.makedirs(folder, exist_ok=True)
    expected = {shard_name(i, count) for i in range(count)}
    for name in os.listdir(folder):
        if name.startswith("part-") and name not in expected:
            os.remove(os.path.join(folder, name))
    entries = []
    for i in range(count):
        name = shard_name(i, count)
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            write_parquet_atomically([], SCHEMAS[kind], path)
        entries.append(describe_file(directory, f"{kind}/{name}"))
    return entries


def describe_file(directory: str, relative: str) -> dict[str, Any]:
    path = os.path.join(directory, relative)
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    rows = pq.ParquetFile(path).metadata.num_rows
    return {"path": relative, "rows": rows, "bytes": os.path.getsize(path), "sha256": sha.hexdigest()}
