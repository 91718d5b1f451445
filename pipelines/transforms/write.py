"""WriteShards: records -> `<dir>/<kind>/part-SSSSS-of-NNNNN.parquet`, deterministically.

A record goes to shard `hash(id) mod N` (BLAKE2b of the id, so the same id always lands in
the same shard whatever the runner or worker count); rows are sorted within a shard by a total
order (`sort_key`). A shard is written to a hidden temporary name in the same directory and
renamed into place when complete (`schemas.outputs.write_parquet`), so a reader never sees a
half-written shard. Shards that received no rows are written empty by
`schemas.outputs.finalize_shards` after the pipeline, so every run has exactly N files per kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

from corpusmill.schemas import outputs
from corpusmill.schemas.document import SCHEMAS, Document, Failure, Rejection, to_row


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


class WriteShardFn(beam.DoFn):
    def __init__(self, directory: str, kind: str, count: int) -> None:
        self._directory = directory
        self._kind = kind
        self._count = count

    def process(self, element: tuple[int, Iterable[Any]]) -> Iterator[str]:
        index, records = element
        ordered = sorted(records, key=sort_key)
        path = outputs.join(self._directory, self._kind, outputs.shard_name(index, self._count))
        outputs.write_parquet(path, pa.Table.from_pylist([to_row(r) for r in ordered], schema=SCHEMAS[self._kind]))
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
