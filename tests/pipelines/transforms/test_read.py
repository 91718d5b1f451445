"""ReadSource writes input paths in their recorded form: relative to the source's
`location_root` (the workflow's directory), so the same inputs at two places on disk give the
same records, ids included."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusmill.pipelines.sources import books, jsonl
from corpusmill.pipelines.sources.base import recorded_location
from corpusmill.pipelines.transforms.read import ReadSource, expand_paths
from corpusmill.schemas.document import make_id
from corpusmill.workflows.runner import FN_API_RUNNER


@pytest.mark.parametrize(
    ("location", "root", "expected"),
    [
        ("/w/wf/a.txt", "/w/wf", "a.txt"),
        ("/w/wf/a.txt", "/w/wf/", "a.txt"),
        ("/w/samples/books/a.txt#part=3", "/w/wf", "../samples/books/a.txt#part=3"),
        ("/w/samples/r.tar.gz!../../x.py", "/w/wf", "../samples/r.tar.gz!../../x.py"),  # the member stays as named
        ("/w/wf2/a.txt", "/w/wf", "../wf2/a.txt"),  # "/w/wf" is no directory of "/w/wf2"
        ("/other/a.txt", "/w/wf", "/other/a.txt"),  # nothing in common but "/": absolute
        ("s3://bucket/w/wf/a.txt", "/w/wf", "s3://bucket/w/wf/a.txt"),
        ("/w/wf/a.txt", None, "/w/wf/a.txt"),
    ],
)
def test_recorded_location(location: str, root: str | None, expected: str) -> None:
    assert recorded_location(location, root) == expected


def test_distinct_inputs_keep_distinct_recorded_paths() -> None:
    paths = [
        f"/{a}/{b}/{c}/f.txt" for a, b, c in itertools.product(["w", "x"], ["wf", "wf2", "data"], ["a", "b"])
    ] + ["/w/f.txt", "/f.txt", "s3://w/wf/a/f.txt", "gs://w/f.txt"]
    for root in ("/w/wf", "/w/wf/a", "/x", None):
        assert len({recorded_location(p, root) for p in paths}) == len(paths), root


def _tree(top: Path) -> Path:
    """A checkout at `top`: wf/ (the workflow's directory) beside data/ with two books (one over
    the decompression limit: a Failure whose error names the file) and a JSONL file with one bad
    line. Returns the workflow directory."""
    data = top / "data"
    data.mkdir(parents=True)
    (data / "good.txt").write_text("Call me Ishmael. Some years ago, never mind how long.\n", encoding="utf-8")
    (data / "big.txt.gz").write_bytes(gzip.compress(b"All work and no play. " * 500, mtime=0))
    (data / "rows.jsonl").write_text('{"id": "r1", "text": "one"}\nnot json\n', encoding="utf-8")
    (top / "wf").mkdir()
    return top / "wf"


def test_the_same_inputs_at_two_places_give_the_same_records(tmp_path: Path) -> None:
    expected_docs = [(make_id("books", "../data/good.txt", 0), "../data/good.txt"), ("r1", "../data/rows.jsonl#line=1")]
    for top in (tmp_path / "one", tmp_path / "two" / "deeper"):
        wf = _tree(top)
        configs = [
            books.Config(paths=[str(top / "data" / "*.txt*")], max_decompressed_bytes=1000, location_root=str(wf)),
            jsonl.Config(paths=[str(top / "data" / "*.jsonl")], location_root=str(wf)),
        ]
        with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
            reads = [p | f"Read{n}" >> ReadSource(c, expand_paths(c.paths)) for n, c in enumerate(configs)]
            documents = [r["documents"] for r in reads] | "Documents" >> beam.Flatten()
            failed = [r["failed"] for r in reads] | "Failed" >> beam.Flatten()
            assert_that(documents | beam.Map(lambda d: (d.id, d.location)), equal_to(expected_docs), label="Docs")
            assert_that(
                failed | beam.Map(lambda f, top=str(top): (f.location, f.error.split(":", 1)[0], top in f.error, "../data/" in f.error)),
                equal_to([
                    ("../data/big.txt.gz", "LimitExceeded", False, True),  # the limit's message names the file
                    ("../data/rows.jsonl#line=2", "JSONDecodeError", False, False),
                ]),
                label="Failures",
            )
