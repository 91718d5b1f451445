"""Runs an ordered list of steps over a batch of documents. Pure Python, no Beam.

Each document ends as exactly one of: kept (possibly changed), rejected (the first step that
dropped it, with its reason) or failed (the step that raised, with the error). In `annotate`
mode a step's `Drop` becomes a flag `step:reason` on the document, which goes on.

A step with a `batch(docs)` method gets the batch at once (language ID predicts in batches);
if the batch call raises, the step is re-run document by document so only the documents that
really fail are lost to `failed/`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.sources.base import describe_error
from pipelines.steps import registry
from schemas.document import Document, Drop, Failure, Rejection

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
        if self._steps is None:
            self.setup()
        assert self._steps is not None
        result = BatchResult()
        alive = list(docs)
        for spec, impl in zip(self.specs, self._steps):
            if not alive:
                break
            counts = result.counts.setdefault(spec.step, {"in": 0, "kept": 0, "dropped": 0, "annotated": 0, "failed": 0})
            counts["in"] += len(alive)
            outcomes = _run_step(impl, alive)
            survivors: list[Document] = []
            for doc, outcome in zip(alive, outcomes):
                if isinstance(outcome, Document):
                    survivors.append(outcome)
                    counts["kept"] += 1
                elif isinstance(outcome, Drop):
                    if spec.mode == "annotate":
                        survivors.append(dataclasses.replace(doc, flags=doc.flags + (f"{spec.step}:{outcome.reason}",)))
                        counts["annotated"] += 1
                    else:
                        result.rejected.append(Rejection.of(doc, spec.step, outcome))
                        counts["dropped"] += 1
                else:
                    result.failed.append(
                        Failure(source=doc.source, step=spec.step, location=doc.location, error=outcome, id=doc.id)
                    )
                    counts["failed"] += 1
            alive = survivors
        result.kept = alive
        return result


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
    outcomes: list[Document | Drop | str] = []
    for doc in docs:
        try:
            outcomes.append(_check(impl(doc)))
        except Exception as e:  # noqa: BLE001 - becomes a failed row
            outcomes.append(describe_error(e))
    return outcomes


def _check(outcome: Any) -> Document | Drop | str:
    if isinstance(outcome, (Document, Drop)):
        return outcome
    return f"TypeError: step returned {type(outcome).__name__}, expected Document or Drop"
