"""The step chain: kept / rejected / failed / annotated, batch fallback, registry checks."""

from __future__ import annotations

import dataclasses

import pytest

from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.registry import step
from corpusmill.pipelines.steps.runner import StepChain, StepSpec
from corpusmill.schemas.document import Document, Drop


@step("test_min_chars")
def min_chars(doc: Document, *, min_chars: int = 5) -> Document | Drop:
    if len(doc.text) < min_chars:
        return Drop("too_short", f"chars={len(doc.text)}<{min_chars}")
    return doc


@step("test_upper")
def upper(doc: Document) -> Document | Drop:
    if "boom" in doc.text:
        raise RuntimeError("exploded on purpose")
    return dataclasses.replace(doc, text=doc.text.upper())


@step("test_batched")
class Batched:
    def __init__(self, *, suffix: str = "!") -> None:
        self.suffix = suffix
        self.ready = False
        self.batches = 0

    def setup(self) -> None:
        self.ready = True

    def batch(self, docs: list[Document]) -> list[Document | Drop]:
        assert self.ready
        self.batches += 1
        if any("bad" in d.text for d in docs):
            raise ValueError("bad batch")
        return [self(d) for d in docs]

    def __call__(self, doc: Document) -> Document | Drop:
        if "bad" in doc.text:
            raise ValueError("bad document")
        return dataclasses.replace(doc, text=doc.text + self.suffix)


def _doc(i: int, text: str) -> Document:
    return Document(id=f"d{i}", text=text, source="books", location=f"f.txt#part={i}")


def test_chain_routes_every_document_exactly_once() -> None:
    chain = StepChain([StepSpec("test_min_chars", {"min_chars": 4}), StepSpec("test_upper")])
    docs = [_doc(0, "hello"), _doc(1, "hi"), _doc(2, "boom boom")]
    result = chain.run(docs)
    assert [d.text for d in result.kept] == ["HELLO"]
    assert [(r.id, r.step, r.reason, r.detail) for r in result.rejected] == [("d1", "test_min_chars", "too_short", "chars=2<4")]
    assert [(f.id, f.step) for f in result.failed] == [("d2", "test_upper")]
    assert "exploded on purpose" in result.failed[0].error
    assert result.counts["test_min_chars"] == {"in": 3, "kept": 2, "dropped": 1, "annotated": 0, "failed": 0}


def test_annotate_mode_flags_instead_of_dropping() -> None:
    chain = StepChain([StepSpec("test_min_chars", {"min_chars": 4}, mode="annotate")])
    result = chain.run([_doc(0, "hi"), _doc(1, "hello")])
    assert [d.flags for d in result.kept] == [("test_min_chars:too_short",), ()]
    assert result.rejected == []


def test_batch_failure_isolates_the_bad_document() -> None:
    chain = StepChain([StepSpec("test_batched", {"suffix": "?"})])
    result = chain.run([_doc(0, "good"), _doc(1, "bad"), _doc(2, "fine")])
    assert [d.text for d in result.kept] == ["good?", "fine?"]
    assert [f.id for f in result.failed] == ["d1"]


def test_build_rejects_unknown_steps_and_params() -> None:
    with pytest.raises(KeyError, match="unknown step"):
        registry.build("no_such_step", {})
    with pytest.raises(TypeError, match="test_min_chars"):
        registry.build("test_min_chars", {"min_charz": 3})
    with pytest.raises(TypeError, match="test_batched"):
        registry.build("test_batched", {"nope": 1})


CALLS: list[tuple[str, str]] = []


@step("test_record_a")
def record_a(doc: Document) -> Document | Drop:
    CALLS.append(("a", doc.id))
    return doc


@step("test_record_b")
def record_b(doc: Document) -> Document | Drop:
    CALLS.append(("b", doc.id))
    return doc


def test_per_document_steps_run_document_major_between_batch_steps() -> None:
    """Each document goes through a run of per-document steps before the next one, so a
    per-document cache (e.g. the word segmentation) serves every step after the first."""
    CALLS.clear()
    chain = StepChain([StepSpec("test_record_a"), StepSpec("test_record_b"), StepSpec("test_batched"),
                       StepSpec("test_record_a")])
    result = chain.run([_doc(0, "one"), _doc(1, "two")])
    assert CALLS == [("a", "d0"), ("b", "d0"), ("a", "d1"), ("b", "d1"), ("a", "d0"), ("a", "d1")]
    assert [d.text for d in result.kept] == ["one!", "two!"]
    assert result.counts["test_record_a"]["in"] == 4 and result.counts["test_batched"]["kept"] == 2
