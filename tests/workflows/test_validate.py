"""validate_output on a realistic output directory (tests/workflows/output_fixture.py), and on
copies of it corrupted one way at a time: each corruption must fail with a message naming the
expectation and the shard."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from corpusmill.pipelines.steps import registry
from corpusmill.schemas import suites as S
from corpusmill.schemas.outputs import NotARun
from corpusmill.workflows import validate as V
from corpusmill.workflows.config import load_plan, load_preset
from corpusmill.workflows.manifest import read_plan
from corpusmill.workflows.validate import validate_output
from tests.workflows.output_fixture import built_output, output  # noqa: F401 (fixtures)

CORPUS0 = "corpus/part-00000-of-00004.parquet"
CORPUS1 = "corpus/part-00001-of-00004.parquet"
REJECTED0 = "rejected/part-00000-of-00002.parquet"
TOKENS0 = "tokens/part-00000-of-00002.parquet"
TOKENS1 = "tokens/part-00001-of-00002.parquet"
CORPUS2 = "corpus/part-00002-of-00004.parquet"
CORPUS3 = "corpus/part-00003-of-00004.parquet"


def _rewrite(out: Path, rel: str, change: Callable[[list[dict]], list[dict]], schema: pa.Schema | None = None) -> None:
    """Rewrite one shard's rows and update the manifest's entry (rows, bytes, sha256), so the
    only thing wrong is the corruption itself."""
    table = pq.read_table(out / rel)
    rows = change(table.to_pylist())
    pq.write_table(pa.Table.from_pylist(rows, schema=schema or table.schema), out / rel, row_group_size=64)
    manifest = json.loads((out / "manifest.json").read_text())
    data = (out / rel).read_bytes()
    for entry in manifest["shards"][rel.split("/")[0]]:
        if entry["path"] == rel:
            entry.update(rows=len(rows), bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    (out / "manifest.json").write_text(json.dumps(manifest))


def _failed(result: V.ValidationResult) -> list[tuple[str, str, str]]:
    return [(f.expectation, f.shard, f.details) for f in result.failures]


def test_good_output_passes_offline(output: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"network use during validation: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    result = validate_output(output)
    assert attempts == []
    assert os.environ["GX_ANALYTICS_ENABLED"].lower() == "false"
    assert result.messages() == []
    assert result.success and result.exit_code == 0
    assert result.shards == 4 + 2 + 1 + 2
    record = json.loads(result.path.read_text())
    assert result.path == output / "validation" / "results.json"
    assert record["success"] is True and record["failed"] == 0
    suites = {c["suite"] for c in record["checks"]}
    assert {"corpus", "rejected", "failed", "tokens", "corpus_schema", "tokens_schema", "shards", "counts"} <= suites
    # thresholds come from the run's own config and tokenizer
    assert record["params"]["language_rules"] == {
        source: {"keep": ["en", "zh"], "min_score": 0.65, "min_scores": {"zh": 0.5}} for source in ("kjv", "tang300")
    }
    assert record["params"]["vocab_size"] == json.loads((output / "manifest.json").read_text())["tokenizer"]["vocab_size"]
    expectations = {c["expectation"] for c in record["checks"] if c["shard"] == CORPUS0}
    assert "expect_column_values_to_be_in_set(source_language)" in expectations
    assert "expect_column_pair_values_a_to_be_greater_than_b(language_score,language_min_score)" in expectations
    assert "expect_column_values_to_be_unique(text_hash)" in expectations
    assert {c["expectation"] for c in record["checks"] if c["shard"] == "*"} == {
        "expect_ids_unique_across_shards(id)",
        "expect_texts_unique_across_shards(text)",
        "expect_token_ids_to_name_documents(id)",
    }
    # great-expectations Data Docs, rendered from the same validation results
    assert result.docs_path is not None and result.docs_path.is_file()
    assert result.docs_path.parent == output / "validation" / "data_docs"
    assert list((output / "validation" / "data_docs" / "validations").rglob("*.html"))
    # deterministic results
    first = result.path.read_bytes()
    assert validate_output(output, docs=False).path.read_bytes() == first


def _dup_id(rows: list[dict]) -> list[dict]:
    rows[5]["id"] = rows[3]["id"]
    return rows


def _bad_language(rows: list[dict]) -> list[dict]:
    rows[2]["language"] = "fr"
    return rows


def _low_score(rows: list[dict]) -> list[dict]:
    en = next(r for r in rows if r["language"] == "en")
    en["language_score"] = 0.6  # below min_score 0.65 (zh would pass at 0.5)
    return rows


def _dup_text(rows: list[dict]) -> list[dict]:
    rows[7]["text"] = rows[1]["text"]
    return rows


def _empty_text(rows: list[dict]) -> list[dict]:
    rows[0]["text"] = ""
    return rows


def _token_out_of_vocab(rows: list[dict]) -> list[dict]:
    rows[4]["input_ids"] = rows[4]["input_ids"][:10] + [60000]
    rows[4]["num_tokens"] = 11
    return rows


def _num_tokens_wrong(rows: list[dict]) -> list[dict]:
    rows[1]["num_tokens"] += 1
    return rows


def _bad_reason(rows: list[dict]) -> list[dict]:
    rows[0]["reason"] = "Too Short!"
    return rows


def _null_text(rows: list[dict]) -> list[dict]:
    rows[3]["text"] = None
    return rows


def _cluster_size_as_text(rows: list[dict]) -> list[dict]:
    for r in rows:
        r["cluster_size"] = None if r["cluster_size"] is None else str(r["cluster_size"])
    return rows


def _with_field(out: Path, rel: str, field: pa.Field) -> pa.Schema:
    schema = pq.read_schema(out / rel)
    return schema.set(schema.get_field_index(field.name), field)


# (shard, corruption, expectation that must fail on that shard, text its details must quote)
CORRUPTIONS = [
    (CORPUS1, _dup_id, "expect_column_values_to_be_unique(id)", "2 of"),
    (CORPUS0, _bad_language, "expect_column_values_to_be_in_set(source_language)", ":fr'"),
    (CORPUS0, _low_score, "expect_column_pair_values_a_to_be_greater_than_b(language_score,language_min_score)", "0.6"),
    (CORPUS1, _dup_text, "expect_column_values_to_be_unique(text_hash)", "2 of"),
    (CORPUS1, _empty_text, "expect_column_values_to_be_between(text_length)", "text_length=0"),
    (CORPUS2, _null_text, "expect_column_values_to_not_be_null(text_length)", "1 of"),
    (CORPUS2, None, "expect_column_values_to_be_between(required_nulls)", "column='text'"),
    (CORPUS3, _cluster_size_as_text, "expect_column_values_to_be_in_set(signature)", "cluster_size:string"),
    (TOKENS0, _token_out_of_vocab, "expect_column_values_to_be_between(max_token_id)", "60000"),
    (TOKENS1, _num_tokens_wrong, "expect_column_pair_values_to_be_equal(num_tokens,input_ids_length)", "1 of"),
    (REJECTED0, _bad_reason, "expect_column_values_to_match_regex(reason)", "Too Short!"),
    # ... which also makes the rejected rows disagree with the manifest's counters
    ("manifest.json", None, "expect_column_pair_values_to_be_equal(manifest,observed)", "reason=Too Short!': manifest=0"),
]


def test_corrupted_shards_fail_naming_expectation_and_shard(output: Path) -> None:
    schemas = {
        CORPUS2: _with_field(output, CORPUS2, pa.field("text", pa.string())),  # a writer letting nulls through
        CORPUS3: _with_field(output, CORPUS3, pa.field("cluster_size", pa.string())),
    }
    for rel, change, _, _ in CORRUPTIONS:
        if change is not None:
            _rewrite(output, rel, change, schema=schemas.get(rel))
    result = validate_output(output, mode="warn", docs=False)
    assert not result.success and result.exit_code == 0  # warn mode reports, exits 0
    assert replace(result, mode="fail").exit_code == 1
    for rel, _, expectation, needle in CORRUPTIONS:
        hits = [f for f in result.failures if f.expectation == expectation and f.shard == rel]
        assert hits, (rel, expectation, result.messages())
        assert needle in hits[0].details, hits[0]
        assert any(rel in m and expectation in m for m in result.messages())
    # untouched shards pass every per-shard expectation
    assert {f.shard for f in result.failures} <= {rel for rel, *_ in CORRUPTIONS} | {"*"}, result.messages()
    record = json.loads(result.path.read_text())
    assert record["success"] is False and record["failed"] == len(result.failures)
    with pytest.raises(ValueError):
        validate_output(output, mode="strict")


def test_manifest_disagreeing_with_shards_fails(output: Path) -> None:
    manifest = json.loads((output / "manifest.json").read_text())
    manifest["shards"]["corpus"][2]["rows"] += 1
    too_short = manifest["counts"]["rejected"]["gopher_quality"]["too_short"]
    manifest["counts"]["rejected"]["gopher_quality"]["too_short"] += 3
    manifest["accounting"]["documents_read"] += 3
    (output / "manifest.json").write_text(json.dumps(manifest))
    result = validate_output(output, docs=False)
    rows = [f for f in result.failures if f.expectation == "expect_column_pair_values_to_be_equal(manifest_rows,file_rows)"]
    assert rows and rows[0].shard == "manifest.json"
    assert "corpus/part-00002-of-00004.parquet" in rows[0].details
    counters = [f for f in result.failures if f.expectation == "expect_column_pair_values_to_be_equal(manifest,observed)"]
    assert counters and "3 of" in counters[0].details
    assert f"rejected/step=gopher_quality/reason=too_short': manifest={too_short + 3}, observed={too_short}" in counters[0].details
    assert "accounting/documents_read=kept+rejected+failed" in counters[0].details
    assert "accounting/input_records=documents_read+reader_rejected+reader_failed" in counters[0].details
    assert len(result.failures) == 2, result.messages()
    assert str(rows[0]).startswith("expect_column_pair_values_to_be_equal(manifest_rows,file_rows) on manifest.json: ")
    assert result.lines()[0].startswith("validation FAILED (2 failed): ")


def test_missing_and_unlisted_and_unreadable_shards_fail(output: Path) -> None:
    (output / "corpus/part-00003-of-00004.parquet").unlink()
    shutil.copy(output / CORPUS0, output / "corpus/part-00009-extra.parquet")
    (output / "failed/part-00000-of-00001.parquet").write_bytes(b"PAR1 not really parquet")
    failed = _failed(validate_output(output, docs=False))
    missing = [d for e, s, d in failed if e == "expect_column_values_to_not_be_null(file_rows)"]
    assert missing and "corpus/part-00003-of-00004.parquet" in missing[0]
    unlisted = [d for e, s, d in failed if e == "expect_column_values_to_not_be_null(manifest_rows)"]
    assert unlisted and "corpus/part-00009-extra.parquet" in unlisted[0]
    assert ("expect_shard_to_be_readable_parquet", "failed/part-00000-of-00001.parquet") in {(e, s) for e, s, _ in failed}
    # the copied shard repeats ids and texts of another shard: caught across shards
    assert "expect_ids_unique_across_shards(id)" in {e for e, _, _ in failed}


def test_cross_shard_duplicates_and_orphan_tokens_found_with_many_hash_buckets(
    output: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pq.read_table(output / CORPUS0, columns=["id", "text"]).slice(0, 1).to_pylist()[0]

    def reuse_id(rows: list[dict]) -> list[dict]:
        rows[0]["id"] = first["id"]
        return rows

    def copy_text(rows: list[dict]) -> list[dict]:
        rows[0]["text"] = first["text"]
        return rows

    def orphan(rows: list[dict]) -> list[dict]:
        rows[0]["id"] = "not-a-document"
        return rows

    _rewrite(output, REJECTED0, reuse_id)
    _rewrite(output, CORPUS1, copy_text)
    _rewrite(output, TOKENS0, orphan)
    monkeypatch.setattr(V, "HASH_BUCKET_ROWS", 50)  # ~1,200 rows -> 32 bucket files
    result = validate_output(output, docs=False)
    by_name = {f.expectation: f for f in result.failures}
    # within each shard everything still holds: only the checks across shards fail
    assert sorted(by_name) == [
        "expect_ids_unique_across_shards(id)",
        "expect_texts_unique_across_shards(text)",
        "expect_token_ids_to_name_documents(id)",
    ], result.messages()
    assert all(f.shard == "*" for f in result.failures)
    ids = by_name["expect_ids_unique_across_shards(id)"].details
    assert first["id"] in ids and CORPUS0 in ids and REJECTED0 in ids
    texts = by_name["expect_texts_unique_across_shards(text)"].details
    assert first["text"].splitlines()[0] in texts and CORPUS0 in texts and CORPUS1 in texts
    tokens = by_name["expect_token_ids_to_name_documents(id)"].details
    assert "'not-a-document'" in tokens and TOKENS0 in tokens


def test_hash_buckets_split_and_find_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "HASH_BUCKET_ROWS", 10)
    buckets = V.HashBuckets(tmp_path, total_rows=100)
    assert buckets.buckets == 16
    values = [V._hash64(f"doc-{i}") for i in range(100)]
    buckets.add("k", 0, values[:60])
    buckets.add("k", 1, values[60:] + [values[7], None])
    assert len(list(tmp_path.glob("k-*.bin"))) > 1
    assert buckets.duplicates("k") == [(values[7], [0, 1])]
    buckets.add("ref", 0, values[:99])
    assert buckets.missing("k", within="ref") == [(values[99], 1)]


@pytest.mark.slow
def test_sample_rows_checks_a_sample_and_still_catches_sampled_rows(output: Path) -> None:
    result = validate_output(output, sample_rows=10, docs=False)
    assert result.success, result.messages()
    record = json.loads(result.path.read_text())
    assert record["sample_rows"] == 10
    unique = [c for c in record["checks"] if c["expectation"] == "expect_column_values_to_be_unique(id)" and c["shard"] == CORPUS0]
    assert unique and unique[0]["success"]
    _rewrite(output, CORPUS0, _bad_language)  # row 2 of ~100: not necessarily sampled

    def first_row_bad(rows: list[dict]) -> list[dict]:
        rows[0]["language"] = "xx"  # the first row is always in the evenly spaced sample
        return rows

    _rewrite(output, CORPUS0, first_row_bad)
    failed = validate_output(output, sample_rows=10, docs=False).failures
    hit = [f for f in failed if f.expectation == "expect_column_values_to_be_in_set(source_language)" and f.shard == CORPUS0]
    assert hit and ":xx'" in hit[0].details
    assert "of 10 rows" in hit[0].details


def test_sample_indices_are_spread_and_bounded() -> None:
    picks = V._sample_indices(1000, 10)
    assert picks is not None and len(picks) == 10 and picks[0] == 0 and picks[-1] == 999
    assert V._sample_indices(5, 10) is None


def test_without_tokens_and_tokenizer(output: Path) -> None:
    shutil.rmtree(output / "tokens")
    shutil.rmtree(output / "tokenizer")
    manifest = json.loads((output / "manifest.json").read_text())
    del manifest["shards"]["tokens"]
    manifest["tokenizer"] = None
    (output / "manifest.json").write_text(json.dumps(manifest))
    _rewrite(output, CORPUS1, _bad_language)
    result = validate_output(output, docs=False)
    found = {(f.expectation, f.shard): f.details for f in result.failures}
    # (the changed row may also miss the threshold of its new language: fr needs 0.65, zh 0.5)
    assert set(found) <= {
        ("expect_column_values_to_be_in_set(source_language)", CORPUS1),
        ("expect_column_pair_values_a_to_be_greater_than_b(language_score,language_min_score)", CORPUS1),
    }, result.messages()
    assert ":fr'" in found[("expect_column_values_to_be_in_set(source_language)", CORPUS1)]
    record = json.loads(result.path.read_text())
    assert sorted(record["params"]["language_rules"]) == ["kjv", "tang300"]
    assert record["params"]["vocab_size"] is None
    assert not [c for c in record["checks"] if c["suite"].startswith("tokens")]


def test_vocab_size_read_from_tokenizer_files(output: Path) -> None:
    expected = json.loads((output / "manifest.json").read_text())["tokenizer"]["vocab_size"]
    assert V.vocab_size(output, None) == expected  # from tokenizer.model
    (output / "tokenizer" / "tokenizer.model").unlink()
    assert V.vocab_size(output, None) == expected  # from tokenizer.vocab


def test_a_folder_without_manifest_is_not_a_run(output: Path) -> None:
    (output / "manifest.json").unlink()
    with pytest.raises(NotARun, match="no manifest.json"):
        validate_output(output, docs=False)


def test_language_rules_come_from_each_sources_planned_steps(tmp_path: Path) -> None:
    """A source runs its own steps, its preset's, or the top-level steps; the suites check the
    language rule of the steps it ran (drop mode only), with the step's own defaults."""
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(yaml.safe_dump({
        "steps": [{"step": "language", "params": {"keep": ["fr"]}}],
        "sources": [
            {"kind": "web", "paths": ["a.warc.gz"], "preset": "web"},
            {"kind": "code", "name": "repos", "paths": ["b"], "preset": "code"},
            {"kind": "books", "name": "own", "paths": ["c"], "steps": [
                {"step": "language", "params": {"keep": ["de"], "min_score": 0.8}}]},
            {"kind": "wiki", "name": "plain", "paths": ["d"]},
            {"kind": "jsonl", "name": "notes", "paths": ["e"], "steps": [
                {"step": "language", "mode": "annotate", "params": {"keep": ["en"]}}]},
        ],
        "dedup": {"exact": False},
    }))
    plan = load_plan(workflow)
    p = V.suite_params(plan, vocab_size=None)
    web_language = next(s for s in load_preset("web") if s.step == "language").params
    assert p.rule("web") == S.LanguageRule(None, web_language["min_score"], web_language["min_scores"])
    assert p.rule("repos") is None  # code preset: no language step, nothing to check
    assert p.rule("own") == S.LanguageRule(frozenset({"de"}), 0.8, {})
    default = inspect.signature(registry.lookup("language")).parameters["min_score"].default
    assert p.rule("plain") == S.LanguageRule(frozenset({"fr"}), default, {})
    assert p.rule("notes") is None  # annotate mode drops nothing
    assert p.source_language("plain", "fr") == "plain:fr" and p.source_language("web", "fr") is None
    assert p.allowed_source_languages() == ["own:de", "plain:fr"]
    assert p.language_min_score("web", "en") == web_language["min_scores"]["en"]
    assert not p.unique_texts  # no exact dedup: duplicate texts are allowed


def test_the_fixture_plan_reads_back_from_its_manifest(output: Path) -> None:
    """validate and report read the plan through the model that wrote it."""
    manifest = json.loads((output / "manifest.json").read_text())
    plan = read_plan(manifest)
    assert [s.label for s in plan.sources] == ["kjv", "tang300"]
    assert plan.to_json() == manifest["plan"]
    assert [spec.step for spec in plan.sources[0].steps] == ["language", "gopher_quality", "gopher_repetition"]


def test_a_manifest_without_a_readable_plan_is_refused(output: Path) -> None:
    """A manifest from before the run plan (a `config` instead), or one whose plan no longer
    fits the steps' signatures, is refused in one line rather than read half-way."""
    manifest = json.loads((output / "manifest.json").read_text())
    (output / "manifest.json").write_text(json.dumps({**manifest, "plan": None, "config": {"steps": []}}))
    with pytest.raises(NotARun, match="records no run plan"):
        validate_output(output, docs=False)
    manifest["plan"]["sources"][0]["steps"][1]["params"] = {"min_words": "ten"}
    (output / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NotARun, match="min_words"):
        validate_output(output, docs=False)
