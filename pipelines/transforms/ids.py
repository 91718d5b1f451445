"""Id check: every output row gets an id of its own, even when the inputs repeat a record.

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

Shape (`IdFacts`, `CheckIds`), chosen for Flink's batch translation, which writes a fused
stage's whole output once per consumer edge (read.py's docstring):
  * `IdFacts`: the id facts ((id, (location, kind, source)), no text) of every source -> ONE
    GroupByKey by id -> per id: (id, first location) when it occurs more than once (the side
    input of the check), its documents' count for its corpus shard (`shard_rows`: an upper
    bound of each corpus shard's rows, known once reading is done, since every document keeps
    the id it was read with) and per source (the "read" stage count). Three small results of
    one grouping, instead of three consumers of the read stage.
  * `CheckIds`: one side-input ParDo per source over its packed records (documents, reader
    rejections and failures in one PCollection): unpacks each record and routes it: documents
    holding their id (main), rejections (reader rejections, re-identified when repeated, and
    duplicate documents), failures.

Memory: the records wait for that side input (a runner cannot check the first document before
every id was read), i.e. the whole source is held at this point on a runner that materialises
between stages, as FnApiRunner does in its own process. They wait packed (zstd-compressed
pickles, `write.pack`: ~1.9-2.4x smaller than Beam's pickled documents) and are unpacked by the
check; cost ~50 us of CPU per document.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.pipelines.transforms.read import DOCUMENT
from corpusmill.pipelines.transforms.write import shard_of, unpack
from corpusmill.schemas.document import PREVIEW_CHARS, Document, Rejection, make_id

STEP = "unique_ids"
REASON = "duplicate_id"
REJECTED = "rejected"
FAILED = "failed"
SHARD_ROWS = "shard_rows"
DOCUMENTS = "documents"
_DUPLICATES = Metrics.counter("ids", "duplicate_ids")


def derived_id(original: str, location: str) -> str:
    """The id of a later occurrence of `original` found at `location`."""
    return make_id(REASON, original, location)


def _id_summary(item: tuple[str, Iterable[tuple[str, str, str]]], shards: int) -> Iterator[Any]:
    """(id, its facts) -> (id, first location) when the id occurs more than once (main),
    (its corpus shard, its documents) tagged SHARD_ROWS and (source, its documents) tagged
    DOCUMENTS, for ids that documents hold."""
    doc_id, facts = item
    first: str | None = None
    count = 0
    documents: Counter[str] = Counter()
    for location, kind, source in facts:
        count += 1
        if first is None or location < first:
            first = location
        if kind == DOCUMENT:
            documents[source] += 1
    if count > 1 and first is not None:
        yield doc_id, first
    if documents:
        yield TaggedOutput(SHARD_ROWS, (shard_of(doc_id, shards), sum(documents.values())))
    for source, n in documents.items():
        yield TaggedOutput(DOCUMENTS, (source, n))


def _check_document(doc: Document, repeated: dict[str, str]) -> Iterator[Any]:
    first = repeated.get(doc.id)
    if first is None or doc.location == first:
        yield doc
        return
    _DUPLICATES.inc()
    yield TaggedOutput(
        REJECTED,
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


def _check_record(packed: bytes, repeated: dict[str, str]) -> Iterator[Any]:
    """A packed record of the read -> a Document holding its id (main), a Rejection (a reader's,
    or a later copy of a document) tagged REJECTED, or a Failure tagged FAILED."""
    record = unpack(packed)
    if isinstance(record, Document):
        yield from _check_document(record, repeated)
    elif isinstance(record, Rejection):
        yield TaggedOutput(REJECTED, check_rejection(record, repeated))
    else:
        yield TaggedOutput(FAILED, record)


def check_rejection(rejection: Rejection, repeated: dict[str, str]) -> Rejection:
    """A reader rejection, re-identified when an earlier location holds its id."""
    first = repeated.get(rejection.id)
    if first is None or rejection.location == first:
        return rejection
    _DUPLICATES.inc()
    detail = f"{rejection.detail}; duplicate id {rejection.id} (first at {first})".lstrip("; ")
    return dataclasses.replace(rejection, id=derived_id(rejection.id, rejection.location), detail=detail)


class IdFacts(beam.PTransform):
    """The id facts of every source (a tuple of PCollections, `read.ReadSource`'s "facts") ->
    {"repeated": (id, first location) of each id that occurs more than once, "shard_rows":
    (corpus shard of `shards`, documents read with an id of that shard), "documents": (source,
    documents read)}; one GroupByKey of facts, no text."""

    def __init__(self, shards: int) -> None:
        super().__init__()
        self._shards = shards

    def expand(self, pcolls: tuple[beam.PCollection, ...]) -> dict[str, beam.PCollection]:
        summary = (
            pcolls
            | "AllFacts" >> beam.Flatten()
            | "GroupById" >> beam.GroupByKey()
            | "Summarise" >> beam.FlatMap(_id_summary, self._shards).with_outputs(SHARD_ROWS, DOCUMENTS, main="repeated")
        )
        return {
            "repeated": summary.repeated,
            "shard_rows": summary[SHARD_ROWS] | "SumShardRows" >> beam.CombinePerKey(sum),  # type: ignore[arg-type]  # Beam 2.62 types the argument as a CombineFn; a callable is valid
            "documents": summary[DOCUMENTS] | "SumDocuments" >> beam.CombinePerKey(sum),  # type: ignore[arg-type]  # as above: a callable is a valid CombineFn
        }


class CheckIds(beam.PTransform):
    """One source's packed records (`read.ReadSource`'s "records") -> {"documents": those that
    hold their id, "rejected": reader rejections (re-identified when repeated) and Rejections
    of later document copies, "failed": the read's failures}, given `IdFacts`' "repeated"."""

    def __init__(self, repeated: beam.PCollection) -> None:
        super().__init__()
        self._repeated = repeated

    def expand(self, records: beam.PCollection) -> dict[str, beam.PCollection]:
        checked = records | "Check" >> beam.FlatMap(_check_record, beam.pvalue.AsDict(self._repeated)).with_outputs(
            REJECTED, FAILED, main="documents"
        )
        return {"documents": checked.documents, "rejected": checked[REJECTED], "failed": checked[FAILED]}
