"""The id check (IdFacts, CheckIds): a record repeated in the inputs keeps its id once; later copies are rejected
(documents) or re-identified (reader rejections), never written twice under one id."""

from __future__ import annotations

import json
from collections import Counter
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusmill.pipelines.transforms.ids import REASON, STEP, CheckIds, IdFacts, derived_id
from corpusmill.pipelines.transforms.read import id_fact
from corpusmill.pipelines.transforms.write import pack, shard_of
from corpusmill.schemas.document import Document, Failure, Rejection
from corpusmill.workflows.runner import FN_API_RUNNER

ROOT = Path(__file__).resolve().parents[3]


def doc(doc_id: str, location: str) -> Document:
    return Document(id=doc_id, text=f"text of {doc_id} at {location}", source="jsonl", location=location)


def test_first_location_keeps_the_id_later_copies_are_rejected_or_reidentified() -> None:
    # two sources: their records meet only as id facts in IdFacts
    docs = [[doc("a", "f2#line=1"), doc("b", "f1#line=1")], [doc("a", "f1#line=9"), doc("a", "f3#line=1")]]
    redirect = Rejection(id="r", source="wiki", step="read", reason="wiki_redirect", location="d2#page=10", detail="Target")
    rejections = [redirect, Rejection(id="r", source="wiki", step="read", reason="wiki_redirect", location="d1#page=10", detail="Target")]
    failure = Failure(source="jsonl", step="read", location="f4#line=2", error="JSONDecodeError: bad")
    records = [docs[0] + rejections + [failure], docs[1]]
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        packed = [p | f"Records{n}" >> beam.Create([pack(r) for r in rs]) for n, rs in enumerate(records)]
        facts = tuple(
            p | f"Facts{n}" >> beam.Create([id_fact(r) for r in rs if not isinstance(r, Failure)]) for n, rs in enumerate(records)
        )
        ids = facts | IdFacts(shards=3)
        outs = [pc | f"Check{n}" >> CheckIds(ids["repeated"]) for n, pc in enumerate(packed)]
        for n, expected in enumerate([[("b", "f1#line=1")], [("a", "f1#line=9")]]):
            assert_that(
                outs[n]["documents"] | f"DocKeys{n}" >> beam.Map(lambda d: (d.id, d.location)),
                equal_to(expected),
                label=f"KeptDocuments{n}",
            )
        rejected = (outs[0]["rejected"], outs[1]["rejected"]) | "AllRejected" >> beam.Flatten()
        assert_that(
            rejected | "RejKeys" >> beam.Map(lambda r: (r.id, r.step, r.reason, r.location, r.detail)),
            equal_to([
                (derived_id("a", "f2#line=1"), STEP, REASON, "f2#line=1", "id a is kept at f1#line=9"),
                (derived_id("a", "f3#line=1"), STEP, REASON, "f3#line=1", "id a is kept at f1#line=9"),
                ("r", "read", "wiki_redirect", "d1#page=10", "Target"),
                (derived_id("r", "d2#page=10"), "read", "wiki_redirect", "d2#page=10", "Target; duplicate id r (first at d1#page=10)"),
            ]),
            label="Rejections",
        )
        assert_that(outs[0]["failed"] | "FailLocations" >> beam.Map(lambda f: f.location), equal_to(["f4#line=2"]), label="Failures")
        assert_that(outs[1]["failed"], equal_to([]), label="NoFailures")
        # the facts' other results: documents per source (rejections and failures not counted)
        # and an upper bound of the rows per corpus shard: every document read, under its id
        assert_that(ids["documents"], equal_to([("jsonl", 4)]), label="Documents")
        all_docs = docs[0] + docs[1]
        shard_rows = Counter(shard_of(d.id, 3) for d in all_docs)
        assert_that(ids["shard_rows"], equal_to(list(shard_rows.items())), label="ShardRows")
        assert_that(ids["repeated"], equal_to([("a", "f1#line=9"), ("r", "d1#page=10")]), label="Repeated")


def test_workflow_with_repeated_ids_validates_and_accounts_for_every_record(tmp_path: Path) -> None:
    """Two JSONL files that share ids (one identical record, one conflicting) through the CLI with
    validation on: ids are unique across corpus + rejected, the accounting balances."""
    rows_a = [{"id": f"d{i}", "text": f"Document number {i} talks about topic {i * 7} in several words here."} for i in range(6)]
    rows_b = [rows_a[0], {"id": "d1", "text": "A different text that reuses the id d1 of the first file."}, {"id": "e1", "text": "Unique."}]
    for name, rows in (("a.jsonl", rows_a), ("b.jsonl", rows_b)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "wf.yaml").write_text(
        "sources: [{kind: jsonl, paths: ['*.jsonl'], steps: []}]\n"
        "dedup: {exact: true, minhash: null}\noutput: {dir: out, shards: 2}\ntokenizer: null\nvalidate: true\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, "-m", "corpusmill.workflows.cli", "run", str(tmp_path / "wf.yaml")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)  # below pytest's 600
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    kept = ds.dataset(out / "corpus").to_table(columns=["id", "location"]).to_pylist()
    rejected = ds.dataset(out / "rejected").to_table(columns=["id", "step", "reason", "location"]).to_pylist()
    ids = [r["id"] for r in kept] + [r["id"] for r in rejected]
    assert len(ids) == len(set(ids)) == 9
    assert sorted(r["location"] for r in rejected if r["reason"] == REASON) == sorted(
        ["b.jsonl#line=1", "b.jsonl#line=2"]  # named relative to the workflow's directory
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"] and manifest["accounting"]["documents_read"] == 9
    assert manifest["counts"]["rejected"][STEP] == {REASON: 2}
