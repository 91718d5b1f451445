"""ApplySteps: the generic Beam runner of a step chain (see pipelines/steps/runner.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import uuid

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.pipelines.steps.runner import StepChain, StepSpec
from corpusmill.schemas.outputs import record_stage
from corpusmill.schemas.document import Document

REJECTED = "rejected"
FAILED = "failed"


class ApplyStepsFn(beam.DoFn):
    """A batch of documents -> kept documents (main), rejections, failures. Models load once
    per worker in `setup()`."""

    def __init__(self, specs: list[StepSpec], namespace: str, progress_dir: str | None = None) -> None:
        self._specs = specs
        self._namespace = namespace
        self._progress_dir = progress_dir
        self._counters: dict[str, Any] = {}

    def setup(self) -> None:
        self._chain = StepChain(self._specs)
        self._chain.setup()
        self._worker = uuid.uuid4().hex

    def _counter(self, name: str) -> Any:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = Metrics.counter(self._namespace, name)
        return counter

    def process(self, batch: list[Document]) -> Iterator[Any]:
        result = self._chain.run(batch)
        if self._progress_dir:
            record_stage(self._progress_dir, self._worker, "steps", len(batch))
        for step, counts in result.counts.items():
            for what, n in counts.items():
                if n:
                    self._counter(f"{step}.{what}").inc(n)
        yield from result.kept
        for rejection in result.rejected:
            yield TaggedOutput(REJECTED, rejection)
        for failure in result.failed:
            yield TaggedOutput(FAILED, failure)


class ApplySteps(beam.PTransform):
    """Run the ordered steps over documents. Output {"documents", "rejected", "failed"}."""

    def __init__(
        self, specs: list[StepSpec], namespace: str = "steps", batch_size: int = 256, progress_dir: str | None = None
    ) -> None:
        super().__init__()
        self._specs = specs
        self._namespace = namespace
        self._batch_size = batch_size
        self._progress_dir = progress_dir  # documents through steps, for the progress line

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        if not self._specs:
            empty = docs.pipeline | "NoRejected" >> beam.Create([])
            empty_failed = docs.pipeline | "NoFailed" >> beam.Create([])
            return {"documents": docs, "rejected": empty, "failed": empty_failed}
        out = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._batch_size)
            | "Run" >> beam.ParDo(ApplyStepsFn(self._specs, self._namespace, self._progress_dir)).with_outputs(REJECTED, FAILED, main="documents")
        )
        return {"documents": out.documents, "rejected": out[REJECTED], "failed": out[FAILED]}
