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

from pipelines.sources.base import describe_error, open_raw
from pipelines.sources.jsonl import RecordConfig, RecordError, record_to_document
from schemas.document import Document, Failure

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


def read(unit: str, config: Config) -> Iterator[Document | Failure]:
    """One Parquet file (or one row group of it) -> a Document per valid row, a Failure per bad
    row. Never raises for bad input."""
    path, span = parse_unit(unit)
    try:
        pf = _open(path)
        names = set(pf.schema_arrow.names)
        for required in (config.id_field, config.text_field):
            if required.split(".", 1)[0] not in names:
                raise RecordError(f"no column {required!r} in {sorted(names)}")
        wanted = [config.id_field, config.text_field, *config.fields.values()]
        columns = sorted({key.split(".", 1)[0] for key in wanted} & names)
        meta = pf.metadata
        if span is not None and not 0 <= span[0] < span[1] <= meta.num_row_groups:
            raise RecordError(f"no row groups {span[0]}-{span[1]} (the file has {meta.num_row_groups})")
        groups = list(range(*span)) if span is not None else list(range(meta.num_row_groups))
        first_row = sum(meta.row_group(i).num_rows for i in range(groups[0])) if groups else 0
    except Exception as e:  # noqa: BLE001 - not Parquet, unreadable, missing columns
        yield Failure(source=KIND, step="read", location=unit, error=describe_error(e))
        return
    row = first_row
    try:
        for batch in pf.iter_batches(batch_size=config.batch_size, row_groups=groups, columns=columns):
            for record in batch.to_pylist():
                location = f"{path}#row={row}"
                row += 1
                try:
                    yield record_to_document(record, config, location, config.max_record_bytes)
                except RecordError as e:
                    yield Failure(source=KIND, step="read", location=location, error=describe_error(e), id=e.doc_id)
    except Exception as e:  # noqa: BLE001 - a corrupt page: the rest of the unit is lost, said so
        yield Failure(source=KIND, step="read", location=f"{path}#row={row}", error=describe_error(e))
