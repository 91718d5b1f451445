"""Unique ids: every output row gets an id of its own, even when the inputs repeat a record.

Ids are stable locators (`schemas.document.make_id`: a wiki page is (dbname, page id), a web
record its URL and WARC-Record-ID, a jsonl/parquet row keeps the input's id). The same record
can therefore arrive twice: one page in two overlapping dump files, one WARC record copied into
two files, a JSONL file whose ids collide. Downstream, ids key the shards, dedup and the
validation check that every document ends exactly once (corpus + rejected).

Rule, for documents and reader rejections together (the ids the readers produced):
  * the occurrence with the smallest `location` keeps the id (deterministic on any runner);
  * a later document is rejected: step "unique_ids", reason "duplicate_id", detail naming the
    id and the location that kept it; its row gets the id `make_id("duplicate_id", id, location)`
    so the rejected shards stay unique. This holds whatever a step did with the later copy
    (kept it or rejected it): its step rejection becomes this one;
  * a later reader rejection (e.g. the same redirect page in two dumps) keeps its reason and
    gets the same derived id, with the original id and first location appended to its detail.

Where it is decided (no document waits for it): `RepeatedIds` shuffles (id, location) pairs of
every source (no text) and yields the ids that occur more than once with their first location,
usually none or few. Those become verdicts (`id_verdicts`) joined where the documents are
grouped anyway, the corpus writer's grouping into shards (`check_document`, before dedup's
verdicts), and dedup drops later copies at its first grouping (pipelines/transforms/dedup.py),
so a later copy never becomes a dedup survivor. Documents therefore go from their reader
through the steps into the one shuffle that writes them. Reader and step rejections, which
are small (a 500-character preview), are checked against the repeated ids as a side input
(`check_rejection_in`) before the rejected writer keys them by their final id. Cost: a later
copy goes through the steps before it is rejected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from corpusmill.schemas.document import PREVIEW_CHARS, Document, Rejection, make_id

STEP = "unique_ids"
REASON = "duplicate_id"
FIRST_LOCATION = "first_location"  # verdict tag: (FIRST_LOCATION, the location that keeps the id)
READ_STEP = "read"  # the step of reader rejections
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


def keeps_id(record_id: str, location: str, repeated: dict[str, str]) -> bool:
    """Whether the record at `location` holds `record_id` (it is not a later copy)."""
    first = repeated.get(record_id)
    return first is None or location == first


def first_location(verdicts: Iterable[tuple[str, Any]]) -> str | None:
    """The location that keeps the id, among a record's verdicts (None: the id is not repeated)."""
    for tag, value in verdicts:
        if tag == FIRST_LOCATION:
            return str(value)
    return None


def duplicate_rejection(record: Document | Rejection, first: str) -> Rejection:
    """The rejection of a later copy of `record.id` (a document, or a step's rejection of it)."""
    preview = record.text[:PREVIEW_CHARS] if isinstance(record, Document) else record.text_preview
    return Rejection(
        id=derived_id(record.id, record.location),
        source=record.source,
        step=STEP,
        reason=REASON,
        location=record.location,
        url=record.url,
        detail=f"id {record.id} is kept at {first}",
        text_preview=preview,
    )


def check_document(doc: Document, first: str | None) -> Document | Rejection:
    """The document, or its duplicate_id rejection when `first` (the location that keeps its
    id) is another location."""
    if first is None or doc.location == first:
        return doc
    _DUPLICATES.inc()
    return duplicate_rejection(doc, first)


def check_rejection(rejection: Rejection, first: str | None) -> Rejection:
    """A rejection of a later copy (`first` is another location): a reader's keeps its reason
    under the derived id; a step's becomes the copy's duplicate_id rejection. Else unchanged."""
    if first is None or rejection.location == first:
        return rejection
    _DUPLICATES.inc()
    if rejection.step != READ_STEP:
        return duplicate_rejection(rejection, first)
    detail = f"{rejection.detail}; duplicate id {rejection.id} (first at {first})".lstrip("; ")
    return dataclasses.replace(rejection, id=derived_id(rejection.id, rejection.location), detail=detail)


def check_rejection_in(rejection: Rejection, repeated: dict[str, str]) -> Rejection:
    """`check_rejection` given all repeated ids (id -> first location)."""
    return check_rejection(rejection, repeated.get(rejection.id))


def decide_document(doc: Document, verdicts: list[Any]) -> Document | Rejection:
    """The corpus writer's decision without dedup (WriteShards `decide`): `check_document`."""
    return check_document(doc, first_location(verdicts))


class RepeatedIds(beam.PTransform):
    """Documents and reader rejections of every source (a tuple of PCollections) ->
    (id, first location) of each id that occurs more than once."""

    def expand(self, pcolls: tuple[beam.PCollection, ...]) -> beam.PCollection:
        return (
            [pcoll | f"Locations{i}" >> beam.Map(lambda r: (r.id, r.location)) for i, pcoll in enumerate(pcolls)]
            | "AllLocations" >> beam.Flatten()
            | "GroupById" >> beam.GroupByKey()
            | "Repeated" >> beam.FlatMap(_repeated)
        )


def id_verdicts(repeated: beam.PCollection, label: str = "IdVerdicts") -> beam.PCollection:
    """(id, first location) -> (id, (FIRST_LOCATION, first location)): verdicts a writer joins."""
    return repeated | label >> beam.MapTuple(lambda record_id, first: (record_id, (FIRST_LOCATION, first)))
