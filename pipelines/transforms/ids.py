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
as a side input, so documents are not shuffled, and each source's documents stay in their own
PCollection (`RepeatedIds` over all of them, then `UniqueIds` per source).

Memory: the documents wait for that side input (a runner cannot check the first document before
every id was read), i.e. the whole source is held at this point on a runner that materialises
between stages, as FnApiRunner does in its own process. They wait packed (zlib-compressed
pickles, `write.pack`: ~2.2x smaller than Beam's pickled documents) and are unpacked by the
check; cost ~0.1 ms of CPU per document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.pipelines.transforms.write import pack, unpack
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


def _check_document(doc: Document, repeated: dict[str, str]) -> Iterator[Any]:
    first = repeated.get(doc.id)
    if first is None or doc.location == first:
        yield doc
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


def _check_packed(packed: bytes, repeated: dict[str, str]) -> Iterator[Any]:
    return _check_document(unpack(packed), repeated)


def check_rejection(rejection: Rejection, repeated: dict[str, str]) -> Rejection:
    """A reader rejection, re-identified when an earlier location holds its id."""
    first = repeated.get(rejection.id)
    if first is None or rejection.location == first:
        return rejection
    _DUPLICATES.inc()
    detail = f"{rejection.detail}; duplicate id {rejection.id} (first at {first})".lstrip("; ")
    return dataclasses.replace(rejection, id=derived_id(rejection.id, rejection.location), detail=detail)


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


class UniqueIds(beam.PTransform):
    """One source's {"documents", "rejected" (by its reader)} -> {"documents": those that hold
    their id, "rejected": reader rejections (re-identified when repeated), "duplicates":
    Rejections of later document copies}, given `RepeatedIds` of all sources."""

    def __init__(self, repeated: beam.PCollection) -> None:
        super().__init__()
        self._repeated = repeated

    def expand(self, pcolls: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        repeated = beam.pvalue.AsDict(self._repeated)
        checked = (
            pcolls["documents"]
            | "Pack" >> beam.Map(pack)
            | "CheckIds" >> beam.FlatMap(_check_packed, repeated).with_outputs(
                DUPLICATE, main="documents"
            )
        )
        return {
            "documents": checked.documents,
            "rejected": pcolls["rejected"] | "CheckRejections" >> beam.Map(check_rejection, repeated),
            "duplicates": checked[DUPLICATE],
        }
