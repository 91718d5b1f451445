"""manifest.json: the run plan, what the run produced and how every input record was accounted for.

Deterministic by construction (same inputs + plan -> byte-identical file): no timestamps or
host names here; those go to run_info.json. `plan` is the resolved run plan
(`pipelines.plan.RunPlan`, read back with `read_plan`); counts come from the written shards
(kept, rejected, failed) and from the pipeline's own stage counts (read, after steps, after
dedup). Written once per run, at the end of the last producing stage (`schemas.outputs`).

Accounting identity checked on every run:
    documents read == kept + rejected by steps/dedup + failed in steps
(records that readers rejected or failed on are reported beside it: they never became
documents).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from corpusmill.pipelines.plan import RunPlan
from corpusmill.schemas import outputs

PACKAGES = (
    "corpusmill",
    "apache-beam",
    "pyarrow",
    "fasttext-numpy2",
    "datasketch",
    "sentencepiece",
    "tokenizers",
    "great-expectations",
    "resiliparse",
    "trafilatura",
    "numpy",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _iter_columns(out_dir: str, entries: list[dict[str, Any]], columns: list[str]) -> Iterator[pa.Table]:
    for entry in entries:
        pf = outputs.parquet_file(outputs.join(out_dir, entry["path"]))
        for i in range(pf.num_row_groups):
            yield pf.read_row_group(i, columns=columns)


def summarize_corpus(out_dir: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    kept: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    redacted: Counter[str] = Counter()
    chars = 0
    for table in _iter_columns(out_dir, entries, ["source", "language", "signals", "text"]):
        kept.update(table.column("source").to_pylist())
        languages.update(lang or "und" for lang in table.column("language").to_pylist())
        chars += int(pc.sum(pc.utf8_length(table.column("text"))).as_py() or 0)
        signals = pc.list_flatten(table.column("signals"))
        if len(signals):
            names = pc.struct_field(signals, "name")
            mask = pc.starts_with(names, "redacted_")
            for name, value in zip(
                pc.filter(names, mask).to_pylist(), pc.filter(pc.struct_field(signals, "value"), mask).to_pylist()
            ):
                redacted[name.removeprefix("redacted_")] += int(value or 0)
    return {"kept": dict(sorted(kept.items())), "languages": dict(languages.most_common()),
            "redacted": dict(sorted(redacted.items())), "characters": chars}


def summarize_rejected(out_dir: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_step: dict[str, Counter[str]] = defaultdict(Counter)
    by_source: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for table in _iter_columns(out_dir, entries, ["source", "step", "reason"]):
        for source, step, reason in zip(*(table.column(c).to_pylist() for c in ("source", "step", "reason"))):
            by_step[step][reason] += 1
            by_source[source][step][reason] += 1
    return {
        "rejected": {s: dict(sorted(c.items())) for s, c in sorted(by_step.items())},
        "rejected_by_source": {
            src: {s: dict(sorted(c.items())) for s, c in sorted(steps.items())} for src, steps in sorted(by_source.items())
        },
    }


def summarize_failed(out_dir: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_step: Counter[str] = Counter()
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    with_id = 0
    for table in _iter_columns(out_dir, entries, ["source", "step", "id"]):
        for source, step, id_ in zip(*(table.column(c).to_pylist() for c in ("source", "step", "id"))):
            by_step[step] += 1
            by_source[source][step] += 1
            with_id += step != "read"
    return {
        "failed": dict(sorted(by_step.items())),
        "failed_by_source": {src: dict(sorted(c.items())) for src, c in sorted(by_source.items())},
    }


def funnel(stage_counts: dict[str, dict[str, int]], kept_total: int) -> list[dict[str, Any]]:
    order = ["read", "steps", "exact_dedup", "minhash_dedup"]
    stages = []
    previous = None
    for stage in order:
        if stage not in stage_counts and stage != "read":
            continue
        n = sum(stage_counts.get(stage, {}).values())
        stages.append({"stage": stage, "in": previous if previous is not None else n, "out": n})
        previous = n
    stages.append({"stage": "written", "in": previous or 0, "out": kept_total})
    return stages


def corpus_shards(out_dir: str, plan: RunPlan) -> dict[str, list[dict[str, Any]]]:
    """The record shards of a finished corpus pipeline, completed and described."""
    counts = {"corpus": plan.output.shards, "rejected": plan.output.rejected_shards, "failed": plan.output.failed_shards}
    return {kind: outputs.finalize_shards(out_dir, kind, count) for kind, count in counts.items()}


def read_stage_counts(out_dir: str) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = outputs.read_json(outputs.join(out_dir, outputs.STAGE_COUNTS))
    return counts


def build_manifest(out_dir: str, plan: RunPlan) -> dict[str, Any]:
    """The manifest of the corpus stage (`tokenizer` null until that stage adds itself)."""
    shards = corpus_shards(out_dir, plan)
    stage_counts = read_stage_counts(out_dir)
    corpus = summarize_corpus(out_dir, shards["corpus"])
    rejected = summarize_rejected(out_dir, shards["rejected"])
    failed = summarize_failed(out_dir, shards["failed"])
    read = dict(sorted(stage_counts.get("read", {}).items()))
    read_total = sum(read.values())
    kept_total = sum(corpus["kept"].values())
    rejected_after_read = sum(n for step, c in rejected["rejected"].items() if step != "read" for n in c.values())
    rejected_at_read = sum(rejected["rejected"].get("read", {}).values())
    failed_after_read = sum(n for step, n in failed["failed"].items() if step != "read")
    failed_at_read = failed["failed"].get("read", 0)
    accounting = {
        "documents_read": read_total,
        "kept": kept_total,
        "rejected": rejected_after_read,
        "failed": failed_after_read,
        "balanced": read_total == kept_total + rejected_after_read + failed_after_read,
        "records_rejected_by_readers": rejected_at_read,
        "records_failed_in_readers": failed_at_read,
        "input_records": read_total + rejected_at_read + failed_at_read,
    }
    return {
        "corpusmill_version": package_versions()["corpusmill"],
        "plan": plan.to_json(),
        "versions": package_versions(),
        "counts": {
            "read": read,
            "kept": corpus["kept"],
            **rejected,
            **failed,
            "redacted": corpus["redacted"],
        },
        "accounting": accounting,
        "languages": corpus["languages"],
        "characters": corpus["characters"],
        "stages": funnel(stage_counts, kept_total),
        "shards": shards,
        "tokenizer": None,
    }


def corpus_checksum(manifest: dict[str, Any]) -> str:
    """One checksum over the corpus shards (their sha256s in shard order)."""
    h = hashlib.sha256()
    for entry in manifest["shards"]["corpus"]:
        h.update(f"{entry['path']}:{entry['sha256']}\n".encode())
    return h.hexdigest()


def read_plan(manifest: dict[str, Any]) -> RunPlan:
    """The run plan a manifest records, through the same model that made it. Raises
    schemas.outputs.NotARun (one line) when it records none this version can read."""
    version = manifest.get("corpusmill_version", "an unknown version")
    if not isinstance(manifest.get("plan"), dict):
        raise outputs.NotARun(f"{outputs.MANIFEST} records no run plan (written by corpusmill {version}); rerun the workflow")
    try:
        return RunPlan.model_validate(manifest["plan"])
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise outputs.NotARun(
            f"{outputs.MANIFEST}: plan.{where}: {first['msg']} (written by corpusmill {version}); rerun the workflow"
        ) from None
