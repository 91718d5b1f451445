"""The run report: one static HTML page, `OUT/report/index.html`, that opens offline.

No JavaScript, no external CSS, fonts or images: every chart is an inline SVG drawn here.
Every string from the data (source names, reasons, previews of rejected texts, URLs) is
HTML-escaped. The page shows, from the files of an output directory:

- totals (read, kept, rejected, failed, tokens, output size, wall time) and the validation
  outcome (`validation/results.json`, when `corpusmill validate` ran);
- the funnel of documents per source: read, then what each step dropped, then kept; a
  table of drop reasons per source (manifest counters);
- stages: documents in / out, wall time and throughput (manifest `stages`, run_info.json);
- languages (manifest `languages`); document lengths per source (log-scale histogram);
  duplicate cluster sizes (`cluster_size`); score distributions of annotated steps
  (`signals`) and flag counts (`flags`) -- all read from the corpus shards batch by batch,
  a few columns at a time, with bounded memory (texts reduced to their lengths per batch);
- tokenizer fertility per language / source (`tokenizer/report.json`, when present);
- a few example rejected documents per (step, reason) (`text_preview`).

Optional parts (tokens, tokenizer, run_info.json, validation results) are shown when present.
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.pipelines.plan import RunPlan
from corpusmill.schemas import outputs
from corpusmill.workflows.manifest import read_plan

BATCH_ROWS = 2048
EXAMPLES_PER_REASON = 3
SIGNAL_SAMPLE = 20_000  # values kept per signal for its histogram (decimated beyond)
LENGTH_EDGES = [0] + [int(round(10 ** (k / 2))) for k in range(2, 15)]  # 0, 10, 32, 100, ... 10M
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


# ----------------------------------------------------------------------------- reading


def _load_json(path: str) -> Any:
    return outputs.read_json_or_none(str(path))


def _shards(out: str, kind: str) -> list[str]:
    return [outputs.join(out, kind, name) for name in outputs.list_dir(str(outputs.join(out, kind))) if name.endswith(".parquet")]


def _batches(path: str, columns: Sequence[str]) -> Iterable[pa.RecordBatch]:
    """Batches of the columns present in the shard (an unreadable shard yields nothing)."""
    try:
        pf = outputs.parquet_file(str(path))
    except (OSError, pa.ArrowException):
        return
    present = [c for c in columns if c in pf.schema_arrow.names]
    if not present:
        return
    yield from pf.iter_batches(batch_size=BATCH_ROWS, columns=present)


class Decimated:
    """A bounded, deterministic sample of a stream of numbers: keeps every value until `cap`,
    then every 2nd, 4th, ... (halving what it holds each time it fills). Exact min/max/count."""

    def __init__(self, cap: int = SIGNAL_SAMPLE) -> None:
        self.cap = cap
        self.stride = 1
        self.seen = 0
        self.values: list[float] = []
        self.lo = math.inf
        self.hi = -math.inf

    def extend(self, values: Iterable[float]) -> None:
        for v in values:
            if v is None or not math.isfinite(v):
                continue
            self.lo = min(self.lo, v)
            self.hi = max(self.hi, v)
            if self.seen % self.stride == 0:
                self.values.append(v)
                if len(self.values) >= self.cap:
                    self.values = self.values[::2]
                    self.stride *= 2
            self.seen += 1


@dataclass
class CorpusStats:
    lengths: dict[str, list[int]] = field(default_factory=dict)  # source -> counts per LENGTH_EDGES bin
    chars: Counter = field(default_factory=Counter)  # source -> characters
    docs: Counter = field(default_factory=Counter)  # source -> documents
    languages: Counter = field(default_factory=Counter)
    cluster_sizes: Counter = field(default_factory=Counter)
    signals: dict[str, Decimated] = field(default_factory=dict)
    flags: Counter = field(default_factory=Counter)


def corpus_stats(out: str) -> CorpusStats:
    """Per-source length histograms, cluster sizes, signals and flags, batch by batch."""
    stats = CorpusStats()
    edges = np.array(LENGTH_EDGES[1:], dtype=np.int64)
    for path in _shards(out, "corpus"):
        for b in _batches(path, ["text", "source", "language", "cluster_size", "flags", "signals"]):
            names = b.schema.names
            n = b.num_rows
            sources = b.column(names.index("source")).to_pylist() if "source" in names else ["?"] * n
            if "text" in names:
                lengths = pc.fill_null(pc.utf8_length(b.column(names.index("text"))), 0).to_numpy(zero_copy_only=False)
                bins = np.searchsorted(edges, lengths, side="right")
                for src, length, k in zip(sources, lengths, bins):
                    src = src or "?"
                    hist = stats.lengths.setdefault(src, [0] * len(LENGTH_EDGES))
                    hist[int(k)] += 1
                    stats.chars[src] += int(length)
            stats.docs.update(s or "?" for s in sources)
            if "language" in names:
                stats.languages.update(lang or "unknown" for lang in b.column(names.index("language")).to_pylist())
            if "cluster_size" in names:
                stats.cluster_sizes.update(v for v in b.column(names.index("cluster_size")).to_pylist() if v is not None)
            if "flags" in names:
                stats.flags.update(pc.list_flatten(b.column(names.index("flags"))).to_pylist())
            if "signals" in names:
                flat = pc.list_flatten(b.column(names.index("signals")))
                if len(flat):
                    sig_names = pc.struct_field(flat, "name").to_pylist()
                    sig_values = pc.struct_field(flat, "value").to_pylist()
                    grouped: dict[str, list[float]] = defaultdict(list)
                    for name, value in zip(sig_names, sig_values):
                        grouped[name].append(value)
                    for name, values in grouped.items():
                        stats.signals.setdefault(name, Decimated()).extend(values)
    return stats


def rejected_examples(out: str, wanted: set[tuple[str, str]] | None = None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The first EXAMPLES_PER_REASON rejections per (step, reason), in shard order. Stops
    reading once every (step, reason) in `wanted` has its examples."""
    examples: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    cols = ["id", "source", "step", "reason", "location", "url", "detail", "text_preview"]
    for path in _shards(out, "rejected"):
        for b in _batches(path, cols):
            names = b.schema.names
            steps = b.column(names.index("step")).to_pylist() if "step" in names else ["?"] * b.num_rows
            reasons = b.column(names.index("reason")).to_pylist() if "reason" in names else ["?"] * b.num_rows
            take = [i for i, key in enumerate(zip(steps, reasons)) if len(examples[key]) < EXAMPLES_PER_REASON]
            if not take:
                continue
            rows = b.take(pa.array(take)).to_pylist()
            for row in rows:
                key = (row.get("step") or "?", row.get("reason") or "?")
                if len(examples[key]) < EXAMPLES_PER_REASON:
                    examples[key].append(row)
            if wanted and all(len(examples[k]) >= EXAMPLES_PER_REASON for k in wanted):
                return dict(examples)
    return {k: v for k, v in examples.items() if v}


def token_totals(out: str) -> tuple[int, int]:
    """(rows, tokens) of the token shards (num_tokens column only)."""
    rows = tokens = 0
    for path in _shards(out, "tokens"):
        for b in _batches(path, ["num_tokens"]):
            rows += b.num_rows
            tokens += int(pc.sum(b.column(0)).as_py() or 0)
    return rows, tokens


def output_bytes(out: str) -> int:
    return outputs.tree_size(str(out), skip=("report",))


# ----------------------------------------------------------------------------- SVG


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(n: float) -> str:
    """1234567 -> '1,234,567'; floats with 3 significant decimals."""
    if isinstance(n, (int, np.integer)) or float(n).is_integer() and abs(n) >= 1:
        return f"{int(n):,}"
    if abs(n) >= 100:
        return f"{n:,.0f}"
    return f"{n:.3g}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label (about 7.2 px per character at 12 px), within 90..380 px."""
    return int(min(380, max(90, 20 + 7.2 * max((len(str(x)) for x in labels), default=0))))


def bar_chart(items: Sequence[tuple[str, float]], *, unit: str = "", color: str = PALETTE[0], label_width: int | None = None,
              width: int = 760, notes: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per (label, value), with the value printed after each bar."""
    if not items:
        return '<p class="empty">nothing to show</p>'
    label_width = label_width or _label_width(label for label, _ in items)
    row = 24
    top = 6
    height = top + row * len(items) + 6
    vmax = max((v for _, v in items), default=0) or 1
    span = width - label_width - 110
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(1.0, span * value / vmax) if value > 0 else 0
        note = f" {notes[i]}" if notes and notes[i] else ""
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="lbl">{_e(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" fill="{color}" rx="2">'
            f'<title>{_e(label)}: {_e(fmt(value))}{_e(unit)}</title></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 16}" class="val">{_e(fmt(value))}{_e(unit)}{_e(note)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(labels: Sequence[str], counts: Sequence[int], *, color: str = PALETTE[0], width: int = 760,
              height: int = 200, title: str = "") -> str:
    """Vertical bars over labelled bins (counts printed above non-empty bins)."""
    if not counts or not any(counts):
        return '<p class="empty">nothing to show</p>'
    left, bottom, top = 40, 44, 34 if title else 18
    n = len(counts)
    slot = min(64.0, (width - left - 10) / n)
    cmax = max(counts) or 1
    plot_h = height - bottom - top
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    if title:
        parts.append(f'<text x="{left}" y="14" class="ttl">{_e(title)}</text>')
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{left + n * slot:.1f}" y2="{height - bottom}" class="axis"/>')
    widest = max((len(str(label)) for label in labels), default=1) * 6.5
    every = max(1, math.ceil(widest / slot))
    for i, (label, c) in enumerate(zip(labels, counts)):
        x = left + i * slot
        h = plot_h * c / cmax
        if c:
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, slot - 4):.1f}" height="{max(h, 1):.1f}" '
                f'fill="{color}"><title>{_e(label)}: {_e(fmt(c))}</title></rect>'
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle" class="val">{_e(fmt(c))}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" class="tick">{_e(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(steps: Sequence[tuple[str, int, int]], *, width: int = 760) -> str:
    """Documents remaining after each step of a source: (label, remaining, dropped here)."""
    if not steps:
        return '<p class="empty">nothing to show</p>'
    row, label_width = 26, _label_width(s[0] for s in steps)
    height = 8 + row * len(steps)
    vmax = max(s[1] + s[2] for s in steps) or 1
    span = width - label_width - 170
    parts = [f'<svg class="chart funnel" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, remaining, dropped) in enumerate(steps):
        y = 4 + i * row
        w_keep = span * remaining / vmax
        w_drop = span * dropped / vmax
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="lbl">{_e(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(w_keep, 0.5):.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
                     f'<title>{_e(label)}: {_e(fmt(remaining))} remain</title></rect>')
        if dropped:
            parts.append(f'<rect x="{label_width + w_keep:.1f}" y="{y + 3}" width="{max(w_drop, 1):.1f}" height="{row - 8}" '
                         f'fill="{PALETTE[3]}" opacity="0.75"><title>{_e(label)}: {_e(fmt(dropped))} dropped</title></rect>')
        text = f"{fmt(remaining)}" + (f"  (−{fmt(dropped)})" if dropped else "")
        parts.append(f'<text x="{label_width + w_keep + w_drop + 6:.1f}" y="{y + 17}" class="val">{_e(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- sections


def _step_order(steps: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Steps in pipeline order: `read`, the source's planned steps, then the others that
    rejected something (dedup stages), sorted."""
    names: list[str] = ["read"]
    names += [name for name in dict.fromkeys(steps) if name not in names]
    seen = set(seen)
    return [n for n in names if n in seen or n == "read"] + sorted(seen - set(names))


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{_e(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_e(fmt(v) if isinstance(v, (int, float)) else v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="empty">none</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


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
        table = _table(["step", "reason", "records", "share"], reasons, numeric={2, 3}) if reasons else '<p class="empty">nothing dropped</p>'
        parts.append(f'<div class="source"><h3>{_e(src)}</h3>{funnel_chart(steps)}{table}</div>')
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
    body += _table(["stage", "documents in", "documents out", "seconds", "documents / s"], rows, numeric={1, 2})
    if run_info:
        meta = [(k, run_info.get(k)) for k in ("started", "finished", "wall_seconds", "runner", "workers") if run_info.get(k) is not None]
        body += _table(["run", "value"], meta)
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
            f'<div class="source"><h3>{_e(src)} <small>{_e(fmt(docs))} documents, mean {_e(fmt(round(mean)))} characters</small></h3>'
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
    return _table(["MinHash dedup", "count"], rows, numeric={1}) if rows else ""


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
            f'<div class="signal"><h3>{_e(name)} <small>{_e(fmt(dec.seen))} values, min {_e(fmt(lo))}, max {_e(fmt(hi))}{_e(sampled)}</small></h3>'
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
    report = _load_json(outputs.join(out, "tokenizer", "report.json"))
    info = manifest.get("tokenizer")
    if report is None and not info:
        return '<p class="empty">no tokenizer in this run</p>'
    parts = []
    if isinstance(info, Mapping):
        shown = [(k, v) for k, v in sorted(info.items()) if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        parts.append(_table(["tokenizer", "value"], shown))
    rows, tokens = token_totals(out)
    if rows:
        parts.append(f"<p>{_e(fmt(tokens))} tokens in {_e(fmt(rows))} token rows.</p>")
    report = report if isinstance(report, Mapping) else {}
    charts = 0
    for key, what in (("by_language", "language"), ("by_source", "source")):
        for i, (tok, groups) in enumerate(sorted(_grouped_metrics(report, key).items())):
            items = sorted(((g, float(m["fertility"])) for g, m in groups.items()), key=lambda kv: (-kv[1], kv[0]))
            notes = [f"tokens / {groups[g].get('fertility_unit', 'unit')}" for g, _ in items]
            parts.append(f"<h3>Fertility per {_e(what)} <small>{_e(tok)} tokenizer</small></h3>"
                         + bar_chart(items[:60], notes=notes[:60], color=PALETTE[(i + 1) % len(PALETTE)]))
            charts += 1
    if not charts:  # another layout: chart every mapping of name -> number that mentions fertility
        maps = _numeric_maps(report)
        for i, (p, m) in enumerate([(p, m) for p, m in maps if "fertility" in p.lower()][:8]):
            items = sorted(m.items(), key=lambda kv: (-kv[1], kv[0]))
            parts.append(f"<h3>{_e(p)}</h3>" + bar_chart(items[:60], color=PALETTE[(i + 1) % len(PALETTE)]))
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
        parts.append(f'<h3>{_e(step)} / {_e(reason)}' + (f" <small>{_e(fmt(int(total)))} {noun}</small>" if total else "") + "</h3>")
        for row in rows:
            meta = " · ".join(_e(x) for x in (row.get("source"), row.get("url") or row.get("location"), row.get("detail")) if x)
            parts.append(f'<div class="example"><div class="meta">{meta}</div><pre>{_e(row.get("text_preview") or "")}</pre></div>')
    return "".join(parts)


def validation_section(out: str) -> str:
    results = _load_json(outputs.join(out, "validation", "results.json"))
    if not isinstance(results, Mapping):
        return '<p class="empty">not validated (run <code>corpusmill validate</code>)</p>'
    failed = [c for c in results.get("checks") or [] if not c.get("success")]
    status = "passed" if results.get("success") else "FAILED"
    cls = "ok" if results.get("success") else "bad"
    body = (f'<p class="{cls}">Validation {status}: {_e(fmt(int(results.get("evaluated") or 0)))} expectations on '
            f'{_e(fmt(int(results.get("shards") or 0)))} shards, {_e(len(failed))} failed'
            + (f", sampled {_e(results['sample_rows'])} rows per shard" if results.get("sample_rows") else "")
            + '. <a href="../validation/data_docs/index.html">great-expectations Data Docs</a>'
            + ' · <a href="../validation/results.json">results.json</a></p>')
    if failed:
        body += _table(["expectation", "shard", "details"], [(c.get("expectation"), c.get("shard"), c.get("details")) for c in failed[:50]])
    return body


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2f3e4e;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cdd6df}
nav{padding:8px 28px;background:#e9edf1;position:sticky;top:0}nav a{margin-right:14px;color:#2f3e4e;text-decoration:none}
main{padding:8px 28px 40px;max-width:1100px}section{background:#fff;border:1px solid #e2e6ea;border-radius:6px;padding:8px 18px 14px;margin:16px 0}
h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:4px}h3{font-size:15px;margin:14px 0 4px}small{color:#777;font-weight:normal}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e2e6ea;border-radius:6px;padding:8px 14px;min-width:120px}
.card strong{display:block;font-size:20px}.card span{color:#666;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;margin:6px 0}svg .lbl{font-size:12px;fill:#333}svg .val{font-size:11px;fill:#555}svg .tick{font-size:10px;fill:#666}
svg .ttl{font-size:12px;fill:#444}svg .axis{stroke:#999;stroke-width:1}
.example{border-left:3px solid #e15759;margin:6px 0 10px;padding:2px 10px;background:#fdf6f6}.example .meta{font-size:12px;color:#666}
pre{white-space:pre-wrap;word-break:break-word;max-height:11em;overflow:auto;margin:4px 0;font-size:12px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.empty{color:#888;font-style:italic}
"""


def _cards(items: Sequence[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(f'<div class="card"><strong>{_e(v)}</strong><span>{_e(k)}</span></div>' for k, v in items) + "</div>"


def render_html(out: str) -> str:
    """The report page for an output directory, as a string (raises schemas.outputs.NotARun
    for a directory without manifest.json)."""
    manifest = outputs.read_manifest(str(out))
    plan = read_plan(manifest)
    run_info = _load_json(outputs.join(out, "run_info.json"))
    run_info = run_info if isinstance(run_info, Mapping) else None
    counts = manifest.get("counts") or {}
    stats = corpus_stats(out)
    read = sum(int(v) for v in (counts.get("read") or {}).values())
    kept = sum(int(v) for v in (counts.get("kept") or {}).values()) if counts.get("kept") else sum(stats.docs.values())
    by_step = {str(k): v for k, v in (counts.get("rejected") or {}).items() if isinstance(v, Mapping)}
    rejected = sum(int(n) for step, by in by_step.items() if step != "read" for n in by.values())
    skipped = sum(int(n) for n in (by_step.get("read") or {}).values())  # reader verdicts: not documents
    failed = sum(int(v) for v in (counts.get("failed") or {}).values())
    cards = [
        ("documents read", fmt(read)),
        ("kept", f"{fmt(kept)} ({100 * kept / read:.1f} %)" if read else fmt(kept)),
        ("rejected", fmt(rejected)),
        ("records skipped by readers", fmt(skipped)),
        ("failed", fmt(failed)),
        ("characters kept", fmt(sum(stats.chars.values()))),
        ("output size", human_bytes(output_bytes(out))),
    ]
    if run_info and isinstance(run_info.get("wall_seconds"), (int, float)):
        cards.append(("wall time", f"{run_info['wall_seconds']:.1f} s"))
    redacted = counts.get("redacted") or {}
    sections = [
        ("validation", "Validation", validation_section(out)),
        ("funnel", "Funnel: documents per stage and drop reason", funnel_section(manifest, plan)),
        ("stages", "Wall time and throughput per stage", stages_section(manifest, run_info)),
        ("languages", "Languages of kept documents", languages_section(manifest, stats)),
        ("lengths", "Document lengths per source", lengths_section(stats)),
        ("clusters", "Duplicate cluster sizes", clusters_section(stats, run_info)),
        ("signals", "Scores of annotated steps", signals_section(stats)),
        ("tokenizer", "Tokenizer", tokenizer_section(out, manifest)),
        ("examples", "Examples of rejected documents", examples_section(out, manifest)),
    ]
    if isinstance(manifest.get("mixture"), Mapping):
        from corpusmill.tokenizer.mixture import report_rows

        mix = manifest["mixture"]
        note = (f"<p>{_e(fmt(mix.get('tokens', 0)))} tokens, largest deviation {100 * mix.get('max_deviation', 0):.2f} % "
                f"of tokens (tolerance {100 * mix.get('tolerance', 0):.0f} %). " + _e(" ".join(mix.get("warnings") or [])) + "</p>")
        sections.insert(-1, ("mixture", "Training mixture", note + _table(*report_rows(mix), numeric={3, 4})))
    if redacted:
        sections.insert(5, ("redacted", "PII redactions", bar_chart(sorted(((str(k), int(v)) for k, v in redacted.items()), key=lambda kv: -kv[1]), color=PALETTE[7])))
    title = ", ".join(dict.fromkeys(source.label for source in plan.sources))
    version = manifest.get("corpusmill_version", "")
    nav = "".join(f'<a href="#{a}">{_e(t.split(":")[0])}</a>' for a, t, _ in sections)
    body = "".join(_section(a, t, b) for a, t, b in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>corpusmill report{(' — ' + _e(title)) if title else ''}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>corpusmill run report{(': ' + _e(title)) if title else ''}</h1>"
        f"<p>{_e(outputs.basename(out))} · corpusmill {_e(version)}</p></header><nav>{nav}</nav><main>"
        f"{_cards(cards)}{body}</main></body></html>\n"
    )


def render_report(output_dir: str | Path) -> Path | str:
    """Write `OUT/report/index.html` for a run's output directory and return its path (a str
    for a remote output: s3://, gs://...)."""
    out = str(output_dir)
    target = outputs.join(out, "report", "index.html")
    outputs.write_text(target, render_html(out))
    return target if outputs.is_remote(target) else Path(target)


__all__ = ["render_html", "render_report"]
