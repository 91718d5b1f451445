"""Runs an ordered list of steps over a batch of documents. Pure Python, no Beam.

Each document ends as exactly one of: kept (possibly changed), rejected (the first step that
dropped it, with its reason) or failed (the step that raised, with the error). In `annotate`
mode a step's `Drop` becomes a flag `step:reason` on the document, which goes on (with the
`Drop`'s signals, if the step measured any).

A step with a `batch(docs)` method gets the batch at once (language ID predicts in batches);
if the batch call raises, the step is re-run document by document so only the documents that
really fail are lost to `failed/`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from corpusmill.pipelines.sources.base import describe_error
from corpusmill.pipelines.steps import registry
from corpusmill.schemas.document import Document, Drop, Failure, Rejection

Mode = Literal["drop", "annotate"]


@dataclass(frozen=True)
class StepSpec:
    """One entry of a workflow's `steps` list, in pure form (picklable)."""

    step: str
    params: dict[str, Any] = field(default_factory=dict)
    mode: Mode = "drop"

    @property
    def label(self) -> str:
        return self.step


@dataclass
class BatchResult:
    kept: list[Document] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    # per step: (name, kept, dropped, annotated, failed) counts for metrics
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


class StepChain:
    """The built steps of one source, ready to run. Call `setup()` once per worker."""

    def __init__(self, specs: list[StepSpec]) -> None:
        self.specs = list(specs)
        self._steps: list[Any] | None = None

    def setup(self) -> None:
        if self._steps is not None:
            return
        steps = []
        for spec in self.specs:
            built = registry.build(spec.step, spec.params)
            setup = getattr(built, "setup", None)
            if callable(setup):
                setup()
            steps.append(built)
        self._steps = steps

    def run(self, docs: list[Document]) -> BatchResult:
        """Run the chain. Steps with `batch()` see the whole batch at once; a run of
        per-document steps between them goes document-major (each document through all of
        them before the next), so per-document caches such as the word segmentation of
        `pipelines.steps.text.words` are hit by every step after the first."""
        if self._steps is None:
            self.setup()
        assert self._steps is not None
        result = BatchResult()
        for spec in self.specs:
            result.counts.setdefault(spec.step, {"in": 0, "kept": 0, "dropped": 0, "annotated": 0, "failed": 0})
        alive = list(docs)
        for segment in self._segments():
            if not alive:
                break
            if len(segment) == 1 and callable(getattr(segment[0][1], "batch", None)):
                spec, impl = segment[0]
                outcomes = _run_step(impl, alive)
                routed = (self._route(spec, doc, outcome, result) for doc, outcome in zip(alive, outcomes))
                alive = [doc for doc in routed if doc is not None]
                continue
            survivors: list[Document] = []
            for doc in alive:
                current = doc
                for spec, impl in segment:
                    after = self._route(spec, current, _run_one(impl, current), result)
                    if after is None:
                        break
                    current = after
                else:
                    survivors.append(current)
            alive = survivors
        result.kept = alive
        return result

    def _segments(self) -> list[list[tuple[StepSpec, Any]]]:
        """The chain cut into batch steps (alone) and runs of per-document steps."""
        assert self._steps is not None
        segments: list[list[tuple[StepSpec, Any]]] = []
        for spec, impl in zip(self.specs, self._steps):
            batched = callable(getattr(impl, "batch", None))
            if batched or not segments or callable(getattr(segments[-1][0][1], "batch", None)):
                segments.append([(spec, impl)])
            else:
                segments[-1].append((spec, impl))
        return segments

    @staticmethod
    def _route(spec: StepSpec, doc: Document, outcome: Document | Drop | str, result: BatchResult) -> Document | None:
        """Count one outcome and return the document that goes on (None if it stops here)."""
        counts = result.counts[spec.step]
        counts["in"] += 1
        if isinstance(outcome, Document):
            counts["kept"] += 1
            return outcome
        if isinstance(outcome, Drop):
            if spec.mode == "annotate":
                counts["annotated"] += 1
                for signal in outcome.signals:
                    doc = doc.with_signal(signal.name, signal.value)
                return dataclasses.replace(doc, flags=doc.flags + (f"{spec.step}:{outcome.reason}",))
            result.rejected.append(Rejection.of(doc, spec.step, outcome))
            counts["dropped"] += 1
            return None
        result.failed.append(Failure(source=doc.source, step=spec.step, location=doc.location, error=outcome, id=doc.id))
        counts["failed"] += 1
        return None


def _run_one(impl: Any, doc: Document) -> Document | Drop | str:
    try:
        return _check(impl(doc))
    except Exception as e:  # noqa: BLE001 - becomes a failed row
        return describe_error(e)


def _run_step(impl: Any, docs: list[Document]) -> list[Document | Drop | str]:
    """Outcomes aligned with `docs`: Document, Drop, or an error string."""
    batch = getattr(impl, "batch", None)
    if callable(batch):
        try:
            outcomes = list(batch(docs))
            if len(outcomes) != len(docs):
                raise RuntimeError(f"batch returned {len(outcomes)} results for {len(docs)} documents")
            return [_check(o) for o in outcomes]
        except Exception:  # noqa: BLE001 - isolate the failing documents one by one
            pass
    return [_run_one(impl, doc) for doc in docs]


def _check(outcome: Any) -> Document | Drop | str:
    if isinstance(outcome, (Document, Drop)):
        return outcome
    return f"TypeError: step returned {type(outcome).__name__}, expected Document or Drop"
