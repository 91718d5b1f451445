"""The record types of corpusmill and their Arrow schemas, defined once.

A `Document` flows through every stage; steps change it only with `dataclasses.replace`.
A step that rejects a document returns `Drop(reason)`; the runner turns it into a
`Rejection` row. Anything that breaks (a corrupt file, a record that cannot be parsed, a step
that raises) becomes a `Failure` row with its location. Every input document therefore ends
as exactly one of: a row in `corpus/`, a row in `rejected/`, or a row in `failed/`.

`tests/schemas/test_document.py` keeps the dataclasses and the Arrow schemas in step.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SOURCE_KINDS: tuple[str, ...] = ("web", "wiki", "books", "code", "jsonl", "parquet")


@dataclass(frozen=True, slots=True)
class Signal:
    """A named numeric score a step computed (kept in annotate mode, or always if useful)."""

    name: str
    value: float


@dataclass(frozen=True, slots=True)
class Document:
    """One document of the corpus.

    Identity: `id` derives from a stable locator (URL + WARC record id, archive + path, dump +
    page id, book path + part) via `make_id`, or is the input's own id for jsonl/parquet
    sources. `location` says where the bytes came from (`file` plus `#offset`, `#page=` or
    `!member` path) so any row can be traced back to its input; `file` is relative to the
    workflow's directory when the source's globs are (pipelines/sources/base.py:
    `recorded_location`), so it does not change when the inputs move with the workflow.

    Source metadata is typed, one column per field; a field a source does not have is None.
    `flags` holds `step:reason` verdicts of steps in annotate mode; `signals` their scores.
    """

    id: str
    text: str
    source: str
    location: str
    url: str | None = None
    title: str | None = None
    language: str | None = None
    language_score: float | None = None
    script: str | None = None
    # web
    warc_record_id: str | None = None
    crawl_date: str | None = None
    content_language: str | None = None  # HTTP Content-Language / WARC language hint
    crawl_language: str | None = None  # the crawl's own identified language, when present
    # wiki
    page_id: int | None = None
    # books (a long book may be split into parts)
    part: int | None = None
    # code
    repo: str | None = None
    path: str | None = None
    programming_language: str | None = None
    license: str | None = None
    size_bytes: int | None = None
    # set by steps / dedup
    cluster_size: int | None = None
    flags: tuple[str, ...] = ()
    signals: tuple[Signal, ...] = ()

    def with_signal(self, name: str, value: float) -> Document:
        """Return a copy with a signal added (replacing one of the same name)."""
        kept = tuple(s for s in self.signals if s.name != name)
        return dataclasses.replace(self, signals=kept + (Signal(name, float(value)),))

    def signal(self, name: str) -> float | None:
        for s in self.signals:
            if s.name == name:
                return s.value
        return None


@dataclass(frozen=True, slots=True)
class Drop:
    """A step's verdict to reject a document. `reason` is from the step's fixed vocabulary;
    `detail` is free text (e.g. the measured value, or the surviving duplicate's id);
    `signals` are scores the step measured (kept on the document in annotate mode)."""

    reason: str
    detail: str = ""
    # scores the step measured; in annotate mode the runner adds them to the flagged document
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    """A document that was rejected: by a step, by dedup, or by a reader (a page that is not
    a document, e.g. a WARC revisit or a wiki redirect). `step` is `read` for readers."""

    id: str
    source: str
    step: str
    reason: str
    location: str
    url: str | None = None
    detail: str = ""
    text_preview: str = ""  # first PREVIEW_CHARS characters, for the report's examples

    @staticmethod
    def of(doc: Document, step: str, drop: Drop) -> Rejection:
        return Rejection(
            id=doc.id,
            source=doc.source,
            step=step,
            reason=drop.reason,
            location=doc.location,
            url=doc.url,
            detail=drop.detail,
            text_preview=doc.text[:PREVIEW_CHARS],
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """Something that broke: a file or record that could not be read, or a step that raised.
    `id` is None when no document could be formed (e.g. a corrupt gzip member)."""

    source: str
    step: str
    location: str
    error: str
    id: str | None = None


PREVIEW_CHARS = 500


def make_id(*locator: str | int) -> str:
    """A stable document id from a locator (never from a position in a stream of work).

    128-bit BLAKE2b of the locator parts joined by NUL, hex encoded: uniform, so it doubles
    as the shard key."""
    h = hashlib.blake2b(digest_size=16)
    for i, part in enumerate(locator):
        if i:
            h.update(b"\x00")
        h.update(str(part).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


SIGNAL_TYPE = pa.struct([pa.field("name", pa.string(), nullable=False), pa.field("value", pa.float64())])

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
        pa.field("script", pa.string()),
        pa.field("warc_record_id", pa.string()),
        pa.field("crawl_date", pa.string()),
        pa.field("content_language", pa.string()),
        pa.field("crawl_language", pa.string()),
        pa.field("page_id", pa.int64()),
        pa.field("part", pa.int32()),
        pa.field("repo", pa.string()),
        pa.field("path", pa.string()),
        pa.field("programming_language", pa.string()),
        pa.field("license", pa.string()),
        pa.field("size_bytes", pa.int64()),
        pa.field("cluster_size", pa.int32()),
        pa.field("flags", pa.list_(pa.string()), nullable=False),
        pa.field("signals", pa.list_(SIGNAL_TYPE), nullable=False),
    ]
)

REJECTION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("text_preview", pa.string(), nullable=False),
    ]
)

FAILURE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
        pa.field("id", pa.string()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "corpus": DOCUMENT_SCHEMA,
    "rejected": REJECTION_SCHEMA,
    "failed": FAILURE_SCHEMA,
}


def to_row(record: Document | Rejection | Failure) -> dict[str, Any]:
    """A record as a dict matching its Arrow schema (signals as structs, tuples as lists)."""
    row = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(record, Document):
        row["flags"] = list(record.flags)
        row["signals"] = [{"name": s.name, "value": s.value} for s in record.signals]
    return row


def document_from_row(row: dict[str, Any]) -> Document:
    """Inverse of `to_row` for documents read back from Parquet."""
    values: dict[str, Any] = {f.name: row.get(f.name) for f in dataclasses.fields(Document)}
    values["flags"] = tuple(row.get("flags") or ())
    values["signals"] = tuple(Signal(s["name"], s["value"]) for s in (row.get("signals") or ()))
    return Document(**values)


def record_schema(record: Document | Rejection | Failure) -> pa.Schema:
    if isinstance(record, Document):
        return DOCUMENT_SCHEMA
    if isinstance(record, Rejection):
        return REJECTION_SCHEMA
    return FAILURE_SCHEMA


__all__ = [
    "DOCUMENT_SCHEMA",
    "Document",
    "Drop",
    "FAILURE_SCHEMA",
    "Failure",
    "PREVIEW_CHARS",
    "REJECTION_SCHEMA",
    "Rejection",
    "SCHEMAS",
    "SOURCE_KINDS",
    "Signal",
    "document_from_row",
    "make_id",
    "to_row",
]
