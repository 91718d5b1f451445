"""ReadSource: files -> (documents, rejected, failed) for one configured source.

    patterns -Create-> MatchAll -> paths (sorted, de-duplicated)
             -FlatMap(splits)-> units -Reshuffle-> ParDo(ReadUnitFn)
             -> main: Document, tagged "rejected": Rejection, tagged "failed": Failure

The parse itself is the source module's pure `read(unit, config)`; this file only spreads the
units over workers, routes what comes out, and writes each record's `location` in its recorded
form (`config.recorded`: relative to the workflow's directory for a source written with
relative globs; pipelines/sources/base.py: `recorded_location`), so the output bytes do not
depend on where the inputs lie on disk. An exception escaping a reader (a bug: readers
are supposed to yield failures) still becomes one `Failure` for that unit; documents the reader
yielded before it are kept.
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
from corpusmill.schemas.document import Document, Failure, Rejection
from corpusmill.schemas.outputs import record_progress

log = logging.getLogger(__name__)

REJECTED = "rejected"
FAILED = "failed"


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
    """path -> the source's work units for that file (default: the file itself)."""

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
            yield TaggedOutput(
                FAILED,
                recorded_record(Failure(source=self._config.kind, step="read", location=path, error=describe_error(e)), self._config, path),
            )


class ReadUnitFn(beam.DoFn):
    """One unit of work -> Documents (main), Rejections, Failures."""

    def __init__(self, config: SourceConfig, progress_dir: str | None = None) -> None:
        self._config = config
        self._progress_dir = progress_dir
        self._docs = Metrics.counter("read", f"{config.label}.documents")
        self._rejected = Metrics.counter("read", f"{config.label}.rejected")
        self._failed = Metrics.counter("read", f"{config.label}.failed")

    def setup(self) -> None:
        self._module = source_module(self._config.kind)
        self._worker = uuid.uuid4().hex

    def process(self, unit: str) -> Iterator[Any]:
        started = time.monotonic()
        n = 0
        try:
            for record in self._module.read(unit, self._config):
                if isinstance(record, (Document, Rejection, Failure)):
                    record = recorded_record(record, self._config, unit)
                if isinstance(record, Document):
                    n += 1
                    self._docs.inc()
                    yield record
                elif isinstance(record, Rejection):
                    self._rejected.inc()
                    yield TaggedOutput(REJECTED, record)
                elif isinstance(record, Failure):
                    self._failed.inc()
                    yield TaggedOutput(FAILED, record)
                else:
                    raise TypeError(f"reader yielded {type(record).__name__}")
        except Exception as e:  # noqa: BLE001
            self._failed.inc()
            yield TaggedOutput(
                FAILED,
                recorded_record(Failure(source=self._config.kind, step="read", location=unit, error=describe_error(e)), self._config, unit),
            )
        log.info("read %s: %d documents in %.1fs", unit, n, time.monotonic() - started)
        if self._progress_dir:
            record_progress(self._progress_dir, self._worker, unit, n)


class ReadSource(beam.PTransform):
    """Read one configured source. Output: {"documents", "rejected", "failed"} PCollections."""

    def __init__(self, config: SourceConfig, paths: list[str], progress_dir: str | None = None) -> None:
        super().__init__()
        self._config = config
        self._paths = paths
        self._progress_dir = progress_dir

    def expand(self, pbegin: beam.pvalue.PBegin) -> dict[str, beam.PCollection]:
        units = (
            pbegin
            | "Paths" >> beam.Create(self._paths)
            | "Splits" >> beam.ParDo(SplitUnitsFn(self._config)).with_outputs(FAILED, main="units")
        )
        read = (
            units.units
            | "Spread" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(ReadUnitFn(self._config, self._progress_dir)).with_outputs(REJECTED, FAILED, main="documents")
        )
        failed = (units[FAILED], read[FAILED]) | "Failures" >> beam.Flatten()
        return {"documents": read.documents, "rejected": read[REJECTED], "failed": failed}
