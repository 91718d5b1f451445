"""A pipeline whose stage inputs are large (~80 MB of 200 KB values, grouped in the runner),
run on FnApiRunner with two workers; it asserts its exact result. Used by the tests of the
local runner's data-plane and spill work-arounds."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.testing.util import assert_that, equal_to

VALUES = 400


def blob(i: int) -> tuple[int, bytes]:
    return i % 7, bytes([i % 251]) * 200_000


def run_blob_pipeline(mode: str) -> None:
    """Group VALUES blobs by key on two workers in `mode` (multi_processing | in_memory) and
    assert each key's total size and byte sum."""
    expected: dict[int, tuple[int, int]] = {}
    for i in range(VALUES):
        key, data = blob(i)
        size, total = expected.get(key, (0, 0))
        expected[key] = (size + len(data), total + data[0])
    options = PipelineOptions(["--direct_num_workers=2", f"--direct_running_mode={mode}"])
    with beam.Pipeline(runner=fn_runner.FnApiRunner(), options=options) as p:
        sums = (
            p
            | beam.Create(list(range(VALUES)))
            | beam.Map(blob)
            | beam.GroupByKey()
            | beam.MapTuple(lambda key, blobs: (key, (sum(map(len, blobs)), sum(b[0] for b in blobs))))
        )
        assert_that(sums, equal_to(sorted(expected.items())))
