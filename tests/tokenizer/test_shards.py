"""Token shards: lossless round trip in several scripts, uint16 ids, packing, determinism."""

from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import sentencepiece as spm

from corpusmill.tokenizer.encode import Encoder
from corpusmill.tokenizer.shards import encode_corpus


@pytest.fixture(scope="module")
def model_path(trained) -> str:
    return os.path.join(trained[0], "tokenizer.model")


@pytest.fixture(scope="module")
def doc_shards(corpus_files, model_path, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("tokens"))
    return out, encode_corpus(corpus_files, model_path, out, seed=0)


def test_document_shards_decode_to_the_original_text(doc_shards, corpus_docs, corpus_files, model_path):
    out, summary = doc_shards
    sp = spm.SentencePieceProcessor(model_file=model_path)
    names = sorted(os.listdir(out))
    assert names == [f"part-{i:05d}-of-00002.parquet" for i in range(len(corpus_files))]
    table = pq.read_table(out)
    assert str(table.schema.field("input_ids").type) == "list<element: uint16>"
    assert table.num_rows == len(corpus_docs) == summary["documents"]
    texts = {d.id: d for d in corpus_docs}
    seen_langs = set()
    for row in table.to_pylist():
        doc = texts[row["id"]]
        assert row["num_tokens"] == len(row["input_ids"])
        assert sp.decode(row["input_ids"]) == doc.text
        assert row["input_ids"] == sp.encode(doc.text)
        seen_langs.add(row["language"])
    assert {"en", "zh", "ru", "ar", "ja", "hi", "th"} <= seen_langs
    assert summary["tokens"] == sum(table.column("num_tokens").to_pylist())
    assert summary["tokens"] == sum(v["tokens"] for v in summary["by_language"].values())
    assert summary["by_source"]["books"]["documents"] == sum(1 for d in corpus_docs if d.source == "books")
    assert summary["input_ids_type"] == "uint16"
    # rows keep the corpus shard's order
    first = pq.read_table(corpus_files[0], columns=["id"]).column("id").to_pylist()
    assert pq.read_table(os.path.join(out, names[0]), columns=["id"]).column("id").to_pylist() == first


def _packed(corpus_files, model_path, out, seed, seq_len=128):
    summary = encode_corpus(corpus_files, model_path, out, pack=seq_len, seed=seed)
    return summary, [pq.read_table(os.path.join(out, n)) for n in sorted(os.listdir(out))]


@pytest.fixture(scope="module")
def packed_seed7(corpus_files, model_path, tmp_path_factory):
    return _packed(corpus_files, model_path, str(tmp_path_factory.mktemp("packed")), seed=7)


def test_packed_shards_hold_every_document_in_order(corpus_files, corpus_docs, model_path, packed_seed7, doc_shards):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    eos = sp.eos_id()
    summary, tables = packed_seed7
    assert summary["tokens"] == doc_shards[1]["tokens"]
    assert summary["eos_tokens"] == len(corpus_docs)
    texts = {d.id: d.text for d in corpus_docs}
    for path, table in zip(corpus_files, tables):
        rows = table.to_pylist()
        assert str(table.schema.field("input_ids").type) == "list<element: uint16>"
        short = [r for r in rows if r["num_tokens"] < 128]
        assert len(short) <= 1 and all(r["num_tokens"] == len(r["input_ids"]) for r in rows)
        ks = [int(r["id"].rsplit("=", 1)[1]) for r in rows]
        assert ks != sorted(ks)  # shuffled
        stream = np.concatenate([np.asarray(r["input_ids"]) for r in sorted(rows, key=lambda r: int(r["id"].rsplit("=", 1)[1]))])
        cuts = np.flatnonzero(stream == eos)
        assert cuts[-1] == len(stream) - 1
        docs = np.split(stream[: cuts[-1]], cuts[:-1] + 1)
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        assert [sp.decode([t for t in d.tolist() if t != eos]) for d in docs] == [texts[i] for i in ids]
        for r in rows:  # doc_ids name the documents whose tokens are in the row
            assert r["doc_ids"] and set(r["doc_ids"]) <= set(ids)


def test_packing_is_deterministic_per_seed(corpus_files, model_path, tmp_path, packed_seed7):
    _, a = packed_seed7
    _, b = _packed(corpus_files, model_path, str(tmp_path / "b"), seed=7)
    _, c = _packed(corpus_files, model_path, str(tmp_path / "c"), seed=4)
    assert all(x.equals(y) for x, y in zip(a, b))
    assert a[0].column("id").to_pylist() != c[0].column("id").to_pylist()


def test_long_documents_encode_in_chunks_exactly(model_path, corpus_docs):
    whole = Encoder(model_path, max_chunk_chars=10**9)
    chunked = Encoder(model_path, max_chunk_chars=300)
    assert chunked.can_chunk
    long_text = "\n".join(d.text for d in corpus_docs if d.language in ("en", "zh", "ru", "ar"))[:200_000]
    texts = [long_text, "  " + long_text[:5000], "no newline " * 100, "\n\n" + long_text[:3000] + "\n"]
    assert chunked.encode(texts) == whole.encode(texts) == [whole.sp.encode(t) for t in texts]


def test_stale_shards_are_replaced(corpus_files, model_path, tmp_path):
    out = tmp_path / "t"
    out.mkdir()
    (out / "part-00007-of-00009.parquet").write_bytes(b"old")
    encode_corpus(corpus_files[:1], model_path, str(out))
    assert sorted(os.listdir(out)) == ["part-00000-of-00001.parquet"]
