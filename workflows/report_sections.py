"""The sections of the run report: each a function from the run's files to a piece of HTML.

- `funnel_section`: the funnel of documents per source: read, then what each step dropped,
  then kept; a table of drop reasons per source (manifest counters);
- `stages_section`: documents in / out, wall time and throughput per stage (manifest
  `stages`, run_info.json);
- `languages_section` (manifest `languages`), `lengths_section` (log-scale histogram per
  source), `clusters_section` (duplicate cluster sizes and the dedup counters),
  `signals_section` (scores of annotated steps and flag counts);
- `tokenizer_section`: tokenizer fertility per language / source (`tokenizer/report.json`,
  when present);
- `examples_section`: a few example rejected documents per (step, reason) (`text_preview`);
- `validation_section`: the validation outcome (`validation/results.json`, when
  `corpusmill validate` ran).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from corpusmill.pipelines.plan import RunPlan
from corpusmill.schemas import outputs
from corpusmill.workflows.report_data import LENGTH_EDGES, CorpusStats, load_json, rejected_examples, token_totals
from corpusmill.workflows.report_html import PALETTE, bar_chart, escape, fmt, funnel_chart, histogram, html_table


def _step_order(steps: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Steps in pipeline order: `read`, the source's planned steps, then the others that
    rejected something (dedup stages), sorted."""
    names: list[str] = ["read"]
    names += [name for name in dict.fromkeys(steps) if name not in names]
    seen = set(seen)
    return [n for n in names if n in seen or n == "read"] + sorted(seen - set(names))


def funnel_section(manifest: Mapping[str, Any], plan: RunPlan) -> str:
    counts = manifest.get("counts") or {}
    read = counts.get("read") or {}
    kept = counts.get("kept") or {}
    by_source = counts.get("rejected_by_source") or {}
    failed_by_source = counts.get("failed_by_source") or {}
    parts = []
    stages = manifest.get("stages") or []
    if stages:
        parts.append("<h3>All sources, by stage</h3>")
        parts.append(funnel_chart([(str(s.get("stage")), int(s.get("out") or 0), int(s.get("in") or 0) - int(s.get("out") or 0))
                                   for s in stages if isinstance(s, Mapping)]))
    per_source: dict[str, list[str]] = {}
    for source in plan.sources:
        per_source.setdefault(source.label, []).extend(spec.step for spec in source.steps)
    sources = sorted(set(read) | set(kept) | set(by_source))
    for src in sources:
        rejected = by_source.get(src) or {}
        failed = failed_by_source.get(src) or {}
        order = _step_order(per_source.get(src, []), set(rejected) | set(failed))
        # records a reader rejected (not a document: a redirect, a binary file) or failed on are
        # not counted in `read`: they show as the input records above it
        at_reader = sum(int(n) for n in (rejected.get("read") or {}).values()) + int(failed.get("read", 0) or 0)
        remaining = int(read.get(src, 0))
        steps = [("input records", remaining + at_reader, 0)] if at_reader else []
        steps.append(("read", remaining, at_reader))
        for step in order:
            if step == "read":
                continue
            dropped = sum(int(n) for n in (rejected.get(step) or {}).values()) + int(failed.get(step, 0) or 0)
            remaining -= dropped
            steps.append((step, remaining, dropped))
        steps.append(("kept", int(kept.get(src, 0)), 0))
        n_read = int(read.get(src, 0))

        def share(step: str, n: int) -> str:  # reader verdicts are shares of input records
            if step == "read":
                return f"{100 * n / max(1, n_read + at_reader):.1f} % of input records"
            return f"{100 * n / max(1, n_read):.1f} % of read"

        reasons = [
            (step, reason, int(n), share(step, int(n)))
            for step in order for reason, n in sorted((rejected.get(step) or {}).items(), key=lambda kv: (-int(kv[1]), kv[0]))
        ] + [(step, "failed", int(n), share(step, int(n))) for step, n in sorted(failed.items())]
        table = html_table(["step", "reason", "records", "share"], reasons, numeric={2, 3}) if reasons else '<p class="empty">nothing dropped</p>'
        parts.append(f'<div class="source"><h3>{escape(src)}</h3>{funnel_chart(steps)}{table}</div>')
    if not parts:
        return '<p class="empty">no counters in manifest.json</p>'
    return "".join(parts)


def stages_section(manifest: Mapping[str, Any], run_info: Mapping[str, Any] | None) -> str:
    stages = [s for s in manifest.get("stages") or [] if isinstance(s, Mapping)]
    seconds = (run_info or {}).get("stage_seconds") or {}
    names = [str(s.get("stage")) for s in stages] + [k for k in seconds if k not in {str(s.get("stage")) for s in stages}]
    by_name = {str(s.get("stage")): s for s in stages}
    rows = []
    for name in names:
        s = by_name.get(name, {})
        secs = seconds.get(name)
        n_in = s.get("in")
        rate = f"{n_in / secs:,.0f}" if secs and n_in else ""
        rows.append((name, n_in if n_in is not None else "", s.get("out", ""), f"{secs:.2f}" if isinstance(secs, (int, float)) else "", rate))
    body = ""
    if seconds:
        body += bar_chart([(k, float(v)) for k, v in seconds.items() if isinstance(v, (int, float))], unit=" s", color=PALETTE[1])
    body += html_table(["stage", "documents in", "documents out", "seconds", "documents / s"], rows, numeric={1, 2})
    if run_info:
        meta = [(k, run_info.get(k)) for k in ("started", "finished", "wall_seconds", "runner", "workers") if run_info.get(k) is not None]
        body += html_table(["run", "value"], meta)
    else:
        body += '<p class="empty">run_info.json not found: no timings</p>'
    return body


def languages_section(manifest: Mapping[str, Any], stats: CorpusStats) -> str:
    langs = manifest.get("languages") or dict(stats.languages)
    items = sorted(((str(k), int(v)) for k, v in langs.items()), key=lambda kv: (-kv[1], kv[0]))
    total = sum(v for _, v in items) or 1
    return bar_chart(items[:40], notes=[f"({100 * v / total:.1f} %)" for _, v in items[:40]], color=PALETTE[2])


def _length_label(i: int) -> str:
    lo = LENGTH_EDGES[i]
    if i + 1 < len(LENGTH_EDGES):
        return f"<{_short(LENGTH_EDGES[i + 1])}" if lo == 0 else f"{_short(lo)}+"
    return f"{_short(lo)}+"


def _short(n: float) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:g}"


def lengths_section(stats: CorpusStats) -> str:
    if not stats.lengths:
        return '<p class="empty">no corpus shards</p>'
    parts = []
    for i, (src, hist) in enumerate(sorted(stats.lengths.items())):
        last = max((k for k, c in enumerate(hist) if c), default=0)
        first = min((k for k, c in enumerate(hist) if c), default=0)
        labels = [_length_label(k) for k in range(first, last + 1)]
        docs = stats.docs[src]
        mean = stats.chars[src] / max(1, docs)
        parts.append(
            f'<div class="source"><h3>{escape(src)} <small>{escape(fmt(docs))} documents, mean {escape(fmt(round(mean)))} characters</small></h3>'
            + histogram(labels, hist[first:last + 1], color=PALETTE[i % len(PALETTE)], title="characters per document (log bins)")
            + "</div>"
        )
    return "".join(parts)


DEDUP_COUNTERS = (
    ("dedup.minhash_documents", "documents signed"),
    ("dedup.candidate_edges", "candidate edges from LSH buckets (a pair counts once per shared band)"),
    ("dedup.verified_edges", "distinct pairs verified as near duplicates"),
    ("dedup.unverified_edges", "distinct pairs rejected by verification"),
    ("dedup.direct_extra_survivors", "extra survivors from splitting components (direct linkage)"),
    ("dedup.transitive_clusters", "components too large to split (kept transitive)"),
    ("dedup.oversized_buckets", "LSH buckets over max_bucket_size (ignored)"),
    ("dedup.cc_unconverged_nodes", "nodes whose components did not converge (kept)"),
    ("dedup.minhash_rejected", "documents removed as near duplicates"),
    ("dedup.exact_rejected", "documents removed as exact duplicates"),
)


def dedup_counters_table(run_info: Mapping[str, Any] | None) -> str:
    """The dedup stage's Beam counters from run_info.json (absent when the runner reports none
    or the corpus stage was resumed)."""
    counters = (run_info or {}).get("beam_counters") or {}
    rows = [(label, counters[key]) for key, label in DEDUP_COUNTERS if key in counters]
    return html_table(["MinHash dedup", "count"], rows, numeric={1}) if rows else ""


def clusters_section(stats: CorpusStats, run_info: Mapping[str, Any] | None = None) -> str:
    if not stats.cluster_sizes:
        return '<p class="empty">no cluster_size values (dedup did not annotate clusters)</p>' + dedup_counters_table(run_info)
    bins: Counter = Counter()
    for size, n in stats.cluster_sizes.items():
        size = int(size)
        if size <= 4:
            bins[str(size)] += n
        else:
            lo = 2 ** int(math.floor(math.log2(size - 1)))
            bins[f"{lo + 1}-{2 * lo}"] += n
    labels = sorted(bins, key=lambda s: int(s.split("-")[0]))
    chart = histogram(labels, [bins[k] for k in labels], color=PALETTE[4], title="kept documents by the size of their duplicate cluster")
    return chart + dedup_counters_table(run_info)


def signals_section(stats: CorpusStats) -> str:
    parts = []
    for i, (name, dec) in enumerate(sorted(stats.signals.items())):
        if not dec.values:
            continue
        lo, hi = dec.lo, dec.hi
        nbins = 20
        if hi <= lo:
            counts = [len(dec.values)]
            labels = [fmt(lo)]
        elif all(float(v).is_integer() for v in dec.values) and hi - lo <= 30:  # small counts: one bin per value
            per_value = Counter(int(v) for v in dec.values)
            labels = [str(v) for v in range(int(lo), int(hi) + 1)]
            counts = [per_value[v] for v in range(int(lo), int(hi) + 1)]
        else:
            counts_arr, edges = np.histogram(np.array(dec.values), bins=nbins, range=(lo, hi))
            counts = [int(c) for c in counts_arr]
            labels = [fmt(round(float(e), 3)) for e in edges[:-1]]
        sampled = "" if dec.stride == 1 else f", histogram of {len(dec.values):,} evenly taken values"
        parts.append(
            f'<div class="signal"><h3>{escape(name)} <small>{escape(fmt(dec.seen))} values, min {escape(fmt(lo))}, max {escape(fmt(hi))}{escape(sampled)}</small></h3>'
            + histogram(labels, counts, color=PALETTE[(i + 5) % len(PALETTE)])
            + "</div>"
        )
    if stats.flags:
        items = sorted(stats.flags.items(), key=lambda kv: (-kv[1], kv[0]))
        parts.append("<h3>Flags of steps in annotate mode</h3>" + bar_chart(items[:40], color=PALETTE[6]))
    return "".join(parts) or '<p class="empty">no signals or flags in the corpus</p>'


def _numeric_maps(data: Any, path: str = "") -> list[tuple[str, dict[str, float]]]:
    """Every mapping of name -> number in a JSON document, with its dotted path."""
    found: list[tuple[str, dict[str, float]]] = []
    if isinstance(data, Mapping):
        numbers = {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numbers and len(numbers) == len(data) and len(numbers) > 0 and path:
            found.append((path, numbers))
        for k, v in data.items():
            if isinstance(v, (Mapping, list)):
                found += _numeric_maps(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _numeric_maps(v, f"{path}[{i}]")
    return found


def _grouped_metrics(report: Mapping[str, Any], key: str) -> dict[str, dict[str, Mapping[str, Any]]]:
    """tokenizer -> group -> metrics, from report[key] = {group: {tokenizer: {metric: value}}}
    (the layout of tokenizer/report.py's by_language / by_source)."""
    out: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    groups = report.get(key)
    if not isinstance(groups, Mapping):
        return {}
    for group, per_tok in groups.items():
        if not isinstance(per_tok, Mapping):
            continue
        for tok, metrics in per_tok.items():
            if isinstance(metrics, Mapping) and isinstance(metrics.get("fertility"), (int, float)):
                out[str(tok)][str(group)] = metrics
    return dict(out)


def tokenizer_section(out: str, manifest: Mapping[str, Any]) -> str:
    report = load_json(outputs.join(out, "tokenizer", "report.json"))
    info = manifest.get("tokenizer")
    if report is None and not info:
        return '<p class="empty">no tokenizer in this run</p>'
    parts = []
    if isinstance(info, Mapping):
        shown = [(k, v) for k, v in sorted(info.items()) if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        parts.append(html_table(["tokenizer", "value"], shown))
    rows, tokens = token_totals(out)
    if rows:
        parts.append(f"<p>{escape(fmt(tokens))} tokens in {escape(fmt(rows))} token rows.</p>")
    report = report if isinstance(report, Mapping) else {}
    charts = 0
    for key, what in (("by_language", "language"), ("by_source", "source")):
        for i, (tok, groups) in enumerate(sorted(_grouped_metrics(report, key).items())):
            items = sorted(((g, float(m["fertility"])) for g, m in groups.items()), key=lambda kv: (-kv[1], kv[0]))
            notes = [f"tokens / {groups[g].get('fertility_unit', 'unit')}" for g, _ in items]
            parts.append(f"<h3>Fertility per {escape(what)} <small>{escape(tok)} tokenizer</small></h3>"
                         + bar_chart(items[:60], notes=notes[:60], color=PALETTE[(i + 1) % len(PALETTE)]))
            charts += 1
    if not charts:  # another layout: chart every mapping of name -> number that mentions fertility
        maps = _numeric_maps(report)
        for i, (p, m) in enumerate([(p, m) for p, m in maps if "fertility" in p.lower()][:8]):
            items = sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))
            parts.append(f"<h3>{escape(p)}</h3>" + bar_chart(items[:60], color=PALETTE[(i + 1) % len(PALETTE)]))
    return "".join(parts)


def examples_section(out: str, manifest: Mapping[str, Any]) -> str:
    rejected = (manifest.get("counts") or {}).get("rejected") or {}
    wanted = {(s, r) for s, by in rejected.items() if isinstance(by, Mapping) for r in by}
    examples = rejected_examples(out, wanted or None)
    if not examples:
        return '<p class="empty">no rejected documents</p>'
    parts = []
    for (step, reason), rows in sorted(examples.items()):
        total = (rejected.get(step) or {}).get(reason)
        noun = "record" if int(total or 0) == 1 else "records"
        parts.append(f'<h3>{escape(step)} / {escape(reason)}' + (f" <small>{escape(fmt(int(total)))} {noun}</small>" if total else "") + "</h3>")
        for row in rows:
            meta = " · ".join(escape(x) for x in (row.get("source"), row.get("url") or row.get("location"), row.get("detail")) if x)
            parts.append(f'<div class="example"><div class="meta">{meta}</div><pre>{escape(row.get("text_preview") or "")}</pre></div>')
    return "".join(parts)


def validation_section(out: str) -> str:
    results = load_json(outputs.join(out, "validation", "results.json"))
    if not isinstance(results, Mapping):
        return '<p class="empty">not validated (run <code>corpusmill validate</code>)</p>'
    failed = [c for c in results.get("checks") or [] if not c.get("success")]
    status = "passed" if results.get("success") else "FAILED"
    cls = "ok" if results.get("success") else "bad"
    body = (f'<p class="{cls}">Validation {status}: {escape(fmt(int(results.get("evaluated") or 0)))} expectations on '
            f'{escape(fmt(int(results.get("shards") or 0)))} shards, {escape(len(failed))} failed'
            + (f", sampled {escape(results['sample_rows'])} rows per shard" if results.get("sample_rows") else "")
            + '. <a href="../validation/data_docs/index.html">great-expectations Data Docs</a>'
            + ' · <a href="../validation/results.json">results.json</a></p>')
    if failed:
        body += html_table(["expectation", "shard", "details"], [(c.get("expectation"), c.get("shard"), c.get("details")) for c in failed[:50]])
    return body
