"""What the run report shows, read from the files of an output directory.

From the corpus shards, batch by batch, a few columns at a time, with bounded memory (texts
reduced to their lengths per batch): document lengths per source, languages, duplicate
cluster sizes (`cluster_size`), score distributions of annotated steps (`signals`, a bounded
sample each: `Decimated`) and flag counts (`flags`) -- `corpus_stats`. From the other shards:
a few example rejected documents per (step, reason) (`rejected_examples`), token totals
(`token_totals`). Also the output's size on disk and JSON files read when present
(`load_json`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.schemas import outputs

BATCH_ROWS = 2048
EXAMPLES_PER_REASON = 3
SIGNAL_SAMPLE = 20_000  # values kept per signal for its histogram (decimated beyond)
LENGTH_EDGES = [0] + [int(round(10 ** (k / 2))) for k in range(2, 15)]  # 0, 10, 32, 100, ... 10M


def load_json(path: str) -> Any:
    """The parsed JSON file, or None when it is missing or not JSON."""
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
