"""Training mixtures on real token shards (the tokenizer tests' corpus: KJV chapters and Tang
poems as `books`, UDHR paragraphs in 14 languages as `web`): realised proportions and epochs,
stratified order, packing, identical reruns, the Megatron and HF exports, shortfalls."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import sentencepiece as spm
from pydantic import ValidationError

from corpusmill.tokenizer.mixture import (
    Mixture,
    MixtureError,
    check_tokenizer,
    interleave,
    plan_mixture,
    read_megatron_index,
    write_mixture,
)
from corpusmill.tokenizer.shards import encode_corpus, summarize

from .conftest import small_config


@pytest.fixture(scope="module")
def model_path(trained) -> str:
    return os.path.join(trained[0], "tokenizer.model")


@pytest.fixture(scope="module")
def tokens_dir(corpus_files, model_path, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("tokens"))
    encode_corpus(corpus_files, model_path, out, seed=0)
    return out


def _fresh(tokens_dir: str, tmp_path: Path) -> str:
    """A private copy of the token shards (each test writes its own tokens/mixture/)."""
    dst = tmp_path / "tokens"
    shutil.copytree(tokens_dir, dst, ignore=shutil.ignore_patterns("mixture"))
    return str(dst)


def _input_rows(tokens_dir: str) -> dict[str, dict]:
    rows = {}
    for name in sorted(os.listdir(tokens_dir)):
        if name.startswith("part-"):
            for r in pq.read_table(os.path.join(tokens_dir, name)).to_pylist():
                rows[r["id"]] = r
    return rows


def _mixed_rows(tokens_dir: str) -> list[dict]:
    mix = os.path.join(tokens_dir, "mixture")
    out = []
    for name in sorted(n for n in os.listdir(mix) if n.startswith("part-")):
        out += pq.read_table(os.path.join(mix, name)).to_pylist()
    return out


def _tree_hashes(folder: str) -> dict[str, str]:
    return {
        os.path.relpath(os.path.join(d, n), folder): hashlib.sha256(Path(d, n).read_bytes()).hexdigest()
        for d, _, names in os.walk(folder) for n in names
    }


def test_realised_proportions_and_epochs_from_the_written_shards(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    web_tokens = sum(r["num_tokens"] for r in source.values() if r["source"] == "web")
    mixture = Mixture(components={"web": {"weight": 0.5, "epochs": 3}, "books": {"weight": 0.5}}, shards=3)
    summary = write_mixture(tokens, mixture, model_path=model_path)

    rows = _mixed_rows(tokens)
    assert [f"part-{i:05d}-of-00003.parquet" for i in range(3)] == [f["path"] for f in summary["files"]]
    by_source: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for r in rows:  # every row is an input document, tokens unchanged
        assert r["input_ids"] == source[r["id"]]["input_ids"] and r["source"] == source[r["id"]]["source"]
        by_source[r["source"]] += r["num_tokens"]
        seen[r["id"]] += 1
    total = sum(by_source.values())
    assert total == summary["tokens"]
    for name in ("web", "books"):
        assert abs(by_source[name] / total - 0.5) <= 0.01
        assert summary["components"][name]["tokens"] == by_source[name]
    # web is the smallest for its weight: it sets the size and is used for exactly its 3 epochs
    assert summary["limited_by"] == "web"
    web_ids = [i for i, r in source.items() if r["source"] == "web"]
    assert all(seen[i] == 3 for i in web_ids)
    assert by_source["web"] == 3 * web_tokens
    assert summary["components"]["web"]["epochs"] == 3.0
    # books are subsampled: each chosen chapter or poem once
    assert max(seen[i] for i, r in source.items() if r["source"] == "books") == 1
    assert summary["components"]["books"]["epochs"] < 1
    assert summary["within_tolerance"] and summary["max_deviation"] <= 0.01
    # the footers sum to the same totals, and mixture.json is the returned summary
    assert summarize([os.path.join(tokens, "mixture", f["path"]) for f in summary["files"]])["tokens"] == total
    assert json.loads(Path(tokens, "mixture", "mixture.json").read_text()) == summary


def test_fractional_epochs_repeat_a_seeded_subset(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    web = {i: r for i, r in source.items() if r["source"] == "web"}
    web_tokens = sum(r["num_tokens"] for r in web.values())
    target = int(2.4 * web_tokens)
    mixture = Mixture(components={"web": {"tokens": target, "epochs": 2.5}, "books": {"tokens": 200_000}})
    summary = write_mixture(tokens, mixture, model_path=model_path)
    seen = Counter(r["id"] for r in _mixed_rows(tokens) if r["source"] == "web")
    assert set(seen) == set(web) and set(seen.values()) == {2, 3}
    third = sum(web[i]["num_tokens"] for i, n in seen.items() if n == 3)
    assert abs(third - 0.4 * web_tokens) <= max(r["num_tokens"] for r in web.values())
    assert summary["components"]["web"]["full_passes"] == 2
    assert abs(summary["components"]["web"]["tokens"] - target) <= max(r["num_tokens"] for r in web.values()) / 2
    assert abs(summary["components"]["web"]["epochs"] - 2.4) < 0.01


def test_every_prefix_of_the_stream_keeps_the_proportions(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    write_mixture(tokens, Mixture(components={"web": {"weight": 0.3, "epochs": 3}, "books": {"weight": 0.7}}), model_path=model_path)
    rows = _mixed_rows(tokens)
    lengths = np.array([r["num_tokens"] for r in rows])
    is_web = np.array([r["source"] == "web" for r in rows])
    cum, cum_web = np.cumsum(lengths), np.cumsum(lengths * is_web)
    longest = lengths.max()
    for frac in (0.1, 0.25, 0.5, 0.75, 1.0):
        k = int(np.searchsorted(cum, frac * cum[-1]))
        k = min(k, len(cum) - 1)
        share = cum_web[k] / cum[k]
        # within one document of each component of the exact share
        assert abs(share - 0.3) <= 2 * longest / cum[k] + 0.01, (frac, share)
    # a naive concatenation (all web, then all books) would be far off; the stream alternates
    assert 0.2 < is_web[: len(rows) // 10].mean() < 0.9


def test_packed_mixture_holds_the_documents_in_stream_order(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    eos = spm.SentencePieceProcessor(model_file=model_path).eos_id()
    mixture = Mixture(components={"web": {"weight": 0.4, "epochs": 2}, "books": {"weight": 0.6}}, seq_len=256, shards=2)
    summary = write_mixture(tokens, mixture, model_path=model_path)
    rows = _mixed_rows(tokens)
    assert summary["layout"] == "packed" and summary["rows"] == len(rows)
    assert all(r["num_tokens"] == 256 == len(r["input_ids"]) for r in rows[:-1]) and 0 < rows[-1]["num_tokens"] <= 256
    stream = np.concatenate([np.asarray(r["input_ids"]) for r in rows])
    cuts = np.flatnonzero(stream == eos)
    assert cuts[-1] == len(stream) - 1 and len(cuts) == summary["eos_tokens"] == summary["documents"]
    by_tokens = {tuple(r["input_ids"]): i for i, r in source.items()}
    by_source: Counter[str] = Counter()
    segments = []  # (start, end incl. its end-of-text id, document id)
    start = 0
    for end in cuts.tolist():
        doc_id = by_tokens[tuple(stream[start:end].tolist())]  # each segment is one input document
        segments.append((start, end + 1, doc_id))
        by_source[source[doc_id]["source"]] += end - start
        start = end + 1
    # each row names exactly the documents it holds tokens of, in order
    row_start = 0
    for r in rows:
        row_end = row_start + r["num_tokens"]
        assert r["doc_ids"] == [d for a, b, d in segments if a < row_end and b > row_start]
        row_start = row_end
    total = sum(by_source.values())
    assert total == summary["tokens"]
    assert abs(by_source["web"] / total - 0.4) <= 0.01 and abs(by_source["books"] / total - 0.6) <= 0.01
    assert summary["components"]["web"]["epochs"] <= 2.0


def test_rerun_writes_identical_files_and_the_seed_changes_the_order(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    mixture = Mixture(components={"web": {"weight": 0.3, "epochs": 2.5}, "books": {"weight": 0.7}}, seq_len=128, shards=2)
    first = write_mixture(tokens, mixture, model_path=model_path)
    hashes = _tree_hashes(os.path.join(tokens, "mixture"))
    assert any(p.endswith(".bin") for p in hashes) and any(p.startswith("sources/") for p in hashes)
    second = write_mixture(tokens, mixture, model_path=model_path)
    assert _tree_hashes(os.path.join(tokens, "mixture")) == hashes and first == second
    assert {p: h for p, h in hashes.items() if p != "mixture.json"} == first["sha256"]
    write_mixture(tokens, mixture.model_copy(update={"seed": 1}), model_path=model_path)
    reseeded = _tree_hashes(os.path.join(tokens, "mixture"))
    assert reseeded["part-00000-of-00002.parquet"] != hashes["part-00000-of-00002.parquet"]
    assert not list(Path(tokens).glob(".mixture*"))  # no temporary directory left


def test_megatron_blend_list_parses_and_names_indexed_datasets(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    eos = spm.SentencePieceProcessor(model_file=model_path).eos_id()
    summary = write_mixture(tokens, Mixture(components={"web": {"weight": 0.25, "epochs": 3}, "books": {"weight": 0.75}}),
                            model_path=model_path)
    mix = Path(tokens, "mixture")
    parts = (mix / summary["exports"]["megatron_blend"]).read_text().split()
    assert len(parts) % 2 == 0 and len(parts) >= 4
    weights = [float(w) for w in parts[0::2]]
    prefixes = parts[1::2]
    assert abs(sum(weights) - 1) < 1e-6 and all(w > 0 for w in weights)
    share: Counter[str] = Counter()
    for w, prefix in zip(weights, prefixes):
        component = prefix.split("/")[1]
        share[component] += w
        index = read_megatron_index(str(mix / f"{prefix}.idx"))
        data = np.fromfile(mix / f"{prefix}.bin", dtype=index["dtype"])
        table = pq.read_table(mix / f"{prefix}.parquet")
        assert index["version"] == 1 and index["dtype"] == np.uint16
        assert index["doc_index"].tolist() == list(range(table.num_rows + 1))
        assert index["pointers"][-1] // 2 + index["lengths"][-1] == len(data)
        for row, length, pointer in zip(table.to_pylist(), index["lengths"], index["pointers"]):
            seq = data[pointer // 2 : pointer // 2 + length]
            assert seq[-1] == eos and seq[:-1].tolist() == source[row["id"]]["input_ids"] == row["input_ids"]
    for name, c in summary["components"].items():
        assert abs(share[name] - c["share"]) < 1e-6
    assert abs(share["web"] - 0.25) <= 0.01


@pytest.mark.parametrize("seq_len", [None, 128])
def test_hf_interleave_datasets_loads_the_exports(tokens_dir, model_path, tmp_path, seq_len, hf_datasets):
    tokens = _fresh(tokens_dir, tmp_path)
    summary = write_mixture(tokens, Mixture(components={"web": {"weight": 0.3, "epochs": 3}, "books": {"weight": 0.7}},
                                            seq_len=seq_len), model_path=model_path)
    mix = Path(tokens, "mixture")
    spec = json.loads((mix / summary["exports"]["hf_interleave"]).read_text())
    names = sorted(spec["probabilities"])
    assert abs(sum(spec["probabilities"].values()) - 1) < 1e-9
    web_ids = sorted(r["id"] for r in _input_rows(tokens).values() if r["source"] == "web")
    # Hugging Face datasets, in its own venv (tests/conftest.py: hf_datasets), as a training job runs it
    counted = hf_datasets(
        """
spec, names, web_ids = args["spec"], args["names"], set(args["web_ids"])
parts = [datasets.load_dataset("parquet", data_files=[args["dir"] + "/" + f for f in spec["data_files"][n]],
                               split="train", cache_dir=args["cache"]) for n in names]
mixed = datasets.interleave_datasets(parts, probabilities=[spec["probabilities"][n] for n in names], seed=spec["seed"],
                                     stopping_strategy=spec["stopping_strategy"])
result = {"rows": 0, "web": 0, "books": 0}
for row in mixed:
    result["rows"] += 1
    is_web = row["source"] == "web" if args["seq_len"] is None else set(row["doc_ids"]) <= web_ids
    result["web" if is_web else "books"] += row["num_tokens"]
""",
        {"spec": spec, "names": names, "web_ids": web_ids, "dir": str(mix), "cache": str(tmp_path / "hf-cache"),
         "seq_len": seq_len},
    )
    total = counted["web"] + counted["books"]
    # drawn at random with these probabilities: the mixture's shares, up to sampling noise
    assert abs(counted["web"] / total - 0.3) < 0.05
    assert 0.8 * spec["rows"] <= counted["rows"] <= 1.2 * spec["rows"]


def test_a_source_too_small_for_its_weight_is_an_error_or_a_recorded_warning(tokens_dir, model_path, tmp_path, caplog):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    web_tokens = sum(r["num_tokens"] for r in source.values() if r["source"] == "web")
    components = {"web": {"weight": 0.5}, "books": {"weight": 0.5}}
    total = 4 * web_tokens  # web would need 2 epochs
    with pytest.raises(MixtureError, match=r"'web' has .* needs .* = 2\.000 epochs > epochs 1: set mixture\.components\.web\.epochs >= 2"):
        write_mixture(tokens, Mixture(components=components, total_tokens=total), model_path=model_path)
    assert not Path(tokens, "mixture").exists()
    with caplog.at_level(logging.WARNING, logger="corpusmill"):
        summary = write_mixture(tokens, Mixture(components=components, total_tokens=total, on_shortfall="warn"),
                                model_path=model_path)
    assert any("'web'" in r.getMessage() and "under-weighted" in r.getMessage() for r in caplog.records)
    web = summary["components"]["web"]
    assert web["shortfall"] and web["tokens"] == web_tokens and web["epochs"] == 1.0
    assert not summary["within_tolerance"] and summary["warnings"] and web["share"] < 0.5 - 0.01
    # with enough epochs the same request is realised
    ok = write_mixture(tokens, Mixture(components={**components, "web": {"weight": 0.5, "epochs": 2}}, total_tokens=total),
                       model_path=model_path)
    assert ok["within_tolerance"] and ok["components"]["web"]["epochs"] == pytest.approx(2.0, abs=1e-3)


def test_groups_by_language_and_excluded_keys(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    mixture = Mixture(by="language", groups={"cjk": ["zh", "ja", "ko"], "european": ["de", "fr", "ru", "el", "uk"]},
                      components={"en": {"weight": 0.5}, "cjk": {"weight": 0.3, "epochs": 4}, "european": {"weight": 0.2, "epochs": 4}})
    summary = write_mixture(tokens, mixture, model_path=model_path)
    assert summary["within_tolerance"]
    assert set(summary["excluded"]) == {"ar", "he", "hi", "th", "vi"}
    assert summary["components"]["cjk"]["keys"] == ["ja", "ko", "zh"]
    lang_tokens: Counter[str] = Counter()
    for r in _mixed_rows(tokens):
        lang_tokens[r["language"]] += r["num_tokens"]
    total = sum(lang_tokens.values())
    assert abs(sum(lang_tokens[x] for x in ("zh", "ja", "ko")) / total - 0.3) <= 0.01
    assert not set(lang_tokens) & set(summary["excluded"])


def test_plan_and_config_errors():
    with pytest.raises(ValidationError, match="exactly one of"):
        Mixture(components={"web": {"weight": 1, "tokens": 5}})
    with pytest.raises(ValidationError, match="either all"):
        Mixture(components={"web": {"weight": 1}, "books": {"tokens": 5}})
    with pytest.raises(ValidationError, match="two mixture components"):
        Mixture(groups={"a": ["web"]}, components={"a": {"weight": 1}, "web": {"weight": 1}})
    with pytest.raises(MixtureError, match=r"\['wiki'\] have no tokens"):
        plan_mixture(Mixture(components={"web": {"weight": 1}, "wiki": {"weight": 1}}), {"web": (3, 100)})
    plan = plan_mixture(Mixture(components={"a": {"weight": 3}, "b": {"weight": 1, "epochs": 2}}), {"a": (10, 1000), "b": (5, 100)})
    assert plan.limited_by == "b" and [c.target_tokens for c in plan.components] == [600, 200]
    assert check_tokenizer(None) and check_tokenizer(small_config(shards={"pack": {"seq_len": 64}}))
    assert check_tokenizer(small_config()) is None


def test_interleave_merges_by_position_within_each_component():
    comp, pos = interleave([np.array([10, 10, 10, 10]), np.array([40])])
    assert comp.tolist() == [0, 0, 1, 0, 0] and pos.tolist() == [0, 1, 0, 2, 3]


def test_packed_token_shards_are_refused(corpus_files, model_path, tmp_path):
    packed = str(tmp_path / "packed")
    encode_corpus(corpus_files, model_path, packed, pack=64)
    with pytest.raises(MixtureError, match="packed token shards cannot be mixed"):
        write_mixture(packed, Mixture(components={"web": {"weight": 1}}), model_path=model_path)


def test_cut_documents_hits_each_target_to_the_token(tokens_dir, model_path, tmp_path):
    tokens = _fresh(tokens_dir, tmp_path)
    source = _input_rows(tokens)
    mixture = Mixture(components={"web": {"tokens": 50_001}, "books": {"tokens": 123_457, "epochs": 1}}, cut_documents=True)
    summary = write_mixture(tokens, mixture, model_path=model_path)
    assert {n: c["tokens"] for n, c in summary["components"].items()} == {"web": 50_001, "books": 123_457}
    cut = [r for r in _mixed_rows(tokens) if "#prefix=" in r["id"]]
    assert 1 <= len(cut) <= 2
    for r in cut:
        whole, n = r["id"].rsplit("#prefix=", 1)
        assert r["input_ids"] == source[whole]["input_ids"][: int(n)] and r["num_tokens"] == int(n)


def test_workflow_mixture_section_is_validated(tmp_path):
    from corpusmill.workflows.config import ConfigError, load_plan as load_workflow

    root = Path(__file__).resolve().parents[2]
    example = load_workflow(root / "workflows" / "mixture_example.yaml")
    assert example.mixture is not None and example.mixture.components["web"].epochs == 2
    sample = load_workflow(root / "workflows" / "sample.yaml")
    assert sample.mixture is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [{kind: jsonl, paths: [x.jsonl]}]\ntokenizer: {shards: {pack: {seq_len: 64}}}\n"
                   "mixture: {components: {jsonl: {weight: 1}}}\n")
    with pytest.raises(ConfigError, match="mixture mixes document token shards"):
        load_workflow(bad)
    bad.write_text("sources: [{kind: jsonl, paths: [x.jsonl]}]\nmixture: {components: {jsonl: {weight: 1, epoch: 2}}}\n")
    with pytest.raises(ConfigError, match=r"mixture\.components\.jsonl\.epoch"):
        load_workflow(bad)


@pytest.mark.slow
def test_corpusmill_run_writes_the_mixture_into_manifest_and_report(corpus_docs, tmp_path):
    """`corpusmill run` with a `mixture:` section (books as JSONL, web as Parquet); then the
    same workflow without it removes the mixture again."""
    import subprocess
    import sys

    import pyarrow as pa

    (tmp_path / "in").mkdir()
    with open(tmp_path / "in" / "books.jsonl", "w", encoding="utf-8") as f:
        for d in corpus_docs:
            if d.source == "books":
                f.write(json.dumps({"id": d.id, "text": d.text, "language": d.language}) + "\n")
    web = [d for d in corpus_docs if d.source == "web"]
    pq.write_table(pa.table({"id": [d.id for d in web], "text": [d.text for d in web], "language": [d.language for d in web]}),
                   tmp_path / "in" / "web.parquet")
    sources = ("sources:\n"
               "  - {kind: jsonl, paths: [in/books.jsonl], fields: {language: language}}\n"
               "  - {kind: parquet, paths: [in/web.parquet], fields: {language: language}}\n"
               "steps: []\ndedup: {exact: true}\noutput: {dir: out, shards: 2}\nvalidate: false\n"
               "tokenizer: {vocab_size: 2000, character_coverage: 0.995, sampling: {max_chars: 300000}}\n")
    mixture = "mixture: {components: {jsonl: {weight: 0.6}, parquet: {weight: 0.4, epochs: 4}}, seq_len: 512}\n"
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(sources + mixture)
    cli = [sys.executable, "-m", "corpusmill.workflows.cli", "run", str(workflow)]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    written = json.loads((out / "tokens" / "mixture" / "mixture.json").read_text())
    assert manifest["mixture"] == written and written["within_tolerance"]
    assert abs(written["by_source"]["parquet"]["share"] - 0.4) <= 0.01
    assert 1 < written["components"]["parquet"]["epochs"] <= 4
    assert manifest["plan"]["mixture"]["components"]["parquet"]["epochs"] == 4
    report = (out / "report" / "index.html").read_text()
    assert 'id="mixture"' in report and "Training mixture" in report
    # the same run without `mixture:`: the corpus and tokenizer stages resume, the mixture goes
    workflow.write_text(sources)
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mixture" not in json.loads((out / "manifest.json").read_text())
    assert not (out / "tokens" / "mixture").exists()
    assert 'id="mixture"' not in (out / "report" / "index.html").read_text()
