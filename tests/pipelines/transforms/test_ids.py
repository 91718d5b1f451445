"""Unique ids: a record repeated in the inputs keeps its id once; later copies are rejected
(documents, whatever their steps did) or re-identified (reader rejections), never written twice
under one id, and never take part in dedup."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from corpusmill.pipelines.transforms.ids import (
    FIRST_LOCATION,
    REASON,
    STEP,
    RepeatedIds,
    check_document,
    check_rejection,
    decide_document,
    derived_id,
)
from corpusmill.schemas.document import Document, Rejection
from corpusmill.workflows.runner import FN_API_RUNNER

ROOT = Path(__file__).resolve().parents[3]


def doc(doc_id: str, location: str) -> Document:
    return Document(id=doc_id, text=f"text of {doc_id} at {location}", source="jsonl", location=location)


def test_repeated_ids_are_those_read_twice_with_their_smallest_location() -> None:
    # two sources: their documents meet only as (id, location) pairs
    docs = [[doc("a", "f2#line=1"), doc("b", "f1#line=1")], [doc("a", "f1#line=9"), doc("a", "f3#line=1")]]
    rejections = [
        Rejection(id="r", source="wiki", step="read", reason="wiki_redirect", location="d2#page=10", detail="Target"),
        Rejection(id="r", source="wiki", step="read", reason="wiki_redirect", location="d1#page=10", detail="Target"),
    ]
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        pcolls = (
            p | "Docs0" >> beam.Create(docs[0]),
            p | "Rej0" >> beam.Create(rejections),
            p | "Docs1" >> beam.Create(docs[1]),
            p | "Rej1" >> beam.Create([]),
        )
        assert_that(pcolls | RepeatedIds(), equal_to([("a", "f1#line=9"), ("r", "d1#page=10")]))


def test_later_copies_are_rejected_and_reader_rejections_reidentified() -> None:
    first, later = doc("a", "f1#line=9"), doc("a", "f2#line=1")
    assert check_document(first, "f1#line=9") is first
    assert check_document(later, None) is later  # not a repeated id
    rejected = check_document(later, "f1#line=9")
    assert isinstance(rejected, Rejection)
    assert (rejected.id, rejected.step, rejected.reason, rejected.location, rejected.detail, rejected.text_preview) == (
        derived_id("a", "f2#line=1"), STEP, REASON, "f2#line=1", "id a is kept at f1#line=9", later.text,
    )
    assert decide_document(later, [(FIRST_LOCATION, "f1#line=9")]) == rejected
    assert decide_document(first, [(FIRST_LOCATION, "f1#line=9")]) is first

    # a step's rejection of a later copy becomes the copy's duplicate_id rejection
    by_step = Rejection(id="a", source="jsonl", step="gopher_quality", reason="too_short", location="f2#line=1", text_preview="short")
    assert check_rejection(by_step, "f1#line=9") == Rejection(
        id=derived_id("a", "f2#line=1"), source="jsonl", step=STEP, reason=REASON, location="f2#line=1",
        detail="id a is kept at f1#line=9", text_preview="short",
    )
    assert check_rejection(by_step, "f2#line=1") is by_step  # the copy that keeps the id
    # a reader's rejection of a later copy keeps its reason under the derived id
    redirect = Rejection(id="r", source="wiki", step="read", reason="wiki_redirect", location="d2#page=10", detail="Target")
    assert check_rejection(redirect, "d1#page=10") == Rejection(
        id=derived_id("r", "d2#page=10"), source="wiki", step="read", reason="wiki_redirect", location="d2#page=10",
        detail="Target; duplicate id r (first at d1#page=10)",
    )


WORDS = (
    "the river runs past an old mill and the people of the town walk along its banks every morning "
    "while children play near the water with their parents who talk about weather markets news "
    "harvest bread stone bridge window garden letter music winter summer forest valley mountain "
    "teacher doctor farmer baker painter sailor village station library kitchen evening north "
    "south quiet bright heavy gentle famous simple careful strong early late often never always"
).split()


def _text(i: int) -> str:
    """80 words of plain English drawn at random (seed i): texts of different i share few word pairs."""
    rng = random.Random(i)
    return " ".join(rng.choice(WORDS) for _ in range(80)) + "."


@pytest.mark.parametrize("dedup", ["{exact: true, minhash: null}", "{exact: null, minhash: {}}", "{exact: true, minhash: {}}"])
def test_workflow_with_repeated_ids_validates_and_accounts_for_every_record(tmp_path: Path, dedup: str) -> None:
    """Two JSONL files that share ids, through the CLI with a step and validation on: an
    identical later copy (d0), one a step rejects (d1), and one that is a near copy of another
    document (d2 of b.jsonl ~ d3): all three are duplicate_id rejections, and the near copy
    does not remove d3 in dedup. Ids are unique across corpus + rejected; the accounting
    balances; the manifest's funnel shows the id check."""
    rows_a = [{"id": f"d{i}", "text": _text(i)} for i in range(6)]
    near_d3 = _text(3).replace("mill", "barn")
    rows_b = [rows_a[0], {"id": "d1", "text": "Too short."}, {"id": "d2", "text": near_d3}, {"id": "e1", "text": _text(9)}]
    for name, rows in (("a.jsonl", rows_a), ("b.jsonl", rows_b)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "wf.yaml").write_text(
        "sources: [{kind: jsonl, paths: ['*.jsonl'], steps: [{step: gopher_quality}]}]\n"
        f"dedup: {dedup}\noutput: {{dir: out, shards: 2}}\ntokenizer: null\nvalidate: true\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, "-m", "corpusmill.workflows.cli", "run", str(tmp_path / "wf.yaml")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)  # below pytest's 600
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    kept = ds.dataset(out / "corpus").to_table(columns=["id", "location"]).to_pylist()
    rejected = ds.dataset(out / "rejected").to_table(columns=["id", "step", "reason", "location"]).to_pylist()
    ids = [r["id"] for r in kept] + [r["id"] for r in rejected]
    assert len(ids) == len(set(ids)) == 10
    assert sorted((r["id"], r["location"]) for r in kept) == sorted(
        [(f"d{i}", f"a.jsonl#line={i + 1}") for i in range(6)] + [("e1", "b.jsonl#line=4")]
    )
    assert sorted(r["location"] for r in rejected if r["reason"] == REASON) == [
        "b.jsonl#line=1", "b.jsonl#line=2", "b.jsonl#line=3",  # named relative to the workflow's directory
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"] and manifest["accounting"]["documents_read"] == 10
    assert manifest["counts"]["rejected"][STEP] == {REASON: 3}
    funnel = {s["stage"]: (s["in"], s["out"]) for s in manifest["stages"]}
    assert funnel["steps"] == (10, 9) and funnel[STEP] == (9, 7) and funnel["written"][1] == 7
