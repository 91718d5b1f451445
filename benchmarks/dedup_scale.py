"""Scale of ExactDedup + MinHashDedup on synthetic near-duplicate corpora: wall time, CPU
time and peak memory per corpus size (each size in its own process, FnApiRunner in-process,
one worker), to check that growth is close to linear.

Corpus (generated inside the pipeline, deterministic, `SHARDS` shards): documents of 80..240
words drawn from a 50,000-word Zipf vocabulary; 70 % originals, 10 % exact copies of an
original, 20 % near copies (1-3 % of words replaced). The planted
duplicates give the expected number of removals, reported next to the measured one.

Usage: python -m benchmarks.dedup_scale [N ...]   (default 100000 300000)
Writes benchmarks/results/dedup_scale.{json,md}.
"""

from __future__ import annotations

import functools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks import provenance
from corpusmill.schemas.document import Document

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARDS = 64
VOCAB = 50_000


@functools.lru_cache(maxsize=1)
def _vocab() -> np.ndarray:
    """The 50,000-word vocabulary, built once per process (building it took ~0.6 CPU-s, which
    was counted 64 times, once per shard, in the figures of the first runs)."""
    rng = np.random.default_rng(12345)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 10, VOCAB)
    return np.array(["".join(rng.choice(letters, n)) for n in lengths])


def _original(seed: int, vocab: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(80, 240))
    return (rng.zipf(1.2, n) - 1) % VOCAB


def generate(shard: int, n_docs: int) -> Iterator[Document]:
    """Documents of one shard; document k is original, exact copy or near copy by k % 10."""
    vocab = _vocab()
    for k in range(shard, n_docs, SHARDS):
        kind = k % 10
        if kind < 7:
            words = _original(k, vocab)
        else:
            source = (k // 10) * 10 + (k % 7)  # an original in the same block of 10
            words = _original(source, vocab)
            if kind >= 8:
                rng = np.random.default_rng(k + 7)
                words = words.copy()
                edits = max(1, int(len(words) * rng.uniform(0.01, 0.03)))
                words[rng.integers(0, len(words), edits)] = rng.integers(0, VOCAB, edits)
        yield Document(id=f"doc{k:08d}", text=" ".join(vocab[words]), source="synthetic", location=f"synthetic#{k}")


def expected_removals(n_docs: int) -> int:
    """Documents whose source original is inside the corpus."""
    return sum(1 for k in range(n_docs) if k % 10 >= 7)


def run_size(n_docs: int) -> dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
    from corpusmill.pipelines.transforms.dedup import ExactDedup, MinHashDedup

    tmp = tempfile.mkdtemp()
    t0, c0 = time.perf_counter(), time.process_time()
    with beam.Pipeline(options=PipelineOptions(["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner"])) as p:
        docs = p | beam.Create(list(range(SHARDS))) | beam.FlatMap(generate, n_docs)
        exact = docs | ExactDedup(ExactConfig())
        near = exact.kept | MinHashDedup(MinHashConfig())
        counts = (
            (
                exact.rejected | "ExactTag" >> beam.Map(lambda _: "exact_rejected"),
                near.rejected | "NearTag" >> beam.Map(lambda _: "minhash_rejected"),
                near.kept | "KeptTag" >> beam.Map(lambda _: "kept"),
            )
            | beam.Flatten()
            | beam.combiners.Count.PerElement()
            | beam.MapTuple(lambda k, v: f"{k}\t{v}")
        )
        counts | beam.io.WriteToText(f"{tmp}/counts")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    got = {}
    for f in Path(tmp).glob("counts*"):
        for line in f.read_text().splitlines():
            k, v = line.split("\t")
            got[k] = int(v)
    return {
        "documents": n_docs,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "docs_per_wall_s": round(n_docs / wall, 1),
        "expected_removed": expected_removals(n_docs),
        "config": {"linkage": MinHashConfig().linkage, "band_rows": list(MinHashConfig().band_rows)},
        **got,
    }


def main(sizes: list[int] | None = None) -> dict:
    sizes = sizes or [100_000, 300_000]
    runs = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-c", f"import json; from benchmarks.dedup_scale import run_size; print(json.dumps(run_size({n})))"],
            capture_output=True, text=True, cwd=ROOT,
        )
        if out.returncode != 0:
            runs.append({"documents": n, "error": out.stderr[-3000:]})
        else:
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(runs[-1], flush=True)
    previous = RESULTS / "dedup_scale.json"
    if previous.exists():  # keep other sizes measured earlier (this run's sizes replace theirs)
        done = {r["documents"] for r in runs}
        runs = [r for r in json.loads(previous.read_text())["runs"] if r["documents"] not in done] + runs
        runs.sort(key=lambda r: r["documents"])
    results = {"runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    provenance.write_json(RESULTS / "dedup_scale.json", results)
    write_markdown(results)
    return results


def write_markdown(results: dict) -> None:
    lines = [
        "# dedup_scale: ExactDedup + MinHashDedup on synthetic near-duplicate corpora",
        "",
        "FnApiRunner, one in-process worker, on a shared 2-core machine (wall times are noisy;",
        "CPU seconds are the steadier figure). Settings: ExactConfig() and MinHashConfig() defaults",
        "at the time of each run (`config` in dedup_scale.json).",
        "",
        "| documents | wall s | CPU s | docs / CPU s | peak RSS MB | removed exact | removed near | expected removed | kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        if "error" in r:
            lines.append(f"| {r['documents']} | error | | | | | | | |")
            continue
        lines.append(
            f"| {r['documents']} | {r['wall_s']} | {r['cpu_s']} | {round(r['documents'] / r['cpu_s'])} | {r['peak_rss_mb']} | "
            f"{r.get('exact_rejected', 0)} | {r.get('minhash_rejected', 0)} | {r['expected_removed']} | {r.get('kept', 0)} |"
        )
    lines += ["", "Generated by `python -m benchmarks.dedup_scale [N ...]`."]
    provenance.write_markdown(RESULTS / "dedup_scale.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    sys.exit(0 if main(args or None) else 1)
