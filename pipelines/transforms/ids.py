"""UniqueIds: every output row gets an id of its own, even when the inputs repeat a record.

Ids are stable locators (`schemas.document.make_id`: a wiki page is (dbname, page id), a web
record its URL and WARC-Record-ID, a jsonl/parquet row keeps the input's id). The same record
can therefore arrive twice: one page in two overlapping dump files, one WARC record copied into
two files, a JSONL file whose ids collide. Downstream, ids key the shards, dedup and the
validation check that every document ends exactly once (corpus + rejected).

Rule, for documents and reader rejections together (the ids the readers produced):
  * the occurrence with the smallest `location` keeps the id (deterministic on any runner);
  * a later document is rejected: step "unique_ids", reason "duplicate_id", detail naming the
    id and the location that kept it; its row gets the id `make_id("duplicate_id", id, location)`
    so the rejected shards stay unique;
  * a later reader rejection (e.g. the same redirect page in two dumps) keeps its reason and
    gets the same derived id, with the original id and first location appended to its detail.
Cost: one shuffle of (id, location) pairs (no text); the ids that occur more than once travel
as a side input, so documents are not shuffled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.schemas.document import PREVIEW_CHARS, Document, Rejection, make_id

STEP = "unique_ids"
REASON = "duplicate_id"
DUPLICATE = "duplicate"
_DUPLICATES = Metrics.counter("ids", "duplicate_ids")


def derived_id(original: str, location: str) -> str:
    """The id of a later occurrence of `original` found at `location`."""
    return make_id(REASON, original, location)


def _repeated(item: tuple[str, Iterable[str]]) -> Iterator[tuple[str, str]]:
    """(id, locations) -> (id, first location) when the id occurs more than once."""
    doc_id, locations = item
    first: str | None = None
    count = 0
    for location in locations:
        count += 1
        if first is None or location < first:
            first = location
    if count > 1 and first is not None:
        yield doc_id, first


def _check_document(item: tuple[int, Document], repeated: dict[str, str]) -> Iterator[Any]:
    _tag, doc = item
    first = repeated.get(doc.id)
    if first is None or doc.location == first:
        yield item
        return
    _DUPLICATES.inc()
    yield TaggedOutput(
        DUPLICATE,
        Rejection(
            id=derived_id(doc.id, doc.location),
            source=doc.source,
            step=STEP,
            reason=REASON,
            location=doc.location,
            url=doc.url,
            detail=f"id {doc.id} is kept at {first}",
            text_preview=doc.text[:PREVIEW_CHARS],
        ),
    )


def _check_rejection(rejection: Rejection, repeated: dict[str, str]) -> Rejection:
    first = repeated.get(rejection.id)
    if first is None or rejection.location == first:
        return rejection
    _DUPLICATES.inc()
    detail = f"{rejection.detail}; duplicate id {rejection.id} (first at {first})".lstrip("; ")
    return dataclasses.replace(rejection, id=derived_id(rejection.id, rejection.location), detail=detail)


class UniqueIds(beam.PTransform):
    """{"documents": (tag, Document) pairs, "rejected": reader Rejections} -> the same keys
    plus "duplicates" (Rejections of documents whose id an earlier location already holds).
    The tag (e.g. the index of the document's source in the workflow) rides along untouched."""

    def expand(self, pcolls: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        docs, rejected = pcolls["documents"], pcolls["rejected"]
        repeated = beam.pvalue.AsDict(
            (
                docs | "DocLocations" >> beam.Map(lambda item: (item[1].id, item[1].location)),
                rejected | "RejectionLocations" >> beam.Map(lambda r: (r.id, r.location)),
            )
            | "AllLocations" >> beam.Flatten()
            | "GroupById" >> beam.GroupByKey()
            | "Repeated" >> beam.FlatMap(_repeated)
        )
        checked = docs | "CheckDocuments" >> beam.FlatMap(_check_document, repeated).with_outputs(DUPLICATE, main="documents")
        return {
            "documents": checked.documents,
            "rejected": rejected | "CheckRejections" >> beam.Map(_check_rejection, repeated),
            "duplicates": checked[DUPLICATE],
        }
