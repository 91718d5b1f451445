"""WriteShards: records -> `<dir>/<kind>/part-SSSSS-of-NNNNN.parquet`, deterministically.

A record goes to shard `hash(id) mod N` (BLAKE2b of the id, so the same id always lands in
the same shard whatever the runner or worker count). Within a shard, rows are in the order of
a second, independent 64-bit hash of the id (`key_rank`; ties, which only repeated ids make,
broken by `sort_key`): a deterministic shuffle, so a shard does not hold runs of neighbouring
ids (documents of one input file, one site or one book) the way id order would. A shard is
written to a hidden temporary name in the same directory and renamed into place when complete
(`schemas.outputs.write_parquet`), so a reader never sees a half-written shard. Shards that
received no rows are written empty by `schemas.outputs.finalize_shards` after the pipeline, so
every run has exactly N files per kind.

Bounded groups: a grouping key's values travel as one record on some engines (Flink batch
builds one list per key; FnApiRunner sends them to a worker as one element), so a shard is
never grouped whole when it is large. The rows per shard are counted first (a small side
input); a shard of more than `max_group_rows` rows is split into ceil(rows / max_group_rows)
groups by RANGES of `key_rank` (group g of G holds the ranks in [g, g+1) x 2^64 / G), each
group written as a sorted run (`.run-...` next to the shards). The runs are then concatenated
in group order into the shard, row group by row group exactly as a single write would lay
them out (`concat_runs`, Arrow batches only): the shard's bytes do not depend on the split
(tests/pipelines/transforms/test_write.py), and memory is one row group whatever the number
of runs. (The groups were hash buckets before, and the runs were k-way merged by id in
Python with one decoded batch per run in memory: ~18 MB per run, 184 runs per shard for 3M
documents in 4 shards, and ~73 us per row of merge.)

Verdicts joined at the shard grouping: given `decide` and {"records", "verdicts"} (id ->
verdict, e.g. dedup's), the verdicts are keyed like the records and grouped with them (one
CoGroupByKey), so the records cross this one shuffle only; each record is decided there
(kept as returned, or a Rejection, which goes to the "rejected" output), and the numbers of
kept records and rejections per step and source go to "outcomes". The split into groups is
then sized by the records before the decision (the shard's bytes do not depend on it).

Packed records: from the shard key on, a record travels as (its key, its pickle compressed
with zstd level 1) and is unpacked only in the writer. Pickled documents shrink about 1.9x
(multilingual web text of benchmarks/scale.py: 5.1 KB -> 2.6 KB) to 2.4x (engine_scale's
synthetic text), so the shuffle moves about half the bytes, and a runner that keeps the
grouping in memory (FnApiRunner keeps a Python object per value in its grouping table, plus an
encoded copy when it hands the groups out) holds small byte strings instead of whole
documents. Cost on that web text: 35 us to compress and 11 us to decompress a document (zlib
level 1, used before, took 96 and 31 us for the same ratio; one run on 3,000 documents).

Streamed writes: a group's packed records are sorted by (`key_rank` of their key, key), which
is `shard_order` when the keys are distinct (ids of documents and rejections are), and
unpacked one at a time into row groups of PARQUET_ROW_GROUP_ROWS rows (`write_rows`, the
layout a single write of the whole table has), so a worker holds the group's packed bytes and
one row group, not every document of the shard and its Arrow table. Failures (keyed by id or
location) and groups with a repeated key are unpacked and sorted whole by `shard_order`.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from apache_beam.pvalue import TaggedOutput

from corpusmill.schemas import outputs
from corpusmill.schemas.document import SCHEMAS, Document, Failure, Rejection, to_row

# Rows of one shard grouped under one key at most: one Parquet row group (~10 MB of packed
# ~4 KB documents). A group is one element on every runner (one record on Flink, one message
# from FnApiRunner to a worker, decoded whole there); at 100,000 rows (~220 MB) the local
# runner's largest process peaked at 1.98 GB on the web preset at 160k documents, at 4,096
# rows at 1.32 GB (scratch diagnostics, same shards). Rows, not bytes: a shard of long
# documents (books) still makes large groups.
MAX_GROUP_ROWS = 4096


def shard_of(key: str, count: int) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def record_key(record: Document | Rejection | Failure) -> str:
    if isinstance(record, Failure):
        return record.id or record.location
    return record.id


Packed = tuple[str, bytes]


# zstd contexts are not safe to share between threads (an SDK worker runs bundles on several).
_zstd = threading.local()


def pack(record: Any) -> bytes:
    """A record's pickle, compressed with zstd level 1 (documents shrink ~1.9-2.4x)."""
    compressor = getattr(_zstd, "compressor", None)
    if compressor is None:
        compressor = _zstd.compressor = zstandard.ZstdCompressor(level=1)
    return compressor.compress(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))


def unpack(data: bytes) -> Any:
    decompressor = getattr(_zstd, "decompressor", None)
    if decompressor is None:
        decompressor = _zstd.decompressor = zstandard.ZstdDecompressor()
    return pickle.loads(decompressor.decompress(data))


def pack_record(record: Document | Rejection | Failure) -> Packed:
    """(record_key, packed record): the form a record crosses the shard shuffle in."""
    return record_key(record), pack(record)


def unpack_record(packed: Packed) -> Any:
    return unpack(packed[1])


def shard_record(record: Document | Rejection | Failure, count: int) -> tuple[int, Packed]:
    """(shard of `count`, packed record): what WriteShards groups; given with `keyed=True` when
    the caller keys the records itself (e.g. to read them in another place too)."""
    return shard_of(record_key(record), count), pack_record(record)


def key_rank(key: str) -> int:
    """A 64-bit hash of a record's key, independent of `shard_of`'s: the order of rows within
    a shard, and the ranges its groups split it by."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, person=b"shardgrp").digest()
    return int.from_bytes(digest, "big")


def _packed_order(packed: Packed) -> tuple[int, str]:
    return key_rank(packed[0]), packed[0]


def sort_key(record: Document | Rejection | Failure) -> tuple[str, ...]:
    """A total order over records of one kind (ties between equal ids broken by content)."""
    if isinstance(record, Document):
        return (record.id, record.location, record.text)
    if isinstance(record, Rejection):
        return (record.id, record.step, record.reason, record.location, record.detail)
    return (record.location, record.step, record.error, record.id or "")


def shard_order(record: Document | Rejection | Failure) -> tuple[Any, ...]:
    """The order of rows within a shard: a total order over records of one kind."""
    key = record_key(record)
    return (key_rank(key), key, *sort_key(record))


def write_rows(path: str, kind: str, rows: Iterable[dict[str, Any]]) -> int:
    """Rows of `kind`, already in order, streamed into `path` (written atomically) in row
    groups of PARQUET_ROW_GROUP_ROWS rows, as `outputs.write_parquet` lays out the same rows;
    one row group of rows in memory at a time. Returns the number of rows."""
    schema = SCHEMAS[kind]
    size = outputs.PARQUET_ROW_GROUP_ROWS
    count = 0
    with outputs.open_atomically(path) as f:
        writer = pq.ParquetWriter(f, schema, compression=outputs.PARQUET_COMPRESSION, write_statistics=True)
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == size:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=size)
                count += len(chunk)
                chunk = []
        if chunk or count == 0:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema), row_group_size=size)
            count += len(chunk)
        writer.close()
    return count


def concat_runs(run_paths: list[str], kind: str, path: str) -> int:
    """Parquet runs of `kind`, in the given order, concatenated into `path` (written
    atomically; runs removed after) in row groups of PARQUET_ROW_GROUP_ROWS rows, as
    `outputs.write_parquet` lays out the same rows: each row group is written as one chunk, so
    its bytes do not depend on where the runs' batches ended. At most one row group and one
    batch of a run in memory. Returns the number of rows."""
    schema = SCHEMAS[kind]
    size = outputs.PARQUET_ROW_GROUP_ROWS
    count = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with outputs.open_atomically(path) as f:
        writer = pq.ParquetWriter(f, schema, compression=outputs.PARQUET_COMPRESSION, write_statistics=True)

        def flush(table: pa.Table) -> None:
            nonlocal count
            writer.write_table(table.combine_chunks(), row_group_size=size)
            count += table.num_rows

        for run in run_paths:
            for batch in outputs.parquet_file(run).iter_batches(batch_size=size):
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= size:
                    table = pa.Table.from_batches(pending, schema=schema)
                    flush(table.slice(0, size))
                    rest = table.slice(size)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows or count == 0:
            flush(pa.Table.from_batches(pending, schema=schema))
        writer.close()
    for run in run_paths:
        outputs.remove(run)
    return count


def run_name(index: int, count: int, group: int, groups: int) -> str:
    return f".run-{index:05d}-of-{count:05d}.{group:05d}-of-{groups:05d}.parquet"


def group_of(key: str, groups: int) -> int:
    """The group of a record within its shard: the range of `key_rank` it falls in, so the
    groups in order hold the shard's rows in order."""
    if groups <= 1:
        return 0
    return (key_rank(key) * groups) >> 64


class WriteShardFn(beam.DoFn):
    """((shard, group, groups), records) -> the shard itself when it has one group, else a
    sorted run; yields (shard, run path) for runs that still have to be concatenated."""

    def __init__(self, directory: str, kind: str, count: int) -> None:
        self._directory = directory
        self._kind = kind
        self._count = count

    def process(self, element: tuple[tuple[int, int, int], Iterable[Packed]]) -> Iterator[tuple[int, str]]:
        (index, group, groups), packed = element
        yield from self._write(index, group, groups, self._in_order(packed))

    def _in_order(self, packed: Iterable[Packed]) -> Iterator[Any]:
        """The records of a group in `shard_order`, unpacked one at a time when their keys are
        distinct (ids of documents and rejections are: `shard_order` starts with the key's
        rank and the key, so sorting the packed records by those is the same order); else all
        unpacked and sorted."""
        by_key = sorted(packed, key=_packed_order)
        distinct = all(a[0] != b[0] for a, b in zip(by_key, by_key[1:]))
        if distinct:
            return map(unpack_record, by_key)
        return iter(sorted(map(unpack_record, by_key), key=shard_order))

    def _write(self, index: int, group: int, groups: int, ordered: Iterable[Any]) -> Iterator[tuple[int, str]]:
        """Records already in `shard_order` -> the shard (one group) or a sorted run,
        streamed row group by row group."""
        rows = map(to_row, ordered)
        if groups == 1:
            write_rows(outputs.join(self._directory, self._kind, outputs.shard_name(index, self._count)), self._kind, rows)
            self._progress()
            return
        run = outputs.join(self._directory, self._kind, run_name(index, self._count, group, groups))
        write_rows(run, self._kind, rows)
        yield index, run

    def _progress(self) -> None:
        progress_dir = outputs.join(self._directory, outputs.PROGRESS_DIR)
        outputs.record_stage(progress_dir, uuid.uuid4().hex[:8], f"{self._kind} shards written", 1)


REJECTED = "rejected"
OUTCOMES = "outcomes"
Decide = Callable[[Any, list[Any]], Any]


class DecideAndWriteFn(WriteShardFn):
    """((shard, group, groups), {"record<i>": records, "verdict": (id, verdict)}) -> each record
    decided with its verdicts; kept ones written as WriteShardFn does (nothing when none is
    kept: finalize_shards writes the empty shard), Rejections to "rejected", counts of
    ((kept | rejection step), source) to "outcomes"."""

    def __init__(self, directory: str, kind: str, count: int, decide: Decide, progress_stage: str | None) -> None:
        super().__init__(directory, kind, count)
        self._decide = decide
        self._progress_stage = progress_stage

    def setup(self) -> None:
        self._worker = uuid.uuid4().hex[:8]

    # The parent's element holds the records; this one the CoGroupByKey's dict of records and
    # verdicts: same writing (_write), another input type, so mypy sees an incompatible override.
    def process(self, element: tuple[tuple[int, int, int], dict[str, Iterable[Any]]]) -> Iterator[Any]:  # type: ignore[override]
        (index, group, groups), grouped = element
        verdicts: dict[str, list[Any]] = {}
        for record_id, verdict in grouped["verdict"]:
            verdicts.setdefault(record_id, []).append(verdict)
        outcomes: Counter[tuple[str, str]] = Counter()
        rejections: list[Rejection] = []
        packed = itertools.chain.from_iterable(v for k, v in sorted(grouped.items()) if k.startswith("record"))

        def kept_in_order() -> Iterator[Any]:
            for record in self._in_order(packed):
                out = self._decide(record, verdicts.get(record_key(record), []))
                if isinstance(out, Rejection):
                    outcomes[(out.step, out.source)] += 1
                    rejections.append(out)
                else:
                    outcomes[("kept", out.source)] += 1
                    yield out

        # Kept records stream into the shard (nothing is written when none is kept:
        # finalize_shards writes the empty shard); rejections are few (duplicates) and wait.
        kept = kept_in_order()
        first = next(kept, None)
        if first is not None:
            yield from self._write(index, group, groups, itertools.chain([first], kept))
        kept_count = sum(n for (what, _source), n in outcomes.items() if what == "kept")
        if kept_count and self._progress_stage:
            progress_dir = outputs.join(self._directory, outputs.PROGRESS_DIR)
            outputs.record_stage(progress_dir, self._worker, self._progress_stage, kept_count)
        for rejection in rejections:
            yield TaggedOutput(REJECTED, rejection)
        for key, n in sorted(outcomes.items()):
            yield TaggedOutput(OUTCOMES, (key, n))


class MergeRunsFn(WriteShardFn):
    """(shard, run paths) -> the shard, its runs concatenated in group order."""

    # The parent's element is (shard, rows); this one takes (shard, run paths): same DoFn
    # lifecycle (setup, directory), another input type, so mypy sees an incompatible override.
    def process(self, element: tuple[int, Iterable[str]]) -> Iterator[str]:  # type: ignore[override]
        index, runs = element
        path = outputs.join(self._directory, self._kind, outputs.shard_name(index, self._count))
        concat_runs(sorted(runs), self._kind, path)
        self._progress()
        yield path


def _key_by_group(item: tuple[int, Packed], groups: dict[int, int]) -> tuple[tuple[int, int, int], Packed]:
    shard, packed = item
    n = groups.get(shard, 1)
    return (shard, group_of(packed[0], n), n), packed


def _key_verdict(item: tuple[str, Any], count: int, groups: dict[int, int]) -> tuple[tuple[int, int, int], tuple[str, Any]]:
    record_id, _verdict = item
    shard = shard_of(record_id, count)
    n = groups.get(shard, 1)
    return (shard, group_of(record_id, n), n), item


class WriteShards(beam.PTransform):
    """Write a PCollection of records of one kind (`corpus`, `rejected`, `failed`).

    With `keyed`, the records are already `shard_record`'s (shard, packed record) pairs.
    With `decide`, the input is {"records", "verdicts": (id, verdict)} ("records" may be a
    tuple of PCollections, each tagged into the grouping on its own, with no Flatten before
    it, when `shard_rows` is given) and the output a dict:
    "written" (shard paths), "rejected" (Rejections), "outcomes" (((kept | step), source), n)
    (see the module docstring); `progress_stage` names the progress line of kept records."""

    def __init__(
        self,
        directory: str,
        kind: str,
        count: int,
        max_group_rows: int = MAX_GROUP_ROWS,
        decide: Decide | None = None,
        progress_stage: str | None = None,
        shard_rows: beam.PCollection | None = None,
        keyed: bool = False,
    ) -> None:
        super().__init__()
        if kind not in SCHEMAS:
            raise ValueError(f"unknown record kind {kind!r}")
        self._directory = directory
        self._kind = kind
        self._count = count
        self._max_group_rows = max_group_rows
        self._decide = decide
        self._progress_stage = progress_stage
        self._shard_rows = shard_rows
        self._keyed = keyed

    def expand(self, pcoll: beam.PCollection | dict[str, beam.PCollection]) -> Any:
        count, cap = self._count, self._max_group_rows
        records = pcoll["records"] if isinstance(pcoll, dict) else pcoll
        if isinstance(records, tuple) and (self._decide is None or self._shard_rows is None):
            records = records | "AllRecords" >> beam.Flatten()
        parts = records if isinstance(records, tuple) else (records,)
        keyed_parts = parts if self._keyed else [
            part | f"KeyByShard{i or ''}" >> beam.Map(shard_record, count) for i, part in enumerate(parts)
        ]
        keyed = keyed_parts[0]
        rows = self._shard_rows
        if rows is None:
            rows = keyed | "ShardKeys" >> beam.Keys() | "ShardRows" >> beam.combiners.Count.PerElement()
        groups = beam.pvalue.AsDict(rows | "GroupsPerShard" >> beam.MapTuple(lambda shard, n: (shard, -(-n // cap))))
        by_group = [part | f"KeyByGroup{i or ''}" >> beam.Map(_key_by_group, groups) for i, part in enumerate(keyed_parts)]
        if self._decide is None:
            runs = (
                by_group[0]
                | "GroupByShard" >> beam.GroupByKey()
                | "Write" >> beam.ParDo(WriteShardFn(self._directory, self._kind, count))
            )
        else:
            assert isinstance(pcoll, dict), "WriteShards with decide takes {'records', 'verdicts'}"
            verdicts = pcoll["verdicts"] | "KeyVerdictByGroup" >> beam.Map(_key_verdict, count, groups)
            decided = (
                {**{f"record{i}": part for i, part in enumerate(by_group)}, "verdict": verdicts}
                | "GroupByShard" >> beam.CoGroupByKey()
                | "Write"
                >> beam.ParDo(
                    DecideAndWriteFn(self._directory, self._kind, count, self._decide, self._progress_stage)
                ).with_outputs(REJECTED, OUTCOMES, main="runs")
            )
            runs = decided.runs
        written = (
            runs
            | "RunsByShard" >> beam.GroupByKey()
            | "MergeRuns" >> beam.ParDo(MergeRunsFn(self._directory, self._kind, count))
        )
        if self._decide is None:
            return written
        return {"written": written, "rejected": decided[REJECTED], "outcomes": decided[OUTCOMES]}
