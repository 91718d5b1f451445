"""A concise terminal summary of a run, from its output directory.

`summary_lines(OUT)` reads `manifest.json` (counters, shards), `run_info.json` (wall time),
`validation/results.json` and the file sizes under OUT; it never opens a shard. Lines:
documents read / kept / rejected (by step and reason, largest first) / failed, records the
readers skipped as not documents, output size and shard counts, the tokenizer, wall time,
the validation outcome, and where the report is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from corpusmill.schemas import outputs

TOP_REASONS = 6


def _load(path: str) -> Any:
    return outputs.read_json_or_none(str(path))


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def summary_lines(output_dir: str | Path) -> list[str]:
    """Lines to print after a run (no trailing newlines)."""
    out = str(output_dir)
    manifest = _load(outputs.join(out, "manifest.json"))
    if not isinstance(manifest, Mapping):
        return [f"corpusmill: no manifest.json in {out}"]
    counts = manifest.get("counts") or {}
    read = {str(k): int(v) for k, v in (counts.get("read") or {}).items()}
    kept = {str(k): int(v) for k, v in (counts.get("kept") or {}).items()}
    rejected = {
        (str(step), str(reason)): int(n)
        for step, by in (counts.get("rejected") or {}).items()
        if isinstance(by, Mapping)
        for reason, n in by.items()
    }
    failed = {str(k): int(v) for k, v in (counts.get("failed") or {}).items()}
    # records a reader rejected (redirects, binary files, ...) never became documents: apart
    at_reader = {k: n for k, n in rejected.items() if k[0] == "read"}
    rejected = {k: n for k, n in rejected.items() if k[0] != "read"}
    n_read, n_kept, n_rej, n_fail = sum(read.values()), sum(kept.values()), sum(rejected.values()), sum(failed.values())

    lines = [f"corpusmill run -> {out}"]
    per_source = ", ".join(f"{k} {v:,}" for k, v in sorted(read.items()))
    lines.append(f"  read      {n_read:>12,}" + (f"   ({per_source})" if per_source else ""))
    lines.append(f"  kept      {n_kept:>12,}   ({_pct(n_kept, n_read)} of read)")
    top = sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))
    reasons = ", ".join(f"{s}/{r} {n:,}" for (s, r), n in top[:TOP_REASONS])
    if len(top) > TOP_REASONS:
        reasons += f", {len(top) - TOP_REASONS} more"
    lines.append(f"  rejected  {n_rej:>12,}" + (f"   ({reasons})" if reasons else ""))
    if at_reader:
        top = sorted(at_reader.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{r} {n:,}" for (_, r), n in top[:TOP_REASONS]) + (f", {len(top) - TOP_REASONS} more" if len(top) > TOP_REASONS else "")
        lines.append(f"  skipped   {sum(at_reader.values()):>12,}   records that are not documents ({kinds})")
    lines.append(f"  failed    {n_fail:>12,}" + (f"   ({', '.join(f'{k} {v:,}' for k, v in sorted(failed.items()))})" if failed else ""))

    shards = manifest.get("shards") or {}
    shard_counts = ", ".join(f"{kind} {len(v)}" for kind, v in shards.items() if isinstance(v, list) and v)
    total = outputs.tree_size(str(out))
    lines.append(f"  output    {_size(total):>12}   ({shard_counts} shards)" if shard_counts else f"  output    {_size(total):>12}")
    tok = manifest.get("tokenizer")
    if isinstance(tok, Mapping) and tok:
        shown = [f"{k} {tok[k]}" for k in ("model_type", "vocab_size") if k in tok]
        lines.append("  tokenizer " + ", ".join(shown) + f" -> {outputs.join(out, 'tokenizer')}")
    run_info = _load(outputs.join(out, "run_info.json"))
    if isinstance(run_info, Mapping) and isinstance(run_info.get("wall_seconds"), (int, float)):
        lines.append(f"  wall time {run_info['wall_seconds']:>10.1f} s")
    results = _load(outputs.join(out, "validation", "results.json"))
    if isinstance(results, Mapping):
        if results.get("success"):
            lines.append(f"  validation passed ({results.get('evaluated', 0)} expectations)")
        else:
            lines.append(
                f"  validation FAILED: {results.get('failed', '?')} of {results.get('evaluated', '?')} expectations"
                f" -> {outputs.join(out, 'validation', 'results.json')}"
            )
            for check in [c for c in results.get("checks") or [] if not c.get("success")][:5]:
                lines.append(f"    {check.get('expectation')} on {check.get('shard')}: {str(check.get('details'))[:160]}")
    report = outputs.join(out, "report", "index.html")
    lines.append(f"  report    {report}" if outputs.is_file(report) else "  report    (not rendered)")
    return lines


__all__ = ["summary_lines"]
