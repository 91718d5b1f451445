"""WriteShards: records -> `<dir>/<kind>/part-SSSSS-of-NNNNN.parquet`, deterministically.

A record goes to shard `hash(id) mod N` (BLAKE2b of the id, so the same id always lands in
the same shard whatever the runner or worker count); rows are sorted within a shard by a total
order (`sort_key`). A shard is written to a hidden temporary name in the same directory and
renamed into place when complete (`schemas.outputs.write_parquet`), so a reader never sees a
half-written shard. Shards that received no rows are written empty by
`schemas.outputs.finalize_shards` after the pipeline, so every run has exactly N files per kind.

Bounded groups: a grouping key's values travel as one record on some engines (Flink batch
builds one list per key), so a shard is never grouped whole when it is large. The rows per
shard are counted first (a small side input); a shard of more than `max_group_rows` rows is
split by a second hash of the id into ceil(rows / max_group_rows) groups, each written as a
sorted run (`.run-...` next to the shards), and the runs are merged by a streaming k-way merge
(one batch per run in memory) into the shard, row group by row group exactly as a single
write would lay them out: the shard's bytes do not depend on the split
(tests/pipelines/transforms/test_write.py).
"""

from __future__ import annotations

import hashlib
import heapq
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.schemas import outputs
from corpusmill.schemas.document import SCHEMAS, Document, Failure, Rejection, to_row

# Rows of one shard grouped under one key at most (~400 MB of 4 KB documents).
MAX_GROUP_ROWS = 100_000
MERGE_BATCH_ROWS = 1024


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


def row_sort_key(kind: str, row: dict[str, Any]) -> tuple[str, ...]:
    """`sort_key` of the record a Parquet row of `kind` holds."""
    if kind == "corpus":
        return (row["id"], row["location"], row["text"])
    if kind == "rejected":
        return (row["id"], row["step"], row["reason"], row["location"], row["detail"])
    return (row["location"], row["step"], row["error"], row["id"] or "")


def _run_rows(path: str) -> Iterator[dict[str, Any]]:
    for batch in outputs.parquet_file(path).iter_batches(batch_size=MERGE_BATCH_ROWS):
        yield from batch.to_pylist()


def merge_runs(run_paths: list[str], kind: str, path: str) -> int:
    """K-way merge of sorted Parquet runs into `path` (written atomically, runs removed after);
    row groups of PARQUET_ROW_GROUP_ROWS rows, as `outputs.write_parquet` lays out the same
    rows. Returns the number of rows."""
    schema = SCHEMAS[kind]
    size = outputs.PARQUET_ROW_GROUP_ROWS
    merged = heapq.merge(*(_run_rows(p) for p in run_paths), key=lambda row: row_sort_key(kind, row))
    rows = 0
    with outputs.open_atomically(path) as f:
        writer = pq.ParquetWriter(f, schema, compression=outputs.PARQUET_COMPRESSION, write_statistics=True)
        chunk: list[dict[str, Any]] = []
        for row in merged:
            chunk.append(row)
            if len(chunk) == size:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=size)
                rows += len(chunk)
                chunk = []
        if chunk or rows == 0:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=size)
            rows += len(chunk)
        writer.close()
    for run in run_paths:
        outputs.remove(run)
    return rows


def run_name(index: int, count: int, group: int, groups: int) -> str:
    return f".run-{index:05d}-of-{count:05d}.{group:05d}-of-{groups:05d}.parquet"


def group_of(key: str, groups: int) -> int:
    """The group of a record within its shard: a hash independent of `shard_of`'s."""
    if groups <= 1:
        return 0
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, person=b"shardgrp").digest()
    return int.from_bytes(digest, "big") % groups


class WriteShardFn(beam.DoFn):
    """((shard, group, groups), records) -> the shard itself when it has one group, else a
    sorted run; yields (shard, run path) for runs that still have to be merged."""

    def __init__(self, directory: str, kind: str, count: int) -> None:
        self._directory = directory
        self._kind = kind
        self._count = count

    def process(self, element: tuple[tuple[int, int, int], Iterable[Any]]) -> Iterator[tuple[int, str]]:
        (index, group, groups), records = element
        ordered = sorted(records, key=sort_key)
        table = pa.Table.from_pylist([to_row(r) for r in ordered], schema=SCHEMAS[self._kind])
        if groups == 1:
            outputs.write_parquet(outputs.join(self._directory, self._kind, outputs.shard_name(index, self._count)), table)
            self._progress()
            return
        run = outputs.join(self._directory, self._kind, run_name(index, self._count, group, groups))
        outputs.write_parquet(run, table)
        yield index, run

    def _progress(self) -> None:
        progress_dir = outputs.join(self._directory, outputs.PROGRESS_DIR)
        outputs.record_stage(progress_dir, uuid.uuid4().hex[:8], f"{self._kind} shards written", 1)


class MergeRunsFn(WriteShardFn):
    """(shard, run paths) -> the shard, merged from its runs."""

    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[str]:  # type: ignore[override]
        index, runs = element
        path = outputs.join(self._directory, self._kind, outputs.shard_name(index, self._count))
        merge_runs(sorted(runs), self._kind, path)
        self._progress()
        yield path


def _key_by_group(item: tuple[int, Any], groups: dict[int, int]) -> tuple[tuple[int, int, int], Any]:
    shard, record = item
    n = groups[shard]
    return (shard, group_of(record_key(record), n), n), record


class WriteShards(beam.PTransform):
    """Write a PCollection of records of one kind (`corpus`, `rejected`, `failed`)."""

    def __init__(self, directory: str, kind: str, count: int, max_group_rows: int = MAX_GROUP_ROWS) -> None:
        super().__init__()
        if kind not in SCHEMAS:
            raise ValueError(f"unknown record kind {kind!r}")
        self._directory = directory
        self._kind = kind
        self._count = count
        self._max_group_rows = max_group_rows

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        count, cap = self._count, self._max_group_rows
        keyed = records | "KeyByShard" >> beam.Map(lambda r: (shard_of(record_key(r), count), r))
        groups = beam.pvalue.AsDict(
            keyed
            | "ShardKeys" >> beam.Keys()
            | "ShardRows" >> beam.combiners.Count.PerElement()
            | "GroupsPerShard" >> beam.MapTuple(lambda shard, rows: (shard, -(-rows // cap)))
        )
        return (
            keyed
            | "KeyByGroup" >> beam.Map(_key_by_group, groups)
            | "GroupByShard" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(WriteShardFn(self._directory, self._kind, count))
            | "RunsByShard" >> beam.GroupByKey()
            | "MergeRuns" >> beam.ParDo(MergeRunsFn(self._directory, self._kind, count))
        )
