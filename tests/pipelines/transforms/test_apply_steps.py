"""ApplySteps on a real Beam runner (FnApiRunner, never the network-hungry default)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from corpusmill.pipelines.steps.runner import StepSpec
from corpusmill.pipelines.transforms.apply_steps import ApplySteps
from corpusmill.schemas.document import Document
from corpusmill.workflows.runner import FN_API_RUNNER
from tests.pipelines.steps.test_runner import Batched, min_chars, upper  # noqa: F401  (registers test steps)


def _docs() -> list[Document]:
    texts = ["hello world", "hi", "boom goes the step", "another fine document"]
    return [Document(id=f"d{i}", text=t, source="web", location=f"x#offset={i}") for i, t in enumerate(texts)]


def test_apply_steps_routes_kept_rejected_failed() -> None:
    specs = [StepSpec("test_min_chars", {"min_chars": 3}), StepSpec("test_upper")]
    with TestPipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        out = p | beam.Create(_docs()) | ApplySteps(specs, batch_size=2)
        assert_that(out["documents"] | "KeptIds" >> beam.Map(lambda d: (d.id, d.text)),
                    equal_to([("d0", "HELLO WORLD"), ("d3", "ANOTHER FINE DOCUMENT")]), label="Kept")
        assert_that(out["rejected"] | "RejIds" >> beam.Map(lambda r: (r.id, r.reason)),
                    equal_to([("d1", "too_short")]), label="Rejected")
        assert_that(out["failed"] | "FailIds" >> beam.Map(lambda f: (f.id, f.step)),
                    equal_to([("d2", "test_upper")]), label="Failed")


def test_empty_step_list_keeps_everything() -> None:
    with TestPipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        out = p | beam.Create(_docs()) | ApplySteps([])
        assert_that(out["documents"] | beam.Map(lambda d: d.id), equal_to(["d0", "d1", "d2", "d3"]))
