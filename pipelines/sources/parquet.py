"""Parquet corpora (other tools' outputs, e.g. FineWeb or datatrove shards).

Same record mapping as `jsonl` (`id_field`, `text_field`, `fields`; see `jsonl.record_to_document`):
the input id is kept as the document id (as a string), source "parquet", location
`f"{path}#row={n}"` with n the 0-based row number in the file.

Reading: pyarrow, only the needed top-level columns (a dotted `fields` key reads its top
column and walks the struct), `batch_size` rows at a time, so memory is bounded by one row
group's needed columns. Local paths are opened by pyarrow directly, others through
`open_raw` (Beam's filesystems).

Units: `splits(path)` cuts a file with several row groups into runs of consecutive row groups
(`path#row_groups=A-B`, B exclusive) of at least `split_bytes` (uncompressed, as the footer
says) each, so a big file is read in parallel; `read` also accepts the plain path (all row
groups) and `path#row_group=i` (one). Runs rather than one unit per row group: every unit
parses the whole footer, so a file of 100,000 tiny row groups would cost units x footer.

Failures: a row with missing or non-string text, a missing id or wrong-typed metadata, or
text over `max_record_bytes` -> Failure at `path#row=n`, and the reader goes on. A file that
is not Parquet, or lacks the id or text column -> one Failure for the file (location the
unit). A mapped metadata column the file lacks gives None. Duplicate ids are passed through
(dedup is a later stage).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from pydantic import Field

from corpusmill.pipelines.sources.base import LimitExceeded, describe_error, open_raw
from corpusmill.pipelines.sources.jsonl import RecordConfig, RecordError, record_to_document
from corpusmill.schemas.document import Document, Failure

KIND = "parquet"


class Config(RecordConfig):
    kind: Literal["parquet"] = "parquet"
    batch_size: int = Field(default=1024, gt=0, description="rows decoded at a time")
    split_bytes: int = Field(
        default=64 * 1024**2, gt=0, description="target uncompressed bytes of row groups per work unit"
    )


_ROW_GROUP = re.compile(r"^(.*)#row_group=(\d+)$")
_ROW_GROUPS = re.compile(r"^(.*)#row_groups=(\d+)-(\d+)$")


def _open(path: str) -> Any:
    import pyarrow.parquet as pq

    if "://" in path and not path.startswith("file://"):
        return pq.ParquetFile(open_raw(path))
    return pq.ParquetFile(path.removeprefix("file://"))


def splits(path: str, config: Config) -> Iterable[str]:
    """Runs of consecutive row groups of at least `split_bytes` each (`path#row_groups=A-B`),
    or the path itself when that makes one unit or the file cannot be opened (read() then
    reports the failure)."""
    try:
        meta = _open(path).metadata
        sizes = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    except Exception:  # noqa: BLE001 - read() turns it into a Failure with the error
        return [path]
    units: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, n in enumerate(sizes):
        size += n
        if size >= config.split_bytes:
            units.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(sizes):
        units.append((start, len(sizes)))
    if len(units) <= 1:
        return [path]
    return [f"{path}#row_groups={a}-{b}" for a, b in units]


def parse_unit(unit: str) -> tuple[str, tuple[int, int] | None]:
    """`path` -> (path, None); `path#row_groups=A-B` -> (path, (A, B)); `path#row_group=i`
    -> (path, (i, i + 1))."""
    m = _ROW_GROUPS.match(unit)
    if m:
        return m.group(1), (int(m.group(2)), int(m.group(3)))
    m = _ROW_GROUP.match(unit)
    if m:
        return m.group(1), (int(m.group(2)), int(m.group(2)) + 1)
    return unit, None


# A row group that stores fewer bytes per row than this (uncompressed, all columns) may decode
# to far more than it stores: a 7 KB file of 3,000 rows all pointing at one 1 MB dictionary
# value decoded to 1 GB per 1,024-row batch. Such row groups are read SUSPECT_BATCH_ROWS rows
# at a time (at most that many copies of the largest value in memory). Real text corpora
# store more per row (100,000 documents of 2 KB: 2.1 KB per row) and keep `batch_size`;
# short-text ones fall below it and pay ~1.4 us per row for the small batches (measured on
# 100,000 rows of 200 B). Per-column sizes are not used: pyarrow aborts the process on a
# damaged column-chunk footer when Python reads its metadata (found by the fuzzer).
SUSPECT_BYTES_PER_ROW = 1024
SUSPECT_BATCH_ROWS = 16


def _is_bytes_like(arrow_type: Any) -> bool:
    """String or binary (also dictionary-encoded, as a stored Arrow schema may declare it)."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def _batch_bytes(batch: Any, names: list[str]) -> int:
    """Decoded bytes of the string/binary columns `names` of a record batch: Arrow's buffers
    for plain columns, the values' lengths for dictionary-encoded ones (what `to_pylist`
    materialises)."""
    import pyarrow.compute as pc

    total = 0
    for name in names:
        column = batch.column(name)
        if hasattr(column, "dictionary"):
            total += pc.sum(pc.take(pc.binary_length(column.dictionary), column.indices)).as_py() or 0
        else:
            total += column.nbytes
    return total


def read(unit: str, config: Config) -> Iterator[Document | Failure]:
    """One Parquet file (or a run of its row groups) -> a Document per valid row, a Failure
    per bad row. Never raises for bad input.

    Memory (found by benchmarks/fuzz_readers.py): the row groups' uncompressed size (as the
    footer says, all columns) and then the decoded string bytes of the needed columns (as
    read) count against `max_decompressed_bytes`; over it: one LimitExceeded Failure, the rest
    of the unit unread. Batches hold about `max_record_bytes` (fewer rows for big rows), and
    SUSPECT_BATCH_ROWS rows in row groups that may decode to much more than they store."""
    path, span = parse_unit(unit)
    try:
        pf = _open(path)
        names = set(pf.schema_arrow.names)
        for required in (config.id_field, config.text_field):
            if required.split(".", 1)[0] not in names:
                raise RecordError(f"no column {required!r} in {sorted(names)}")
        wanted = [config.id_field, config.text_field, *config.fields.values()]
        columns = sorted({key.split(".", 1)[0] for key in wanted} & names)
        strings = [c for c in columns if _is_bytes_like(pf.schema_arrow.field(c).type)]
        meta = pf.metadata
        if span is not None and not 0 <= span[0] < span[1] <= meta.num_row_groups:
            raise RecordError(f"no row groups {span[0]}-{span[1]} (the file has {meta.num_row_groups})")
        groups = list(range(*span)) if span is not None else list(range(meta.num_row_groups))
        first_row = sum(meta.row_group(i).num_rows for i in range(groups[0])) if groups else 0
        sizes = {i: (meta.row_group(i).num_rows, meta.row_group(i).total_byte_size) for i in groups}
        declared = sum(size for _, size in sizes.values())
        if declared > config.max_decompressed_bytes:
            raise LimitExceeded(f"row groups hold {declared} bytes > max_decompressed_bytes={config.max_decompressed_bytes}")
    except Exception as e:  # noqa: BLE001 - not Parquet, unreadable, missing columns, over the limit
        yield Failure(source=KIND, step="read", location=unit, error=describe_error(e))
        return
    row = first_row
    decoded = 0
    try:
        runs: list[tuple[int, list[int]]] = []  # consecutive row groups read with one batch size
        for group in groups:
            rows, size = sizes[group]
            batch_rows = min(config.batch_size, config.max_record_bytes * rows // max(size, 1))
            if size < SUSPECT_BYTES_PER_ROW * rows:
                batch_rows = min(batch_rows, SUSPECT_BATCH_ROWS)
            batch_rows = max(1, batch_rows)
            if runs and runs[-1][0] == batch_rows:
                runs[-1][1].append(group)
            else:
                runs.append((batch_rows, [group]))
        for batch_rows, run in runs:
            for batch in pf.iter_batches(batch_size=batch_rows, row_groups=run, columns=columns):
                decoded += _batch_bytes(batch, strings)
                if decoded > config.max_decompressed_bytes:
                    raise LimitExceeded(f"decoded columns exceed max_decompressed_bytes={config.max_decompressed_bytes}")
                for record in batch.to_pylist():
                    location = f"{path}#row={row}"
                    row += 1
                    try:
                        yield record_to_document(record, config, location, config.max_record_bytes)
                    except RecordError as e:
                        yield Failure(source=KIND, step="read", location=location, error=describe_error(e), id=e.doc_id)
    except Exception as e:  # noqa: BLE001 - a corrupt page or the limit: the rest of the unit is lost, said so
        yield Failure(source=KIND, step="read", location=f"{path}#row={row}", error=describe_error(e))
