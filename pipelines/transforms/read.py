"""ReadSource: files -> the records one configured source yields, packed, plus their id facts.

    patterns -Create-> MatchAll -> paths (sorted, de-duplicated)
             -FlatMap(splits)-> units (and a Failure per file the splitter could not split)
             -Reshuffle-> ParDo(ReadUnitFn)
             -> main: every record packed (Document, Rejection or Failure; `write.pack`),
                tagged "facts": (id, (location, kind, source)) of each Document and Rejection

The parse itself is the source module's pure `read(unit, config)`; this file only spreads the
units over workers, packs what comes out, and writes each record's `location` in its recorded
form (`config.recorded`: relative to the workflow's directory for a source written with
relative globs; pipelines/sources/base.py: `recorded_location`), so the output bytes do not
depend on where the inputs lie on disk. An exception escaping a reader (a bug: readers
are supposed to yield failures) still becomes one `Failure` for that unit; documents the reader
yielded before it are kept.

Why two outputs and no more (Flink): Beam's Flink batch translation emits all outputs of a
fused stage as ONE tagged union and prunes it with one FlatMap per output PCollection, each
reading its own copy of the whole union (blocking exchanges in batch mode), so a stage's spill
grows with (output PCollections) x (all its output bytes) (pipelines/corpus.py). The read
stage carries every document, so it has exactly two outputs: the packed records (-> the id
check, `ids.CheckIds`) and the small id facts (-> one grouping, `ids.IdFacts`: repeated ids,
rows per corpus shard, read counts). With nine outputs (documents, rejections, failures,
counts, shard keys, id pairs... each leaving the stage) a 1M run (460f524) wrote 9 equal
shuffle files per subtask (~1.07 GB each); with two, at 300k, 2 files of ~302 MB per subtask
(+ the pruned records, ~300 MB, until the id check has read them). Packing here also means
the documents cross that exchange and wait for the id check compressed (~1.9-2.4x smaller).
`ReadSource(..., packed=False)` unpacks and routes them again (documents, rejected, failed) for
callers that want the records themselves (tests, tools).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.pipelines.sources import SOURCE_MODULES
from corpusmill.pipelines.sources.base import SourceConfig, describe_error
from corpusmill.pipelines.transforms.write import pack, unpack
from corpusmill.schemas.document import Document, Failure, Rejection
from corpusmill.schemas.outputs import record_progress

log = logging.getLogger(__name__)

REJECTED = "rejected"
FAILED = "failed"
FACTS = "facts"
DOCUMENT = "document"  # the kind of an id fact: a Document, or a reader's Rejection (REJECTED)


def source_module(kind: str) -> ModuleType:
    return importlib.import_module(SOURCE_MODULES[kind])


def expand_paths(patterns: Iterable[str]) -> list[str]:
    """Glob patterns -> sorted unique paths. A directory given literally is kept as a unit
    (code repositories as folders). A pattern matching nothing is an error before the run."""
    import os

    paths: set[str] = set()
    for pattern in patterns:
        if "://" not in pattern and os.path.isdir(pattern):
            paths.add(pattern.rstrip("/"))
            continue
        matches = FileSystems.match([pattern])[0].metadata_list
        files = [m.path for m in matches if not _is_hidden(m.path)]
        if not files:
            raise FileNotFoundError(f"no input files match {pattern!r}")
        paths.update(files)
    return sorted(paths)


def _is_hidden(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith(".")


Record = Document | Rejection | Failure
Fact = tuple[str, tuple[str, str, str]]  # (id, (location, DOCUMENT | REJECTED, source))


def recorded_record(record: Record, config: SourceConfig, unit: str) -> Record:
    """`record` as it is written: its `location` in recorded form (`config.recorded`), and the
    unit's input path in its `error` / `detail` text (an OSError or a size limit names the
    file) replaced by its recorded form, so no output byte depends on where the inputs lie."""
    changes: dict[str, Any] = {}
    location = config.recorded(record.location)
    if location != record.location:
        changes["location"] = location
    path = unit.split("#", 1)[0]  # a split unit is `path#...`; a shorter prefix maps the same way
    shown = config.recorded(path)
    if shown != path:
        for field in ("error", "detail"):
            text = getattr(record, field, None)
            if text and path in text:
                changes[field] = text.replace(path, shown)
    return dataclasses.replace(record, **changes) if changes else record


class SplitUnitsFn(beam.DoFn):
    """path -> the source's work units for that file (default: the file itself); a file the
    splitter fails on becomes one `Failure` in the same output (ReadUnitFn passes it on)."""

    def __init__(self, config: SourceConfig) -> None:
        self._config = config

    def process(self, path: str) -> Iterator[Any]:
        module = source_module(self._config.kind)
        splitter = getattr(module, "splits", None)
        if splitter is None:
            yield path
            return
        try:
            yield from splitter(path, self._config)
        except Exception as e:  # noqa: BLE001 - becomes a failure row, the rest goes on
            yield recorded_record(Failure(source=self._config.kind, step="read", location=path, error=describe_error(e)), self._config, path)


def id_fact(record: Document | Rejection) -> Fact:
    """What the id grouping needs of a read record: (id, (location, kind, source))."""
    kind = DOCUMENT if isinstance(record, Document) else REJECTED
    return record.id, (record.location, kind, record.source)


class ReadUnitFn(beam.DoFn):
    """One unit of work (or a splitter's Failure) -> every record packed (main), and the id
    fact of each Document and Rejection (tagged FACTS)."""

    def __init__(self, config: SourceConfig, progress_dir: str | None = None) -> None:
        self._config = config
        self._progress_dir = progress_dir
        self._docs = Metrics.counter("read", f"{config.label}.documents")
        self._rejected = Metrics.counter("read", f"{config.label}.rejected")
        self._failed = Metrics.counter("read", f"{config.label}.failed")

    def setup(self) -> None:
        self._module = source_module(self._config.kind)
        self._worker = uuid.uuid4().hex

    def process(self, unit: str | Failure) -> Iterator[Any]:
        if isinstance(unit, Failure):  # the splitter failed on this file
            self._failed.inc()
            yield pack(unit)
            return
        started = time.monotonic()
        n = 0
        try:
            for record in self._module.read(unit, self._config):
                if not isinstance(record, (Document, Rejection, Failure)):
                    raise TypeError(f"reader yielded {type(record).__name__}")
                record = recorded_record(record, self._config, unit)
                if isinstance(record, Document):
                    n += 1
                    self._docs.inc()
                elif isinstance(record, Rejection):
                    self._rejected.inc()
                else:
                    self._failed.inc()
                yield pack(record)
                if not isinstance(record, Failure):
                    yield TaggedOutput(FACTS, id_fact(record))
        except Exception as e:  # noqa: BLE001
            self._failed.inc()
            yield pack(recorded_record(Failure(source=self._config.kind, step="read", location=unit, error=describe_error(e)), self._config, unit))
        log.info("read %s: %d documents in %.1fs", unit, n, time.monotonic() - started)
        if self._progress_dir:
            record_progress(self._progress_dir, self._worker, unit, n)


def _route(packed: bytes) -> Iterator[Any]:
    """A packed record -> the record, tagged by its type (Documents main)."""
    record = unpack(packed)
    if isinstance(record, Document):
        yield record
    else:
        yield TaggedOutput(REJECTED if isinstance(record, Rejection) else FAILED, record)


class ReadSource(beam.PTransform):
    """Read one configured source. Output {"records": packed records (bytes), "facts": id facts}
    (see the module docstring); with `packed=False`, {"documents", "rejected", "failed"}."""

    def __init__(self, config: SourceConfig, paths: list[str], progress_dir: str | None = None, packed: bool = False) -> None:
        super().__init__()
        self._config = config
        self._paths = paths
        self._progress_dir = progress_dir
        self._packed = packed

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        read = (
            pbegin
            | "Paths" >> beam.Create(self._paths)
            | "Splits" >> beam.ParDo(SplitUnitsFn(self._config))
            | "Spread" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(ReadUnitFn(self._config, self._progress_dir)).with_outputs(FACTS, main="records")
        )
        if self._packed:
            return {"records": read.records, "facts": read[FACTS]}
        routed = read.records | "Unpack" >> beam.FlatMap(_route).with_outputs(REJECTED, FAILED, main="documents")
        return {"documents": routed.documents, "rejected": routed[REJECTED], "failed": routed[FAILED]}
