"""JSON Lines corpora (other tools' outputs, e.g. dolma/datatrove/RedPajama shards).

A unit is one file, plain or compressed (gzip, bz2, xz, zstd, sniffed by `open_input`). Each
non-blank line is one JSON object -> one Document:
  * id: the record's `id_field` (default "id"), kept as the document id (an integer becomes its
    decimal string); text: `text_field` (default "text");
  * typed metadata: `fields` maps a Document field to an input key, e.g.
    `{url: url, language: metadata.lang}`; a dotted key walks nested objects; a missing key
    gives None; a value of the wrong type (a list for `url`, "abc" for `page_id`) is a Failure;
  * source "jsonl", location `f"{path}#line={n}"` (1-based line number).

Failures (location `path#line=n`, the reader goes on with the next line): malformed JSON,
invalid UTF-8, a value that is not an object, missing or non-string text, missing id (or an
id that is neither string nor integer), a line longer than `max_record_bytes` (read in bounded
pieces and skipped, never held whole in memory). A corrupt compressed stream or the
decompression limit ends the file with one Failure at the line reached.

Duplicate ids are passed through unchanged here: the pipeline keeps the first location's record and
rejects later ones as duplicate_id (pipelines/transforms/ids.py); exact and near-duplicate removal is the dedup
stages' job (`pipelines/dedup`), and the reader cannot see other files.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from corpusmill.pipelines.sources.base import SourceConfig, describe_error, open_input
from corpusmill.schemas.document import Document, Failure

# Document fields a record may fill through `fields`, with the Python type each must have.
STRING_FIELDS: frozenset[str] = frozenset(
    {
        "url",
        "title",
        "language",
        "script",
        "warc_record_id",
        "crawl_date",
        "content_language",
        "crawl_language",
        "repo",
        "path",
        "programming_language",
        "license",
    }
)
INT_FIELDS: frozenset[str] = frozenset({"page_id", "part", "size_bytes"})
FLOAT_FIELDS: frozenset[str] = frozenset({"language_score"})
MAPPABLE_FIELDS: frozenset[str] = STRING_FIELDS | INT_FIELDS | FLOAT_FIELDS

READ_CHUNK = 1024 * 1024  # how much of an oversized line is read at a time while skipping it


class RecordConfig(SourceConfig):
    """Options shared by the record-oriented sources (jsonl, parquet)."""

    id_field: str = Field(default="id", min_length=1)
    text_field: str = Field(default="text", min_length=1)
    fields: dict[str, str] = Field(
        default_factory=dict, description="document field -> input field (dotted for nested)"
    )

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - MAPPABLE_FIELDS)
        if unknown:
            raise ValueError(f"unknown document fields {unknown}; allowed: {sorted(MAPPABLE_FIELDS)}")
        return value


class Config(RecordConfig):
    kind: Literal["jsonl"] = "jsonl"


class RecordError(ValueError):
    """A record that cannot become a document; the message is the failure's error, `doc_id`
    the record's id when it had a usable one."""

    def __init__(self, message: str, doc_id: str | None = None) -> None:
        super().__init__(message)
        self.doc_id = doc_id


_MISSING = object()


def lookup(record: Mapping[str, Any], key: str) -> Any:
    """`record[key]`, or for a dotted key the nested value ("metadata.url"); a literal key
    containing dots wins. Missing -> `_MISSING`."""
    if key in record:
        return record[key]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _typed(name: str, value: Any) -> Any:
    if value is None or value is _MISSING:
        return None
    if name in STRING_FIELDS:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
    elif name in INT_FIELDS:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        digits = value.strip().lstrip("-") if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit() and len(digits) <= 4300:  # int()'s digit limit
            return int(value)
    elif name in FLOAT_FIELDS:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    raise RecordError(f"field {name!r}: unexpected {type(value).__name__} value")


def record_to_document(record: Any, config: RecordConfig, location: str, max_text_bytes: int) -> Document:
    """One input record -> Document (pure). Raises RecordError with the reason otherwise."""
    if not isinstance(record, Mapping):
        raise RecordError(f"record is a {type(record).__name__}, not an object")
    raw_id = lookup(record, config.id_field)
    if raw_id is _MISSING or raw_id is None or raw_id == "":
        raise RecordError(f"missing id field {config.id_field!r}")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise RecordError(f"id is a {type(raw_id).__name__}, not a string or integer")
    doc_id = str(raw_id)
    text = lookup(record, config.text_field)
    if text is _MISSING or text is None:
        raise RecordError(f"missing text field {config.text_field!r}", doc_id)
    if not isinstance(text, str):
        raise RecordError(f"text is a {type(text).__name__}, not a string", doc_id)
    if len(text) > max_text_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > max_text_bytes:
        raise RecordError(f"record_too_large: text over {max_text_bytes} bytes", doc_id)
    try:
        values = {name: _typed(name, lookup(record, key)) for name, key in config.fields.items()}
    except RecordError as e:
        raise RecordError(str(e), doc_id) from None
    return Document(id=doc_id, text=text, source=config.kind, location=location, **values)


def _skip_rest_of_line(stream: Any) -> None:
    while True:
        piece = stream.readline(READ_CHUNK)
        if not piece or piece.endswith(b"\n"):
            return


def read(unit: str, config: Config) -> Iterator[Document | Failure]:
    """One JSONL file -> a Document per valid line, a Failure per bad one (see the module
    docstring). Never raises for bad input."""
    kind = config.kind
    limit = config.max_record_bytes
    n = 0
    try:
        with open_input(unit, config.max_decompressed_bytes) as stream:
            while True:
                line = stream.readline(limit + 1)
                if not line:
                    return
                n += 1
                location = f"{unit}#line={n}"
                if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
                    if not line.endswith(b"\n"):
                        _skip_rest_of_line(stream)
                    yield Failure(
                        source=kind, step="read", location=location, error=f"record_too_large: line over {limit} bytes"
                    )
                    continue
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    yield record_to_document(record, config, location, limit)
                except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, RecordError
                    doc_id = e.doc_id if isinstance(e, RecordError) else None
                    yield Failure(source=kind, step="read", location=location, error=describe_error(e), id=doc_id)
    except Exception as e:  # noqa: BLE001 - corrupt compression, decompression limit, I/O error
        yield Failure(source=kind, step="read", location=f"{unit}#line={n + 1}", error=describe_error(e))
