"""The dataclasses and the Arrow schemas must describe the same records."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from corpusmill.schemas.document import (
    DOCUMENT_SCHEMA,
    FAILURE_SCHEMA,
    REJECTION_SCHEMA,
    Document,
    Drop,
    Failure,
    Rejection,
    Signal,
    document_from_row,
    make_id,
    to_row,
)


@pytest.mark.parametrize(
    ("cls", "schema"), [(Document, DOCUMENT_SCHEMA), (Rejection, REJECTION_SCHEMA), (Failure, FAILURE_SCHEMA)]
)
def test_fields_match_schema(cls: type, schema: pa.Schema) -> None:
    assert [f.name for f in dataclasses.fields(cls)] == schema.names


def test_document_round_trips_through_arrow() -> None:
    doc = Document(
        id=make_id("web", "https://example.org/", "<urn:uuid:1>"),
        text="中文 text",
        source="web",
        location="crawl.warc.gz#offset=0",
        url="https://example.org/",
        language="zh",
        language_score=0.93,
        page_id=7,
        part=1,
        size_bytes=10,
        flags=("gopher_quality:too_few_words",),
        signals=(Signal("redacted_email", 2.0),),
    )
    table = pa.Table.from_pylist([to_row(doc)], schema=DOCUMENT_SCHEMA)
    assert document_from_row(table.to_pylist()[0]) == doc


def test_rejection_of_document_keeps_identity() -> None:
    doc = Document(id="a", text="x" * 2000, source="books", location="b.txt")
    rejection = Rejection.of(doc, "gopher_quality", Drop("too_few_words", "words=1<50"))
    assert (rejection.id, rejection.step, rejection.reason, rejection.detail) == (
        "a", "gopher_quality", "too_few_words", "words=1<50")
    assert len(rejection.text_preview) == 500
    pa.Table.from_pylist([to_row(rejection)], schema=REJECTION_SCHEMA)


def test_make_id_is_stable_and_separates_parts() -> None:
    assert make_id("a", "bc") == make_id("a", "bc")
    assert make_id("a", "bc") != make_id("ab", "c")
    assert len(make_id("x")) == 32


def test_with_signal_replaces_same_name() -> None:
    doc = Document(id="a", text="t", source="web", location="l").with_signal("s", 1).with_signal("s", 2)
    assert doc.signals == (Signal("s", 2.0),) and doc.signal("s") == 2.0 and doc.signal("t") is None
