"""ExactDedup and MinHashDedup on a real Beam runner (FnApiRunner, never the default)."""

from __future__ import annotations

import base64
import glob
import gzip
import importlib.util
import json
import pickle
import random
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
from corpusmill.pipelines.transforms.dedup import DedupResult, DedupVerdicts, ExactDedup, JoinVerdicts, MinHashDedup, decide
from corpusmill.schemas.document import Document, Rejection, Signal
from corpusmill.workflows.runner import FN_API_RUNNER

SINGLE = [f"--runner={FN_API_RUNNER}"]
MULTI = [f"--runner={FN_API_RUNNER}", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def run(docs: list[Document], transform: beam.PTransform, tmp: Path, options: list[str] = SINGLE) -> tuple[list[Document], list[Rejection]]:
    """Run `transform` over `docs`; return (kept, rejected) read back from files."""
    out = tmp / f"out{len(list(tmp.iterdir()))}"
    out.mkdir()
    with beam.Pipeline(options=PipelineOptions(options)) as p:
        result = p | beam.Create(docs) | transform
        for name in ("kept", "rejected"):
            (
                getattr(result, name)
                | f"Encode{name}" >> beam.Map(lambda x: base64.b64encode(pickle.dumps(x)).decode())
                | f"Write{name}" >> beam.io.WriteToText(str(out / name))
            )
    got: dict[str, list[Any]] = {}
    for name in ("kept", "rejected"):
        got[name] = sorted(
            (pickle.loads(base64.b64decode(line)) for f in glob.glob(str(out / f"{name}*")) for line in open(f) if line.strip()),
            key=lambda r: r.id,
        )
    return got["kept"], got["rejected"]


def doc(doc_id: str, text: str, **kw: Any) -> Document:
    return Document(id=doc_id, text=text, source="test", location=f"test#record={doc_id}", **kw)


# ---------------------------------------------------------------- exact


def test_exact_dedup_whitespace_longest_survives_and_counts(tmp_path: Path) -> None:
    docs = [
        doc("a", "hello world"),
        doc("b", "hello   world\n"),
        doc("c", "Hello world"),
        doc("d", "something else", cluster_size=4),
        doc("e", "something  else"),
    ]
    kept, rejected = run(docs, ExactDedup(ExactConfig(normalization="whitespace")), tmp_path)
    assert [(d.id, d.cluster_size) for d in kept] == [("b", 2), ("c", 1), ("e", 5)]  # e is longer
    assert [(r.id, r.step, r.reason, r.detail) for r in rejected] == [
        ("a", "exact_dedup", "exact_duplicate", "b"),
        ("d", "exact_dedup", "exact_duplicate", "e"),
    ]


def test_exact_dedup_casefold_and_quality_survivor(tmp_path: Path) -> None:
    docs = [
        doc("a", "Hello World", signals=(Signal("q", 0.2),)),
        doc("b", "hello world", signals=(Signal("q", 0.9),)),
        doc("c", "HELLO WORLD"),  # no signal: ranks last
    ]
    config = ExactConfig(normalization="nfkc_casefold", survivor="quality", quality_signal="q")
    kept, rejected = run(docs, ExactDedup(config), tmp_path)
    assert [(d.id, d.cluster_size) for d in kept] == [("b", 3)]
    assert {(r.id, r.detail) for r in rejected} == {("a", "b"), ("c", "b")}
    kept, _ = run(docs, ExactDedup(ExactConfig(normalization="none")), tmp_path)
    assert len(kept) == 3


# ---------------------------------------------------------------- minhash

WORDS = [f"w{i}" for i in range(20000)]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def corpus(seed: int = 0, clusters: int = 40) -> tuple[list[Document], dict[str, str]]:
    """Synthetic near-duplicate clusters (word and Chinese) + their truth (id -> cluster)."""
    rng = random.Random(seed)
    docs, truth = [], {}
    for c in range(clusters):
        chinese = c % 4 == 0
        base = [rng.choice(HAN if chinese else WORDS) for _ in range(300)]
        join = "".join if chinese else " ".join
        variants = [list(base)]
        for _ in range(c % 3):  # 0, 1 or 2 near-duplicates: 1-2 % of tokens replaced
            v = list(base)
            for _ in range(rng.randint(1, 4)):
                v[rng.randrange(len(v))] = rng.choice(HAN if chinese else WORDS)
            variants.append(v)
        for k, v in enumerate(variants):
            doc_id = f"c{c:03d}v{k}"
            text = join(v)
            if chinese and k:
                text = "\n".join(text[i : i + 37] for i in range(0, len(text), 37))  # reflowed
            docs.append(doc(doc_id, text))
            truth[doc_id] = f"c{c:03d}"
    return docs, truth


def check_clusters(kept: list[Document], rejected: list[Rejection], truth: dict[str, str]) -> None:
    kept_ids = {d.id for d in kept}
    assert len(kept_ids) + len(rejected) == len(truth)
    assert sorted({truth[i] for i in kept_ids}) == sorted(set(truth.values()))  # one survivor per cluster
    assert len(kept_ids) == len(set(truth.values()))
    for r in rejected:
        assert (r.step, r.reason) == ("minhash_dedup", "near_duplicate")
        assert r.detail in kept_ids and truth[r.detail] == truth[r.id]
    sizes = {truth[d.id]: d.cluster_size for d in kept}
    for cluster, size in sizes.items():
        assert size == sum(1 for t in truth.values() if t == cluster)


@pytest.mark.parametrize("verify", ["estimated", "exact"])
def test_minhash_finds_word_and_cjk_near_duplicates(tmp_path: Path, verify: str) -> None:
    docs, truth = corpus()
    kept, rejected = run(docs, MinHashDedup(MinHashConfig(verify=verify)), tmp_path)
    check_clusters(kept, rejected, truth)
    # "central" (default): where a base has two edited copies, the base is closer to each of
    # them than they are to one another, so the base survives (exact similarities; estimates
    # carry +-0.04 of noise at 128 permutations)
    for c in range(2, 40, 3) if verify == "exact" else ():
        assert f"c{c:03d}v0" in {d.id for d in kept}
    kept, rejected = run(docs, MinHashDedup(MinHashConfig(verify=verify, survivor="longest")), tmp_path)
    check_clusters(kept, rejected, truth)
    longest = {}
    for d in docs:
        best = longest.get(truth[d.id])
        if best is None or (-len(d.text), d.id) < (-len(best.text), best.id):
            longest[truth[d.id]] = d
    assert {d.id for d in kept} == {d.id for d in longest.values()}


@pytest.mark.slow
def test_minhash_multi_worker_equals_single_worker(tmp_path: Path) -> None:
    docs, truth = corpus(seed=5, clusters=30)
    config = MinHashConfig(survivor="smallest_id")
    single = run(docs, MinHashDedup(config), tmp_path, SINGLE)
    multi = run(list(reversed(docs)), MinHashDedup(config), tmp_path, MULTI)
    check_clusters(*single, truth)
    assert [(d.id, d.cluster_size) for d in single[0]] == [(d.id, d.cluster_size) for d in multi[0]]
    assert [(r.id, r.detail) for r in single[1]] == [(r.id, r.detail) for r in multi[1]]
    assert all(truth[r.detail] == truth[r.id] and r.detail < r.id for r in single[1])


def test_verification_removes_band_collisions(tmp_path: Path) -> None:
    rng = random.Random(2)
    shared = [rng.choice(WORDS) for _ in range(100)]
    # half the words shared, in order: word 3-gram Jaccard ~0.33; 1-row bands collide anyway
    docs = [doc(f"d{i}", " ".join(shared + [rng.choice(WORDS) for _ in range(100)])) for i in range(6)]
    loose = dict(bands=64, rows=1, threshold=0.9)
    kept_none, _ = run(docs, MinHashDedup(MinHashConfig(verify="none", **loose)), tmp_path)
    kept_exact, _ = run(docs, MinHashDedup(MinHashConfig(verify="exact", **loose)), tmp_path)
    assert len(kept_none) == 1
    assert len(kept_exact) == 6  # (estimated verification runs in test_minhash_finds_...)


def test_empty_documents_and_oversized_buckets_are_kept(tmp_path: Path) -> None:
    docs = [doc(f"e{i}", "  ...  ") for i in range(3)] + [doc(f"s{i}", "same words in every one of these docs") for i in range(8)]
    kept, rejected = run(docs, MinHashDedup(MinHashConfig(max_bucket_size=5)), tmp_path)
    assert len(kept) == 11 and not rejected
    kept, rejected = run(docs, MinHashDedup(MinHashConfig()), tmp_path)
    assert {d.id for d in kept} == {"e0", "e1", "e2", "s0"}
    assert {r.detail for r in rejected} == {"s0"}


@pytest.mark.slow
def test_incremental_dedup_against_saved_index(tmp_path: Path) -> None:
    docs, truth = corpus(seed=9, clusters=24)
    old = [d for d in docs if int(d.id[1:4]) < 12]
    index = tmp_path / "index"
    kept_old, _ = run(old, MinHashDedup(MinHashConfig(index_out=str(index))), tmp_path)
    assert glob.glob(str(index / "*.parquet"))
    rng = random.Random(1)
    new = []
    for d in kept_old[:6]:  # near copies of old survivors
        words = d.text.split(" ")
        if len(words) > 1:
            words[rng.randrange(len(words))] = "changed"
            text = " ".join(words)
        else:
            text = d.text[:-3] + "改变了"
        new.append(doc("new-" + d.id, text))
    new += [d for d in docs if int(d.id[1:4]) >= 12]
    kept, rejected = run(new, MinHashDedup(MinHashConfig(index_in=(str(index),))), tmp_path)
    old_ids = {d.id for d in old}
    assert not ({d.id for d in kept} & old_ids) and not ({r.id for r in rejected} & old_ids)
    by_id = {r.id: r.detail for r in rejected}
    for d in kept_old[:6]:
        assert by_id["new-" + d.id] == d.id
    fresh = [d for d in docs if int(d.id[1:4]) >= 12]
    fresh_truth = {d.id: truth[d.id] for d in fresh}
    check_clusters([d for d in kept if d.id in fresh_truth], [r for r in rejected if r.id in fresh_truth], fresh_truth)
    with pytest.raises(Exception, match="signature index was written with"):
        run(new[:3], MinHashDedup(MinHashConfig(index_in=(str(index),), seed=2)), tmp_path)


@pytest.mark.parametrize("linkage", ["direct", "transitive"])
def test_rerun_against_own_index_rejects_every_document(tmp_path: Path, linkage: str) -> None:
    """The same documents (same ids) deduplicated against the index of their first run: index
    entries and this run's documents share ids but are distinct nodes, so every document is
    rejected for its own earlier copy (a regression: shared ids once broke the components)."""
    docs, _ = corpus(seed=3, clusters=12)
    index = tmp_path / "index"
    config = MinHashConfig(linkage=linkage)  # type: ignore[arg-type]
    kept_first, _ = run(docs, MinHashDedup(config.model_copy(update={"index_out": str(index)})), tmp_path)
    kept, rejected = run(kept_first, MinHashDedup(config.model_copy(update={"index_in": (str(index),)})), tmp_path)
    assert kept == []
    assert sorted((r.id, r.detail) for r in rejected) == sorted((d.id, d.id) for d in kept_first)


@pytest.mark.slow
def test_multilingual_neardup_quality(shared_data: Path, tmp_path: Path) -> None:
    """The real multilingual benchmark set at default settings (reference: datasketch
    MinHashLSH t=0.8 over char 5-grams reaches F1 0.944)."""
    docs = []
    with gzip.open(shared_data / "neardup" / "multilingual-neardup.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(doc(row["id"], row["text"]))
    kept, _ = run(docs, MinHashDedup(MinHashConfig()), tmp_path)
    spec = importlib.util.spec_from_file_location("score_neardup", shared_data.parent / "tools" / "score_neardup.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)  # type: ignore[union-attr]
    truth = json.loads((shared_data / "neardup" / "multilingual-neardup-truth.json").read_text())
    result = scorer.score(truth, {d.id for d in kept})
    # the targets; measured F1 0.979 / P 0.994 (benchmarks/results/dedup_quality.md).
    # The run is deterministic: no margin for noise is needed.
    assert result["f1"] >= 0.97 and result["precision"] >= 0.99, result


@pytest.mark.slow
def test_unconverged_components_degrade_to_keeping_more(tmp_path: Path) -> None:
    """A chain of near duplicates (each ~0.89 similar to the next, < 0.8 two steps apart):
    enough rounds give one survivor; a single round may keep several, never drops a document
    without naming a survivor from the same chain."""
    rng = random.Random(4)
    words = [rng.choice(WORDS) for _ in range(200 + 12 * 24)]
    order_ = list(range(24))
    rng.shuffle(order_)
    docs = [doc(f"p{j:02d}", " ".join(words[12 * i : 12 * i + 200])) for j, i in enumerate(order_)]
    transitive = MinHashConfig(survivor="smallest_id", linkage="transitive")
    kept, rejected = run(docs, MinHashDedup(transitive), tmp_path)
    assert [d.id for d in kept] == ["p00"] and len(rejected) == 23
    assert kept[0].cluster_size == 24
    kept1, rejected1 = run(docs, MinHashDedup(transitive.model_copy(update={"max_rounds": 1})), tmp_path)
    assert len(kept1) + len(rejected1) == 24 and "p00" in {d.id for d in kept1}
    assert all(r.detail < r.id for r in rejected1)


def chain(n: int = 24) -> list[Document]:
    """Documents p00..: windows of 200 words sliding by 12 (neighbours ~0.89 similar by word
    2-grams, two steps apart ~0.79, three ~0.70), in shuffled id order."""
    rng = random.Random(4)
    words = [rng.choice(WORDS) for _ in range(200 + 12 * n)]
    order_ = list(range(n))
    rng.shuffle(order_)
    return [doc(f"p{j:02d}", " ".join(words[12 * i : 12 * i + 200])) for j, i in enumerate(order_)]


@pytest.mark.parametrize("survivor", ["central", "smallest_id"])
def test_direct_linkage_removes_only_documents_similar_to_their_survivor(tmp_path: Path, survivor: str) -> None:
    """On a chain, transitive linkage removes 23 of 24 documents although the ends share
    nothing; direct linkage removes a document only for a survivor it is itself >= 0.8
    similar to (exact Jaccard of its shingles), and keeps the rest."""
    from corpusmill.pipelines.dedup.minhash import exact_jaccard
    from corpusmill.pipelines.dedup.shingles import shingle_hashes

    docs = chain()
    config = MinHashConfig(survivor=survivor)  # type: ignore[arg-type]
    kept, rejected = run(docs, MinHashDedup(config), tmp_path)
    assert len(kept) + len(rejected) == 24 and 3 <= len(kept) <= 12
    text = {d.id: d.text for d in docs}

    def shingles(t: str):
        return np.unique(shingle_hashes(t, mode="word", n=config.ngram, norm=config.normalization, hash_name=config.hash))

    kept_ids = {d.id for d in kept}
    for r in rejected:
        assert r.detail in kept_ids
        assert exact_jaccard(shingles(text[r.id]), shingles(text[r.detail])) >= 0.8
    assert sum(d.cluster_size for d in kept) == 24
    multi, multi_rejected = run(docs, MinHashDedup(config), tmp_path, MULTI)
    assert [(d.id, d.cluster_size) for d in multi] == [(d.id, d.cluster_size) for d in kept]
    assert [(r.id, r.detail) for r in multi_rejected] == [(r.id, r.detail) for r in rejected]


def test_central_survivor_keeps_the_base_not_the_longest_variant(tmp_path: Path) -> None:
    """A base, a copy with boilerplate appended (the longest) and a lightly edited copy: both
    variants are verified near-duplicates of the base but not of each other. "central" keeps
    the base (two verified edges); "longest" keeps the boilerplate variant."""
    import lzma

    from tests.conftest import SAMPLES

    with lzma.open(SAMPLES / "books" / "kjv-bible.en.txt.xz", "rt", encoding="utf-8") as f:
        lines = f.readlines()[500:700]
    words = " ".join(line.split(" ", 2)[-1].strip() for line in lines).split()[:200]
    boiler = "share this page subscribe to our newsletter privacy policy terms of use contact us".split() * 3
    edited = list(words)
    for i in (20, 70, 120, 170):
        edited[i] = "zzzq" + str(i)
    base = doc("base", " ".join(words))
    longer = doc("boiler", " ".join(words + boiler[:36]))
    light = doc("edited", " ".join(edited))
    kept, rejected = run([base, longer, light], MinHashDedup(MinHashConfig(verify="exact")), tmp_path)
    assert [d.id for d in kept] == ["base"] and kept[0].cluster_size == 3
    assert sorted((r.id, r.detail) for r in rejected) == [("boiler", "base"), ("edited", "base")]
    kept, _ = run([base, longer, light], MinHashDedup(MinHashConfig(verify="exact", survivor="longest")), tmp_path)
    assert [d.id for d in kept] == ["boiler"]


# ---------------------------------------------------------------- one pass: verdicts


class ExactThenMinHash(beam.PTransform):
    """The two stages chained, each joining its verdicts with the documents."""

    def expand(self, docs: beam.PCollection) -> Any:
        exact = docs | "Exact" >> ExactDedup(ExactConfig())
        near = exact.kept | "Near" >> MinHashDedup(MinHashConfig(verify="exact"))
        rejected = (exact.rejected, near.rejected) | "AllRejected" >> beam.Flatten()
        return DedupResult(kept=near.kept, rejected=rejected)


class VerdictsJoinedOnce(beam.PTransform):
    """Both stages' verdicts from compact records, joined with the documents once."""

    def expand(self, docs: beam.PCollection) -> Any:
        verdicts = docs | "Verdicts" >> DedupVerdicts(ExactConfig(), MinHashConfig(verify="exact"))
        return {"docs": docs, "verdicts": verdicts} | "Join" >> JoinVerdicts()


def test_verdicts_of_both_stages_equal_the_chained_stages(tmp_path: Path) -> None:
    """Exact copies (one with a prior cluster_size) of near-duplicate clusters: the one-pass
    verdicts give the chained stages' kept set, cluster sizes and rejections (step, reason,
    survivor), on one worker and on two."""
    docs, truth = corpus(seed=3, clusters=24)
    copies = [
        doc(f"{d.id}x{k}", d.text + " " * k, cluster_size=3 if k == 2 else None)
        for i, d in enumerate(docs) if i % 3 == 0 for k in (1, 2)
    ]
    everything = docs + copies
    chained = run(everything, ExactThenMinHash(), tmp_path)
    for options in (SINGLE, MULTI):
        once = run(list(reversed(everything)), VerdictsJoinedOnce(), tmp_path, options)
        assert [(d.id, d.cluster_size, d.text) for d in once[0]] == [(d.id, d.cluster_size, d.text) for d in chained[0]]
        assert sorted(once[1], key=lambda r: (r.id, r.step)) == sorted(chained[1], key=lambda r: (r.id, r.step))
    kept, rejected = chained
    assert {r.step for r in rejected} == {"exact_dedup", "minhash_dedup"}
    assert sum(d.cluster_size or 0 for d in kept) == len(docs) + len(copies) + sum(2 for c in copies if c.cluster_size)
    assert len({truth[d.id.split("x")[0]] for d in kept}) == len(kept)  # one survivor per cluster


def test_decide_precedence_and_sizes() -> None:
    d = doc("a", "some text", cluster_size=2)
    assert decide(d, []).cluster_size == 2  # a unique document keeps its weight
    assert decide(doc("b", "t"), []).cluster_size == 1
    assert decide(d, [("exact_cluster", 5)]).cluster_size == 5
    assert decide(d, [("exact_cluster", 5), ("near_cluster", 9)]).cluster_size == 9
    near = decide(d, [("exact_cluster", 5), ("near_duplicate", "z")])
    assert isinstance(near, Rejection) and (near.step, near.reason, near.detail) == ("minhash_dedup", "near_duplicate", "z")
    exact = decide(d, [("near_duplicate", "z"), ("exact_duplicate", "y")])
    assert isinstance(exact, Rejection) and (exact.step, exact.detail) == ("exact_dedup", "y")
    assert exact.text_preview == "some text"
