"""Parquet corpora (other tools' outputs, e.g. FineWeb or datatrove shards).

Same record mapping as `jsonl` (`id_field`, `text_field`, `fields`; see `jsonl.record_to_document`):
the input id is kept as the document id (as a string), source "parquet", location
`f"{path}#row={n}"` with n the 0-based row number in the file.

Reading: pyarrow, only the needed top-level columns (a dotted `fields` key reads its top
column and walks the struct), `batch_size` rows at a time, so memory is bounded by one row
group's needed columns. Local paths are opened by pyarrow directly, others through
`open_raw` (Beam's filesystems).

Units: `splits(path)` gives one unit per row group (`path#row_group=i`) for files with several,
so a big file is read in parallel; `read` also accepts the plain path (all row groups).

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


_ROW_GROUP = re.compile(r"^(.*)#row_group=(\d+)$")


def _open(path: str) -> Any:
    import pyarrow.parquet as pq

    if "://" in path and not path.startswith("file://"):
        return pq.ParquetFile(open_raw(path))
    return pq.ParquetFile(path.removeprefix("file://"))


def splits(path: str, config: Config) -> Iterable[str]:
    """One unit per row group (`path#row_group=i`), or the path itself for a file with at
    most one row group or one that cannot be opened (read() then reports the failure)."""
    try:
        groups = _open(path).metadata.num_row_groups
    except Exception:  # noqa: BLE001 - read() turns it into a Failure with the error
        return [path]
    if groups <= 1:
        return [path]
    return [f"{path}#row_group={i}" for i in range(groups)]


def read(unit: str, config: Config) -> Iterator[Document | Failure]:
    """One Parquet file (or one row group of it) -> a Document per valid row, a Failure per bad
    row. Never raises for bad input."""
    m = _ROW_GROUP.match(unit)
    path, group = (m.group(1), int(m.group(2))) if m else (unit, None)
    try:
        pf = _open(path)
        names = set(pf.schema_arrow.names)
        for required in (config.id_field, config.text_field):
            if required.split(".", 1)[0] not in names:
                raise RecordError(f"no column {required!r} in {sorted(names)}")
        wanted = [config.id_field, config.text_field, *config.fields.values()]
        columns = sorted({key.split(".", 1)[0] for key in wanted} & names)
        meta = pf.metadata
        if group is not None and not 0 <= group < meta.num_row_groups:
            raise RecordError(f"no row group {group}")
        groups = [group] if group is not None else list(range(meta.num_row_groups))
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
