"""Validate the output directory of a run with great-expectations.

`validate_output(OUT)` checks every shard of `OUT/corpus`, `OUT/rejected`, `OUT/failed` and
`OUT/tokens` (the last only when present) against the suites of `schemas/suites.py`, one shard
at a time, plus the manifest's shard inventory and counters. Memory stays bounded:

- a shard is read in row batches and only the columns a check needs; texts are reduced to
  their length and a 64-bit hash batch by batch, so great-expectations sees a small derived
  frame per shard (about 100 bytes per row), never the texts;
- `sample_rows=N` checks N evenly spaced rows per shard (row groups without a sampled row are
  not read); counts and row totals still come from every row (cheap columns / Parquet footers);
- properties across shards (an id in two shards, a text in two shards, token rows pointing at
  no document) are checked from 64-bit hashes spilled to bucket files and checked one bucket at
  a time; the number of buckets grows with the row count (`HASH_BUCKET_ROWS` rows each).

Results: `OUT/validation/results.json` (deterministic: every expectation evaluated, with its
shard and outcome) and the great-expectations Data Docs under `OUT/validation/data_docs/`.
A failed expectation is reported as (expectation, shard, details), e.g.
`("expect_column_values_to_be_unique(id)", "corpus/part-00001-of-00004.parquet", "...")`.

Nothing here touches the network: great-expectations analytics are disabled
(GX_ANALYTICS_ENABLED=false) before it is imported.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import xxhash  # noqa: E402

from corpusmill.pipelines.plan import RunPlan, SourcePlan  # noqa: E402
from corpusmill.pipelines.steps import registry  # noqa: E402
from corpusmill.schemas import outputs  # noqa: E402
from corpusmill.schemas import suites as S  # noqa: E402
from corpusmill.workflows.manifest import read_plan  # noqa: E402

log = logging.getLogger(__name__)

MODES = ("fail", "warn")
BATCH_ROWS = 2048
HASH_BUCKET_ROWS = 8_000_000  # rows of (hash, shard) per bucket file: ~100 MB in memory
EXAMPLES = 5  # offending values quoted per failed expectation


class CheckFailure(NamedTuple):
    """A failed expectation: its name (with the column), the shard (path relative to the output
    directory, `manifest.json`, or `*` for checks across shards) and what was found."""

    expectation: str
    shard: str
    details: str

    def __str__(self) -> str:
        return f"{self.expectation} on {self.shard}: {self.details}"


@dataclass
class ValidationResult:
    """Outcome of `validate_output`. `success` is true when every expectation held; `path` is
    `OUT/validation/results.json`. `exit_code` is what a CLI should return for `mode`."""

    success: bool
    failures: list[CheckFailure]
    path: Path | str  # a str for a remote (s3://, gs://...) output
    mode: str = "fail"
    evaluated: int = 0
    docs_path: Path | str | None = None
    shards: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if (self.mode == "fail" and not self.success) else 0

    def messages(self) -> list[str]:
        return [f"FAILED {f}" for f in self.failures]

    def lines(self) -> list[str]:
        """A one-line outcome (what a CLI prints; failures are in `messages()`)."""
        outcome = "passed" if self.success else f"FAILED ({len(self.failures)} failed)"
        return [f"validation {outcome}: {self.evaluated} expectations on {self.shards} shards -> {self.path}"]


# ----------------------------------------------------------------------------- reading shards


def _hash64(value: str) -> int:
    return xxhash.xxh3_64_intdigest(value.encode("utf-8", "surrogatepass"))


def _sample_indices(num_rows: int, sample_rows: int | None) -> np.ndarray | None:
    """Evenly spaced row indices (deterministic), or None for every row."""
    if sample_rows is None or num_rows <= sample_rows:
        return None
    return np.unique(np.linspace(0, num_rows - 1, num=max(sample_rows, 1)).astype(np.int64))


def iter_batches(
    path: str | Path, columns: list[str], sample_rows: int | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Record batches of the given columns (missing columns come back as nulls), row group by
    row group; with `sample_rows`, only the sampled rows (and only row groups holding some)."""
    pf = outputs.parquet_file(str(path))
    present = [c for c in columns if c in pf.schema_arrow.names]
    picks = _sample_indices(pf.metadata.num_rows, sample_rows)
    start = 0
    for rg in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        local: np.ndarray | None = None
        if picks is not None:
            local = picks[(picks >= start) & (picks < start + n)] - start
            if local.size == 0:
                start += n
                continue
        offset = 0
        for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[rg], columns=present):
            if local is not None:
                chosen = local[(local >= offset) & (local < offset + batch.num_rows)] - offset
                offset += batch.num_rows
                if chosen.size == 0:
                    continue
                batch = batch.take(pa.array(chosen))
            arrays = []
            for c in columns:
                if c in present:
                    arrays.append(batch.column(c))
                else:
                    arrays.append(pa.nulls(batch.num_rows))
            yield pa.RecordBatch.from_arrays(arrays, names=columns)
        start += n


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    return batch.column(batch.schema.get_field_index(name))


def _hash_column(array: pa.Array) -> list[int | None]:
    return [None if v is None else _hash64(v) for v in array.to_pylist()]


def _as_str_list(array: pa.Array) -> list[str | None]:
    if pa.types.is_null(array.type):
        return [None] * len(array)
    return [None if v is None else str(v) for v in array.to_pylist()]


def _signed(h: list[int | None]) -> pd.Series:
    """64-bit unsigned hashes as nullable signed ints (pandas-friendly, same equality)."""
    values = [None if v is None else (v - (1 << 64) if v >= (1 << 63) else v) for v in h]
    return pd.Series(values, dtype="Int64")


def _strings(array: pa.Array) -> pd.Series:
    """A string column as a compact Arrow-backed pandas Series (nulls stay null)."""
    return array.cast(pa.string()).to_pandas().reset_index(drop=True)


def _category(values: list[str | None]) -> pd.Series:
    """Few distinct values (sources, languages, steps, reasons): stored as codes."""
    return pd.Series(pd.Categorical(values))


def corpus_frame(path: str | Path, params: S.SuiteParams, sample_rows: int | None = None) -> pd.DataFrame:
    """Derived frame of a corpus shard: id, source, language, source_language
    (`source:language` where the source's language step restricts languages), language_score,
    language_min_score (the source's threshold for that language), text_length, text_hash,
    cluster_size. About 60 bytes per row plus the ids (nulls of required columns such as
    `location` are counted from the Parquet footers by the schema suite)."""
    cols = ["id", "text", "source", "language", "language_score", "cluster_size"]
    parts: list[pd.DataFrame] = []
    for b in iter_batches(path, cols, sample_rows):
        text = _column(b, "text")
        if pa.types.is_null(text.type):
            lengths = pd.Series([None] * b.num_rows, dtype="Int64")
            hashes = pd.Series([None] * b.num_rows, dtype="Int64")
        else:
            lengths = pd.Series(pc.utf8_length(text).to_pylist(), dtype="Int64")
            hashes = _signed(_hash_column(text))
        languages = _as_str_list(_column(b, "language"))
        sources = _as_str_list(_column(b, "source"))
        parts.append(
            pd.DataFrame(
                {
                    "id": _strings(_column(b, "id")),
                    "source": _category(sources),
                    "language": _category(languages),
                    "source_language": _category([params.source_language(s, lang) for s, lang in zip(sources, languages)]),
                    "language_score": pd.Series(_column(b, "language_score").to_pylist(), dtype="Float64"),
                    "language_min_score": pd.Series(
                        [params.language_min_score(s, lang) for s, lang in zip(sources, languages)], dtype="Float64"
                    ),
                    "text_length": lengths,
                    "text_hash": hashes,
                    "cluster_size": pd.Series(_column(b, "cluster_size").to_pylist(), dtype="Int64"),
                }
            )
        )
    return _concat(parts, ["id", "source", "language", "source_language", "language_score",
                           "language_min_score", "text_length", "text_hash", "cluster_size"])


def rejected_frame(path: str | Path, sample_rows: int | None = None) -> pd.DataFrame:
    """Derived frame of a rejected shard: id, source, step, reason, text_preview_length."""
    parts = []
    for b in iter_batches(path, ["id", "source", "step", "reason", "text_preview"], sample_rows):
        preview = _column(b, "text_preview")
        lengths = [0] * b.num_rows if pa.types.is_null(preview.type) else pc.utf8_length(preview).to_pylist()
        frame = {"id": _strings(_column(b, "id"))}
        frame |= {c: _category(_as_str_list(_column(b, c))) for c in ("source", "step", "reason")}
        frame["text_preview_length"] = pd.Series(lengths, dtype="Int64")
        parts.append(pd.DataFrame(frame))
    return _concat(parts, ["id", "source", "step", "reason", "text_preview_length"])


def failed_frame(path: str | Path, sample_rows: int | None = None) -> pd.DataFrame:
    """Derived frame of a failed shard: source, step, location, error, id."""
    cols = ["source", "step", "location", "error", "id"]
    parts = [
        pd.DataFrame({c: pd.Series(_as_str_list(_column(b, c)), dtype=object) for c in cols})
        for b in iter_batches(path, cols, sample_rows)
    ]
    return _concat(parts, cols)


def tokens_frame(path: str | Path, sample_rows: int | None = None) -> pd.DataFrame:
    """Derived frame of a token shard: id, num_tokens, input_ids_length, min/max_token_id."""
    parts = []
    for b in iter_batches(path, ["id", "input_ids", "num_tokens"], sample_rows):
        ids = _column(b, "input_ids")
        n = b.num_rows
        if pa.types.is_null(ids.type):
            lengths = [None] * n
            mins: list[Any] = [None] * n
            maxs: list[Any] = [None] * n
        else:
            lengths = pc.list_value_length(ids).to_pylist()
            flat = pc.list_flatten(ids).to_numpy(zero_copy_only=False).astype(np.int64)
            offsets = np.asarray(ids.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
            # per-row min / max over the flattened values (rows with no tokens give None)
            mins, maxs = [], []
            for i in range(n):
                lo, hi = offsets[i] - offsets[0], offsets[i + 1] - offsets[0]
                if hi > lo and ids[i].is_valid:
                    seg = flat[lo:hi]
                    mins.append(int(seg.min()))
                    maxs.append(int(seg.max()))
                else:
                    mins.append(None)
                    maxs.append(None)
        parts.append(
            pd.DataFrame(
                {
                    "id": pd.Series(_as_str_list(_column(b, "id")), dtype=object),
                    "num_tokens": pd.Series(_column(b, "num_tokens").to_pylist(), dtype="Int64"),
                    "input_ids_length": pd.Series(lengths, dtype="Int64"),
                    "min_token_id": pd.Series(mins, dtype="Int64"),
                    "max_token_id": pd.Series(maxs, dtype="Int64"),
                }
            )
        )
    return _concat(parts, ["id", "num_tokens", "input_ids_length", "min_token_id", "max_token_id"])


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Batches into one frame; categorical columns stay categorical (union of categories)."""
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    out: dict[str, pd.Series] = {}
    for c in columns:
        series = [p[c] for p in parts]
        if all(isinstance(x.dtype, pd.CategoricalDtype) for x in series):
            out[c] = pd.Series(pd.api.types.union_categoricals([x.array for x in series], ignore_order=True))
        else:
            out[c] = pd.concat(series, ignore_index=True)
    return pd.DataFrame(out)


SCHEMA_COLUMNS = ["path", "column", "signature", "required_nulls"]


def schema_rows(path: str | Path, rel: str, kind: str) -> list[dict[str, Any]]:
    """One row per column of the shard's schema, plus one per expected column it lacks:
    path, column, signature (`name:type`, `name:missing`), and required_nulls (nulls in a
    column that must have none; from the footer statistics, or counted row group by row
    group for nested columns and footers without statistics)."""
    pf = outputs.parquet_file(str(path))
    required = set(S.required_columns(kind))
    rows = []
    for f in pf.schema_arrow:
        nulls = _null_count(pf, f.name) if f.name in required else 0
        rows.append({"path": rel, "column": f.name, "signature": f"{f.name}:{S.type_name(f.type)}", "required_nulls": nulls})
    for name, (_, must) in S.expected_columns(kind).items():
        if must and name not in pf.schema_arrow.names:
            rows.append({"path": rel, "column": name, "signature": f"{name}:missing", "required_nulls": 0})
    return rows


def _null_count(pf: pq.ParquetFile, name: str) -> int:
    md = pf.metadata
    leaves = [j for j in range(md.num_columns) if md.schema.column(j).path.split(".")[0] == name]
    total = 0
    for rg in range(md.num_row_groups):
        stats = [md.row_group(rg).column(j).statistics for j in leaves[:1]]
        if name not in ("flags", "signals", "input_ids") and stats and stats[0] is not None and stats[0].has_null_count:
            total += stats[0].null_count
        else:  # nested columns (leaf nulls are not top-level nulls) or no statistics: count
            total += pf.read_row_group(rg, columns=[name]).column(0).null_count
    return total


# ----------------------------------------------------------------------------- cross-shard hashes


class HashBuckets:
    """64-bit hashes tagged with (kind, shard index), spilled to one file per (kind, bucket) so
    a check across shards holds one bucket in memory at a time."""

    DTYPE = np.dtype([("h", "<u8"), ("shard", "<u4")])

    def __init__(self, directory: Path, total_rows: int) -> None:
        self.directory = directory
        self.bits = max(0, math.ceil(math.log2(max(1, math.ceil(total_rows / HASH_BUCKET_ROWS)))))
        self.buckets = 1 << self.bits

    def add(self, kind: str, shard: int, hashes: list[int | None]) -> None:
        values = np.array([h for h in hashes if h is not None], dtype=np.uint64)
        if values.size == 0:
            return
        records = np.empty(values.size, dtype=self.DTYPE)
        records["h"] = values
        records["shard"] = shard
        which = (values >> np.uint64(64 - self.bits)) if self.bits else np.zeros(values.size, dtype=np.uint64)
        for b in np.unique(which):
            with open(self.directory / f"{kind}-{int(b)}.bin", "ab") as fh:
                records[which == b].tofile(fh)

    def load(self, kind: str, bucket: int) -> np.ndarray:
        p = self.directory / f"{kind}-{bucket}.bin"
        return np.fromfile(p, dtype=self.DTYPE) if p.exists() else np.empty(0, dtype=self.DTYPE)

    def duplicates(self, kind: str) -> list[tuple[int, list[int]]]:
        """(hash, shard indices) for each hash seen more than once, bucket by bucket."""
        found: list[tuple[int, list[int]]] = []
        for b in range(self.buckets):
            rec = self.load(kind, b)
            if rec.size == 0:
                continue
            rec = np.sort(rec, order=["h", "shard"])
            same = rec["h"][1:] == rec["h"][:-1]
            for h in np.unique(rec["h"][1:][same]):
                found.append((int(h), [int(s) for s in rec["shard"][rec["h"] == h]]))
        return found

    def missing(self, kind: str, within: str) -> list[tuple[int, int]]:
        """(hash, shard) of `kind` hashes absent from `within`, bucket by bucket."""
        out: list[tuple[int, int]] = []
        for b in range(self.buckets):
            rec = self.load(kind, b)
            if rec.size == 0:
                continue
            ref = self.load(within, b)["h"]
            lost = rec[~np.isin(rec["h"], ref)]
            out.extend((int(r["h"]), int(r["shard"])) for r in lost)
        return out


# ----------------------------------------------------------------------------- manifest helpers


def load_json(path: str | Path) -> dict[str, Any] | None:
    data = outputs.read_json_or_none(str(path))
    return data if isinstance(data, dict) else None


def language_rule(source: SourcePlan) -> S.LanguageRule | None:
    """The rule of the source's last `language` step that drops (not `annotate`), its
    parameters read through the step's own signature (so defaults are the step's)."""
    rule = None
    for spec in source.steps:
        if spec.step != "language" or spec.mode == "annotate":
            continue
        params = registry.params_model("language").model_validate(spec.params).model_dump()
        rule = S.LanguageRule(
            keep=frozenset(params["keep"]) if params["keep"] is not None else None,
            min_score=float(params["min_score"]),
            min_scores={str(k): float(v) for k, v in (params["min_scores"] or {}).items() if v is not None},
        )
    return rule


def suite_params(plan: RunPlan, vocab_size: int | None) -> S.SuiteParams:
    """The suites' thresholds for a run, from its plan: per source label, the language rule of
    its steps; exact-duplicate texts are checked when the plan has exact dedup."""
    rules = {source.label: rule for source in plan.sources if (rule := language_rule(source)) is not None}
    return S.SuiteParams(language_rules=rules, vocab_size=vocab_size, unique_texts=plan.dedup.exact is not None)


def vocab_size(output_dir: str | Path, manifest: Mapping[str, Any] | None) -> int | None:
    """The tokenizer's vocabulary size: the manifest's `tokenizer.vocab_size`, else the
    SentencePiece model in `tokenizer/`, else the line count of `tokenizer/tokenizer.vocab`,
    else `tokenizer/tokenizer.json`'s model vocabulary. None when there is no tokenizer."""
    tok = (manifest or {}).get("tokenizer")
    if isinstance(tok, Mapping) and isinstance(tok.get("vocab_size"), int):
        return int(tok["vocab_size"])
    tdir = outputs.join(str(output_dir), "tokenizer")
    model = outputs.join(tdir, "tokenizer.model")
    if outputs.is_file(model):
        try:
            import sentencepiece as spm

            return int(spm.SentencePieceProcessor(model_proto=outputs.read_bytes(model)).get_piece_size())
        except (OSError, RuntimeError):
            pass
    vocab = outputs.join(tdir, "tokenizer.vocab")
    if outputs.is_file(vocab):
        return sum(1 for line in outputs.read_text(vocab).split("\n") if line)
    data = load_json(outputs.join(tdir, "tokenizer.json"))
    if data and isinstance(data.get("model"), Mapping) and isinstance(data["model"].get("vocab"), (dict, list)):
        return len(data["model"]["vocab"]) + len(data.get("added_tokens") or [])
    return None


def manifest_shards(manifest: Mapping[str, Any] | None, kind: str) -> dict[str, Mapping[str, Any]]:
    shards = (manifest or {}).get("shards") or {}
    entries = shards.get(kind) or [] if isinstance(shards, Mapping) else []
    return {str(e["path"]): e for e in entries if isinstance(e, Mapping) and "path" in e}


# ----------------------------------------------------------------------------- GX plumbing


class _Runner:
    """An ephemeral great-expectations context holding the suites, one pandas data asset per
    frame kind, and a ValidationDefinition per suite; Data Docs go to `docs_dir`."""

    def __init__(self, suites: Mapping[str, Any], docs_dir: Path) -> None:
        import great_expectations as gx

        self.gx = gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site in list(self.context.get_site_names()):
            self.context.delete_data_docs_site(site)
        self.context.add_data_docs_site(
            "corpusmill",
            {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            },
        )
        source = self.context.data_sources.add_pandas("output")
        self.definitions = {}
        for name, suite in suites.items():
            suite = self.context.suites.add(suite)
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("frame")
            self.definitions[name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )

    def run(self, suite: str, frame: pd.DataFrame, shard: str, split_by: str | None = None) -> list[dict[str, Any]]:
        """Validate `frame` with `suite`; one check record per expectation. With `split_by`
        (a column naming the shard of each row, for frames covering several shards), a failed
        expectation yields one record per offending shard."""
        from great_expectations.core.run_identifier import RunIdentifier

        index = "column" if suite.endswith("_schema") else S.INDEX_COLUMN.get(suite, "")
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
        if split_by:
            result_format = {"result_format": "COMPLETE"}
        names = [c for c in (split_by, index) if c and c in frame.columns]
        if names:
            result_format["unexpected_index_column_names"] = names
        res = self.definitions[suite].run(
            batch_parameters={"dataframe": frame},
            result_format=result_format,
            run_id=RunIdentifier(run_name=shard.replace("/", ".")),
        )
        checks = []
        for r in res.results:
            cfg = r.expectation_config
            kwargs = cfg.kwargs
            column = kwargs.get("column") or ",".join(
                str(kwargs[k]) for k in ("column_A", "column_B", "column_list") if k in kwargs
            )
            name = f"{cfg.type}({column})" if column else cfg.type
            base = {"suite": suite, "expectation": name, "checks": (cfg.meta or {}).get("checks", "")}
            error = (r.exception_info or {}).get("exception_message") if not r.success else None
            if r.success or error or not split_by or not r.result.get("unexpected_index_list"):
                checks.append(
                    {**base, "shard": shard, "success": bool(r.success),
                     "details": "" if r.success else _describe(r.result, index, error)}
                )
                continue
            by_shard: dict[str, list[dict[str, Any]]] = {}
            for row in r.result["unexpected_index_list"]:
                row = dict(_plain(row))
                by_shard.setdefault(str(row.pop(split_by, "?")), []).append(row)
            for where, rows in sorted(by_shard.items()):
                part = {"unexpected_count": len(rows), "element_count": None, "partial_unexpected_index_list": rows}
                details = _describe(part, index, None).replace(" of None rows", " rows")
                checks.append({**base, "shard": where, "success": False, "details": details})
        return checks

    def build_docs(self) -> Path | None:
        try:
            urls = self.context.build_data_docs()
        except Exception as exc:  # Data Docs are a convenience; the JSON results are the record
            log.warning("could not build Data Docs: %s", exc)
            return None
        url = next(iter(urls.values()), None)
        return Path(url.removeprefix("file://")) if url else None


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _describe(result: Mapping[str, Any], index: str, error: str | None) -> str:
    """A short human-readable account of what a failed expectation found."""
    if error:
        return f"error: {error}"
    if "unexpected_count" in result:
        parts = [f"{result['unexpected_count']} of {result.get('element_count')} rows unexpected"]
        rows = result.get("partial_unexpected_index_list") or []
        examples = []
        for row in rows[:EXAMPLES]:
            row = _plain(row)
            if isinstance(row, dict):
                where = row.pop(index, None) if index else None
                shown = ", ".join(f"{k}={v!r}" for k, v in row.items())
                examples.append(f"{index}={where!r}: {shown}" if where is not None else shown)
            else:
                examples.append(repr(row))
        if not examples:
            examples = [repr(v) for v in _plain(result.get("partial_unexpected_list") or [])[:EXAMPLES]]
        if examples:
            parts.append("e.g. " + "; ".join(examples))
        return ", ".join(parts)
    if "observed_value" in result:
        return f"observed {_plain(result['observed_value'])!r}"
    return json.dumps(_plain(dict(result)), sort_keys=True, default=str)[:500]


# ----------------------------------------------------------------------------- the run


@dataclass
class _Collected:
    checks: list[dict[str, Any]] = field(default_factory=list)
    observed: dict[str, Counter] = field(default_factory=lambda: {"kept": Counter(), "rejected": Counter(), "failed": Counter()})
    rows: dict[str, int] = field(default_factory=dict)


def _counts_frame(manifest: Mapping[str, Any], seen: _Collected) -> pd.DataFrame:
    """manifest vs observed counters: kept in total (and per source when the manifest's source
    labels are the documents' `source` values), rejections per (step, reason), failures per step,
    and the manifest's `accounting` (documents read = kept + rejected + failed after the readers;
    input records = documents read + the readers' rejections and failures)."""
    counts = manifest.get("counts") or {}
    rows: list[dict[str, Any]] = []
    kept = counts.get("kept")
    if isinstance(kept, Mapping):
        rows.append({"key": "kept/total", "manifest": int(sum(kept.values())), "observed": seen.rows.get("corpus", 0)})
        if set(kept) == set(seen.observed["kept"]):
            for src in sorted(kept):
                rows.append({"key": f"kept/source={src}", "manifest": int(kept[src]), "observed": seen.observed["kept"][src]})
    rejected = counts.get("rejected")
    if isinstance(rejected, Mapping):
        expected = {(s, r): int(n) for s, by in rejected.items() if isinstance(by, Mapping) for r, n in by.items()}
        for key in sorted(set(expected) | set(seen.observed["rejected"])):
            rows.append(
                {"key": f"rejected/step={key[0]}/reason={key[1]}", "manifest": expected.get(key, 0),
                 "observed": seen.observed["rejected"][key]}
            )
    accounting = manifest.get("accounting")
    if isinstance(accounting, Mapping):
        # every document read ends as exactly one corpus row, rejection or failure (outside
        # readers); readers' own verdicts make up the rest of the input records
        reader = sum(n for (s, _), n in seen.observed["rejected"].items() if s == "read") + seen.observed["failed"]["read"]
        later = sum(n for (s, _), n in seen.observed["rejected"].items() if s != "read") + sum(
            n for s, n in seen.observed["failed"].items() if s != "read"
        )
        if isinstance(accounting.get("documents_read"), int):
            rows.append({"key": "accounting/documents_read=kept+rejected+failed", "manifest": accounting["documents_read"],
                         "observed": seen.rows.get("corpus", 0) + later})
        if isinstance(accounting.get("input_records"), int) and isinstance(accounting.get("documents_read"), int):
            rows.append({"key": "accounting/input_records=documents_read+reader_rejected+reader_failed",
                         "manifest": accounting["input_records"], "observed": accounting["documents_read"] + reader})
    failed = counts.get("failed")
    if isinstance(failed, Mapping):
        for step in sorted(set(failed) | set(seen.observed["failed"])):
            rows.append({"key": f"failed/step={step}", "manifest": int(failed.get(step, 0)), "observed": seen.observed["failed"][step]})
    return pd.DataFrame(rows, columns=["key", "manifest", "observed"])


def _observe_counts(kind: str, path: str | Path, seen: _Collected) -> None:
    """Counters from every row of a shard (cheap columns only)."""
    cols = {"corpus": ["source"], "rejected": ["step", "reason"], "failed": ["step"]}.get(kind)
    if not cols:
        return
    for b in iter_batches(path, cols):
        values = [_as_str_list(_column(b, c)) for c in cols]
        if kind == "corpus":
            seen.observed["kept"].update(values[0])
        elif kind == "rejected":
            seen.observed["rejected"].update(zip(values[0], values[1]))
        else:
            seen.observed["failed"].update(values[0])


def _token_document_hashes(path: str | Path, sample_rows: int | None) -> list[int | None]:
    """Hashes of the corpus ids a token shard refers to: `doc_ids` of packed rows, else `id`."""
    packed = "doc_ids" in outputs.parquet_file(str(path)).schema_arrow.names
    hashes: list[int | None] = []
    for b in iter_batches(path, ["doc_ids" if packed else "id"], sample_rows):
        col = b.column(0)
        hashes += _hash_column(pc.list_flatten(col) if packed else col)
    return hashes


def _find_values(path: str | Path, column: str, wanted: set[int], hashed: bool = True) -> dict[int, str]:
    """Map hashes back to the values of `column` in one shard (for failure messages)."""
    found: dict[int, str] = {}
    for b in iter_batches(path, [column]):
        col = _column(b, column)
        if pa.types.is_list(col.type):
            col = pc.list_flatten(col)
        for v in col.to_pylist():
            if v is not None:
                h = _hash64(v)
                if h in wanted and h not in found:
                    found[h] = v if column != "text" else v[:80]
    return found


def validate_output(
    output_dir: str | Path, *, mode: str = "fail", sample_rows: int | None = None, docs: bool = True
) -> ValidationResult:
    """Validate a run's output directory; write `OUT/validation/results.json` and Data Docs.

    `mode` is `fail` (a failure makes `exit_code` 1) or `warn` (failures are reported, exit 0).
    `sample_rows` checks that many evenly spaced rows per shard instead of all of them (row
    counts and counters still use every row; sha256 of shards is skipped). `docs=False` skips
    rendering the Data Docs (the JSON results are always written). Raises
    `schemas.outputs.NotARun` for a directory without manifest.json."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    out = str(output_dir)
    manifest = outputs.read_manifest(out)
    params = suite_params(read_plan(manifest), vocab_size(out, manifest))
    vdir = outputs.join(out, "validation")
    remote = outputs.is_remote(out)
    with contextlib.ExitStack() as stack:
        # great-expectations renders Data Docs to a local folder: for a remote output, a
        # temporary one uploaded afterwards
        local_docs = stack.enter_context(tempfile.TemporaryDirectory(prefix="corpusmill-docs-")) if remote else None
        runner = _Runner(S.build_suites(params), Path(local_docs or outputs.join(vdir, "data_docs")))
        shards = [(kind, rel) for kind in S.KINDS for rel in _shard_paths(out, kind)]
        seen = _Collected()
        inventory = _check_shards(out, shards, params, runner, seen, sample_rows)
        seen.checks += _check_inventory(manifest, inventory, runner)
        counts = _counts_frame(manifest, seen)
        if len(counts):
            seen.checks += runner.run("counts", counts.astype({"manifest": "Int64", "observed": "Int64"}), "manifest.json")
        docs_path: Path | str | None = runner.build_docs() if docs else None
        if local_docs is not None and docs_path is not None:
            outputs.remove(outputs.join(vdir, "data_docs"))
            outputs.upload_tree(local_docs, outputs.join(vdir, "data_docs"))
            rel = os.path.relpath(docs_path, local_docs).split(os.sep)
            docs_path = outputs.join(vdir, "data_docs", *rel)
    return _write_results(vdir, mode, sample_rows, params, seen, len(shards), docs_path)


def _shard_paths(out: str, kind: str) -> list[str]:
    return [f"{kind}/{name}" for name in outputs.list_dir(outputs.join(out, kind)) if name.endswith(".parquet")]


def _check_shards(
    out: str, shards: list[tuple[str, str]], params: S.SuiteParams, runner: _Runner, seen: _Collected,
    sample_rows: int | None,
) -> list[dict[str, Any]]:
    """Run the suites of each shard, then the schema suites and the checks across shards;
    returns the shard inventory found on disk (rows, sha256)."""
    total_rows = sum(outputs.parquet_rows(outputs.join(out, rel)) for _, rel in shards if _readable(outputs.join(out, rel)))
    inventory: list[dict[str, Any]] = []
    schema_table: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="corpusmill-validate-") as tmp:
        buckets = HashBuckets(Path(tmp), total_rows)
        for index, (kind, rel) in enumerate(shards):
            path = outputs.join(out, rel)
            if not _readable(path):
                seen.checks.append(_custom("expect_shard_to_be_readable_parquet", rel, False, "not a readable Parquet file"))
                inventory.append({"path": rel, "file_rows": None, "file_sha256": None})
                continue
            num_rows = outputs.parquet_rows(str(path))
            seen.rows[kind] = seen.rows.get(kind, 0) + num_rows
            schema_table.setdefault(kind, []).extend(schema_rows(path, rel, kind))
            seen.checks += _check_shard(kind, index, path, rel, params, runner, buckets, sample_rows)
            _observe_counts(kind, path, seen)
            inventory.append({"path": rel, "file_rows": num_rows, "file_sha256": None if sample_rows else outputs.sha256(str(path))})
        for kind, rows in schema_table.items():
            table = pd.DataFrame(rows, columns=SCHEMA_COLUMNS).astype({"required_nulls": "Int64"})
            seen.checks += runner.run(f"{kind}_schema", table, f"{kind}/*", split_by="path")
        seen.checks += _cross_shard_checks(out, buckets, shards, params, tokens_complete=sample_rows is None)
    return inventory


def _check_shard(
    kind: str, index: int, path: str | Path, rel: str, params: S.SuiteParams, runner: _Runner, buckets: HashBuckets,
    sample_rows: int | None,
) -> list[dict[str, Any]]:
    """The suite of one shard on its derived frame; its hashes go to the buckets."""
    if kind == "corpus":
        frame = corpus_frame(path, params, sample_rows)
        buckets.add("text", index, [None if pd.isna(v) else int(v) % (1 << 64) for v in frame["text_hash"]])
    elif kind == "rejected":
        frame = rejected_frame(path, sample_rows)
    elif kind == "failed":
        frame = failed_frame(path, sample_rows)
    else:
        frame = tokens_frame(path, sample_rows)
    if kind in ("corpus", "rejected"):
        id_hashes = _hash_column(pa.array(frame["id"], type=pa.string(), from_pandas=True))
        buckets.add("doc_id", index, id_hashes)
        if kind == "corpus":
            buckets.add("corpus_id", index, id_hashes)
    if kind == "tokens":
        buckets.add("token_id", index, _token_document_hashes(path, sample_rows))
    return runner.run(kind, frame, rel)


def _check_inventory(manifest: Mapping[str, Any], inventory: list[dict[str, Any]], runner: _Runner) -> list[dict[str, Any]]:
    """The manifest's shard list (rows, sha256) against the shards on disk."""
    by_path = {row["path"]: row for row in inventory}
    for kind in S.KINDS:
        for rel, entry in manifest_shards(manifest, kind).items():
            row = by_path.setdefault(rel, {"path": rel, "file_rows": None, "file_sha256": None})
            row["manifest_rows"] = entry.get("rows")
            row["manifest_sha256"] = entry.get("sha256")
    columns = ["path", "manifest_rows", "file_rows", "manifest_sha256", "file_sha256"]
    rows = [{c: r.get(c) for c in columns} for r in sorted(by_path.values(), key=lambda r: r["path"])]
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"manifest_rows": "Int64", "file_rows": "Int64", "manifest_sha256": object, "file_sha256": object}
    )
    return runner.run("shards", frame, "manifest.json")


def _write_results(
    vdir: str, mode: str, sample_rows: int | None, params: S.SuiteParams, seen: _Collected, shards: int,
    docs_path: Path | str | None,
) -> ValidationResult:
    """`validation/results.json` (every check, deterministic) and the result."""
    failures = [CheckFailure(c["expectation"], c["shard"], c["details"]) for c in seen.checks if not c["success"]]
    path = outputs.join(vdir, "results.json")
    record = {
        "success": not failures,
        "mode": mode,
        "sample_rows": sample_rows,
        "shards": shards,
        "evaluated": len(seen.checks),
        "failed": len(failures),
        "params": {
            "language_rules": {
                src: {"keep": sorted(r.keep) if r.keep is not None else None, "min_score": r.min_score,
                      "min_scores": dict(sorted(r.min_scores.items()))}
                for src, r in sorted(params.language_rules.items())
            },
            "min_text_chars": params.min_text_chars,
            "max_text_chars": params.max_text_chars,
            "vocab_size": params.vocab_size,
            "unique_texts": params.unique_texts,
        },
        "checks": seen.checks,
    }
    outputs.write_json(path, _plain(record), indent=1, sort_keys=True)
    return ValidationResult(
        success=not failures, failures=failures, path=path if outputs.is_remote(path) else Path(path), mode=mode, evaluated=len(seen.checks),
        docs_path=docs_path, shards=shards,
    )


def _readable(path: str | Path) -> bool:
    try:
        outputs.parquet_file(str(path))
    except (OSError, pa.ArrowException):
        return False
    return True


def _custom(expectation: str, shard: str, success: bool, details: str) -> dict[str, Any]:
    return {"suite": "custom", "shard": shard, "expectation": expectation, "checks": "", "success": success,
            "details": "" if success else details}


def _cross_shard_checks(
    out: str, buckets: HashBuckets, shards: list[tuple[str, str]], params: S.SuiteParams, tokens_complete: bool
) -> list[dict[str, Any]]:
    """Ids unique across corpus + rejected shards (every document ends exactly once), texts
    unique across corpus shards, every token row names a corpus document."""
    checks = []

    def named(dups: list[tuple[int, list[int]]], column: str, label: str) -> str:
        parts = []
        for h, where in dups[:EXAMPLES]:
            first = outputs.join(out, shards[where[0]][1])
            value = _find_values(first, column, {h}).get(h, f"hash {h:016x}")
            parts.append(f"{label} {value!r} in " + ", ".join(sorted({shards[w][1] for w in where})))
        return f"{len(dups)} duplicated; " + "; ".join(parts)

    dups = buckets.duplicates("doc_id")
    checks.append(_custom("expect_ids_unique_across_shards(id)", "*", not dups, named(dups, "id", "id") if dups else ""))
    if params.unique_texts:
        dups = buckets.duplicates("text")
        checks.append(_custom("expect_texts_unique_across_shards(text)", "*", not dups, named(dups, "text", "text") if dups else ""))
    if tokens_complete and any(k == "tokens" for k, _ in shards):
        lost = buckets.missing("token_id", within="corpus_id")
        details = ""
        if lost:
            h, s = lost[0]
            shard = outputs.join(out, shards[s][1])
            column = "doc_ids" if "doc_ids" in outputs.parquet_file(str(shard)).schema_arrow.names else "id"
            v = _find_values(shard, column, {h}).get(h, f"hash {h:016x}")
            details = f"{len(lost)} token rows name no corpus document, e.g. {v!r} in {shards[s][1]}"
        checks.append(_custom("expect_token_ids_to_name_documents(id)", "*", not lost, details))
    return checks


__all__ = ["CheckFailure", "ValidationResult", "suite_params", "validate_output", "vocab_size"]
