"""Whole near-duplicate removal, side by side on one core: corpusmill's MinHashDedup against
datatrove's four-stage MinHash pipeline, text-dedup's `text_dedup.minhash` and a plain
datasketch MinHashLSH loop, all reading the same JSONL corpus and writing the kept documents.

Corpus: dedup_scale's synthetic generator (documents of 80..240 Zipf words; per block of 10,
7 originals, 1 exact copy and 2 near copies with 1-3 % of words replaced), written once per
size to `corpus.jsonl` ({"id", "text"}, in id order, so a copy always comes after its
original) in a temporary directory that every tool reads. Each planted copy forms a pair
with its original, so the expected removals are one per pair (30 % of the documents).

Each tool runs in its own child process, one after the other, single-process settings:
  * corpusmill: ReadFromText -> MinHashDedup(MinHashConfig()) (defaults) -> WriteToText of the
    kept documents; `--runner=FnApiRunner --direct_num_workers=1` (in-process, one worker);
  * datatrove 0.10.1: JsonlReader -> MinhashDedupSignature, MinhashDedupBuckets,
    MinhashDedupCluster, JsonlReader -> MinhashDedupFilter -> JsonlWriter, each stage a
    LocalPipelineExecutor with workers=1 and default MinhashConfig (word 5-grams, 14 buckets x 8
    hashes, xxhash 64-bit). tasks=1 for every stage except the buckets stage, which asserts
    tasks % num_buckets == 0 and so runs 14 tasks (one per bucket) one after the other;
  * text-dedup 0.4.0: `python -m text_dedup.minhash --path json --data_files corpus.jsonl
    --split train --column text --num_proc 1` at its defaults (word 5-grams, 250 permutations,
    threshold 0.7, datasketch-optimal bands, sha1), with HF_DATASETS_OFFLINE/HF_HUB_OFFLINE=1:
    the `json` builder ships with `datasets`, so nothing is fetched;
  * datasketch 2.0.0: for each document in order, word 5-grams of the lowercased
    whitespace-split text, MinHash(num_perm=128).update_batch, MinHashLSH(threshold=0.8).query:
    a hit removes the document, no hit inserts it (first seen survives).

Measured per tool: CPU seconds (user + sys of the child and of the children it waited for,
from os.wait4), wall seconds, peak RSS (ru_maxrss of that child tree's largest process),
removed documents, and against the planted pairs: pairs resolved (exactly one member removed),
pairs missed (both kept), pairs over-removed (both removed), and removals of documents that
have no planted duplicate. The tools use different shingles and thresholds (see `settings` in
the results), so removal counts differ for that reason too, not only by quality.

Usage: python -m benchmarks.dedup_whole [N ...] [--tools corpusmill,datatrove,...]
(default sizes 20000 100000). Writes benchmarks/results/dedup_whole.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.provenance import write_json, write_markdown
from benchmarks.dedup_scale import SHARDS, generate

ROOT = Path(__file__).resolve().parent.parent
BENCH_PY = Path(os.environ.get("CORPUSMILL_BENCH_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))
RESULTS = ROOT / "benchmarks" / "results"
TOOLS = ("corpusmill", "datatrove", "text-dedup", "datasketch")
DEFAULT_SIZES = [20_000, 100_000]
TIMEOUT_S = 3600

DATATROVE_SCRIPT = r"""
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

corpus_dir, work = sys.argv[1], sys.argv[2]
config = MinhashConfig()

def reader():
    return JsonlReader(corpus_dir, glob_pattern="corpus.jsonl", compression=None)

def run(name, pipeline, tasks):
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{name}").run()

run("signatures", [reader(), MinhashDedupSignature(output_folder=f"{work}/signatures", config=config)], 1)
run("buckets", [MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets", config=config)], config.num_buckets)
run("clusters", [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=config)], 1)
run("filter", [reader(), MinhashDedupFilter(input_folder=f"{work}/remove_ids"), JsonlWriter(f"{work}/kept", compression=None)], 1)
"""

DATASKETCH_SCRIPT = r"""
import json, sys
from datasketch import MinHash, MinHashLSH

corpus, out = sys.argv[1], sys.argv[2]
NGRAM, NUM_PERM, THRESHOLD = 5, 128, 0.8
lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
with open(corpus, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as w:
    for line in f:
        row = json.loads(line)
        words = row["text"].lower().split()
        grams = {" ".join(words[i:i + NGRAM]).encode("utf-8") for i in range(max(1, len(words) - NGRAM + 1))}
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch(list(grams))
        if lsh.query(m):
            continue
        lsh.insert(row["id"], m)
        w.write(line)
"""

SETTINGS_SCRIPT = r"""
import json
from importlib.metadata import version
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datasketch import MinHashLSH
from text_dedup.utils import MinHashArgs, optimal_param
dt = MinhashConfig()
td = MinHashArgs()
lsh = MinHashLSH(threshold=0.8, num_perm=128)
print(json.dumps({
    "datatrove": {
        "version": version("datatrove"), "n_grams": dt.n_grams, "num_buckets": dt.num_buckets,
        "hashes_per_bucket": dt.hashes_per_bucket, "seed": dt.seed, "hash": str(dt.hash_config),
        "norm": str(dt.norm_config), "tokenizer": "english word tokenizer (nltk)",
        "lsh_threshold_approx": round((1 / dt.num_buckets) ** (1 / dt.hashes_per_bucket), 3),
        "verification": "none (every bucket collision is a duplicate pair)",
        "executor": "LocalPipelineExecutor workers=1; tasks=1, buckets stage tasks=num_buckets",
    },
    "text-dedup": {
        "version": version("text-dedup"), "ngram": td.ngram, "num_perm": td.num_perm, "threshold": td.threshold,
        "bands_rows": list(optimal_param(td.threshold, td.num_perm, 0.5, 0.5)), "hash_func": td.hash_func,
        "hash_bits": td.hash_bits, "min_length": td.min_length, "tokens": "lowercased, split on \\W",
        "verification": "none (union-find over bucket collisions)", "num_proc": 1,
    },
    "datasketch": {
        "version": version("datasketch"), "ngram": 5, "num_perm": 128, "threshold": 0.8,
        "bands_rows": [lsh.b, lsh.r], "hash": "sha1_hash32 (MinHash default)",
        "tokens": "lowercased, whitespace split", "verification": "none (any LSH hit removes)",
        "survivor": "first seen (query before insert)",
    },
}))
"""


# ---------------------------------------------------------------- corpus and truth


def write_corpus(n_docs: int, directory: Path) -> Path:
    """dedup_scale's documents for n_docs, as JSONL in id order."""
    docs = [d for shard in range(SHARDS) for d in generate(shard, n_docs)]
    docs.sort(key=lambda d: d.id)
    path = directory / "corpus.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text}) + "\n")
    return path


def planted_pairs(n_docs: int) -> dict[str, str]:
    """copy id -> original id, as dedup_scale.generate plants them (document k % 10 >= 7 is a
    copy of document (k // 10) * 10 + k % 7)."""
    return {f"doc{k:08d}": f"doc{(k // 10) * 10 + k % 7:08d}" for k in range(n_docs) if k % 10 >= 7}


def score(kept: set[str], n_docs: int) -> dict[str, int]:
    """Removals against the planted pairs: each pair should lose exactly one member; a removed
    document outside every pair has no planted duplicate."""
    pairs = planted_pairs(n_docs)
    in_pairs = set(pairs) | set(pairs.values())
    one = missed = both = 0
    for copy, original in pairs.items():
        n_kept = (copy in kept) + (original in kept)
        one += n_kept == 1
        missed += n_kept == 2
        both += n_kept == 0
    all_ids = (f"doc{k:08d}" for k in range(n_docs))
    unplanted = sum(1 for i in all_ids if i not in kept and i not in in_pairs)
    return {
        "removed": n_docs - len(kept),
        "expected_removed": len(pairs),
        "pairs_resolved": one,
        "pairs_missed": missed,
        "pairs_both_removed": both,
        "removed_without_planted_duplicate": unplanted,
    }


# ---------------------------------------------------------------- kept ids per tool


def _jsonl_ids(files: list[Path]) -> set[str]:
    ids: set[str] = set()
    for path in files:
        with open(path, encoding="utf-8") as f:
            ids.update(json.loads(line)["id"] for line in f if line.strip())
    return ids


def _arrow_ids(directory: Path) -> set[str]:
    import pyarrow as pa

    ids: set[str] = set()
    for path in sorted(directory.glob("*.arrow")):
        with pa.memory_map(str(path)) as source:
            ids.update(pa.ipc.open_stream(source).read_all().column("id").to_pylist())
    return ids


def kept_ids(tool: str, work: Path) -> set[str]:
    if tool == "corpusmill":
        return _jsonl_ids(sorted(work.glob("kept*.jsonl")))
    if tool == "datatrove":
        return _jsonl_ids(sorted((work / "kept").glob("*.jsonl")))
    if tool == "text-dedup":
        return _arrow_ids(work / "out")
    if tool == "datasketch":
        return _jsonl_ids([work / "kept.jsonl"])
    raise ValueError(tool)


# ---------------------------------------------------------------- corpusmill child


def _document(line: str):
    from corpusmill.schemas.document import Document

    row = json.loads(line)
    return Document(id=row["id"], text=row["text"], source="jsonl", location=row["id"])


CONFIG_TAG = "corpusmill-config: "
DEDUP_PATHS = ["pipelines/dedup", "pipelines/transforms/dedup.py"]


def corpusmill_config(config) -> dict:
    """The MinHashConfig actually used, and the state of the dedup code (other agents change it
    while benchmarks run, so every corpusmill row records its own)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    last = subprocess.run(git + ["log", "-1", "--format=%h", "--", *DEDUP_PATHS], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--", *DEDUP_PATHS], capture_output=True, text=True).stdout
    return {
        "commit": head,
        "dedup_commit": last + (" + uncommitted dedup changes" if dirty.strip() else ""),
        "threshold": config.threshold,
        "lsh_threshold": config.lsh_threshold,
        "bands_rows": list(config.band_rows),
        "num_perm": config.num_perm,
        "shingle": config.shingle,
        "ngram": config.ngram,
        "verify": config.verify,
        "linkage": config.linkage,
        "survivor": config.survivor,
        "hash": config.hash,
    }


def _logged_config(log: Path) -> dict | None:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(CONFIG_TAG):
            return json.loads(line[len(CONFIG_TAG):])
    return None


def run_corpusmill(corpus: str, work: str) -> None:
    """The corpusmill child: JSONL -> MinHashDedup at defaults -> kept documents as JSONL."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.pipelines.dedup.config import MinHashConfig
    from corpusmill.pipelines.transforms.dedup import MinHashDedup

    config = MinHashConfig()
    print(CONFIG_TAG + json.dumps(corpusmill_config(config)), flush=True)
    options = PipelineOptions(["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as p:
        docs = p | "Read" >> beam.io.ReadFromText(corpus) | "Parse" >> beam.Map(_document)
        result = docs | MinHashDedup(config)
        (
            result.kept
            | "Serialize" >> beam.Map(lambda d: json.dumps({"id": d.id, "text": d.text}))
            | "Write" >> beam.io.WriteToText(f"{work}/kept", file_name_suffix=".jsonl")
        )


# ---------------------------------------------------------------- harness


def command(tool: str, corpus: Path, work: Path) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if tool == "corpusmill":
        code = f"from benchmarks.dedup_whole import run_corpusmill; run_corpusmill({str(corpus)!r}, {str(work)!r})"
        return [sys.executable, "-c", code], env
    if tool == "datatrove":
        return [str(BENCH_PY), "-c", DATATROVE_SCRIPT, str(corpus.parent), str(work)], env
    if tool == "text-dedup":
        env |= {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(work / "hf"), "TQDM_DISABLE": "1"}
        return [
            str(BENCH_PY), "-m", "text_dedup.minhash",
            "--path", "json", "--data_files", str(corpus), "--split", "train",
            "--cache_dir", str(work / "cache"), "--output", str(work / "out"),
            "--column", "text", "--num_proc", "1",
        ], env
    if tool == "datasketch":
        return [str(BENCH_PY), "-c", DATASKETCH_SCRIPT, str(corpus), str(work / "kept.jsonl")], env
    raise ValueError(tool)


def measure(argv: list[str], env: dict[str, str], log: Path) -> dict:
    """Run argv as a child; its own rusage (and that of the children it waited for) from wait4."""
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "user_s": round(usage.ru_utime, 1),
        "sys_s": round(usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run_tool(tool: str, n_docs: int, corpus: Path, base: Path) -> dict:
    work = base / tool
    work.mkdir()
    if tool != "corpusmill" and not BENCH_PY.exists():
        return {"tool": tool, "documents": n_docs, "error": f"bench interpreter {BENCH_PY} missing"}
    argv, env = command(tool, corpus, work)
    log = base / f"{tool}.log"
    row: dict = {"tool": tool, "documents": n_docs, "load_before": round(os.getloadavg()[0], 2)}
    row |= measure(argv, env, log)
    if row["exit"] != 0:
        row["error"] = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        return row
    if tool == "corpusmill":
        row["config"] = _logged_config(log)
    row |= score(kept_ids(tool, work), n_docs)
    row["docs_per_cpu_s"] = round(n_docs / row["cpu_s"], 1) if row["cpu_s"] else None
    row["docs_per_wall_s"] = round(n_docs / row["wall_s"], 1) if row["wall_s"] else None
    return row


def ratios(runs: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Per size, corpusmill over each other tool: docs per CPU-s and docs per wall-s (above 1 =
    corpusmill faster), peak RSS (above 1 = corpusmill uses more)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for n in sorted({r["documents"] for r in runs}):
        at = {r["tool"]: r for r in runs if r["documents"] == n and "error" not in r}
        ours = at.get("corpusmill")
        if not ours:
            continue
        out[str(n)] = {
            tool: {
                "cpu_speed": round(ours["docs_per_cpu_s"] / r["docs_per_cpu_s"], 2),
                "wall_speed": round(ours["docs_per_wall_s"] / r["docs_per_wall_s"], 2),
                "peak_rss": round(ours["peak_rss_mb"] / r["peak_rss_mb"], 2),
            }
            for tool, r in at.items()
            if tool != "corpusmill"
        }
    return out


def settings() -> dict:
    from corpusmill.pipelines.dedup.config import MinHashConfig

    ours = {
        "config": "MinHashConfig() defaults (the values used are in each corpusmill row's `config`)",
        **corpusmill_config(MinHashConfig()),
        "word n-grams": "shingle=auto gives word n-grams for these space-delimited documents",
        "runner": "FnApiRunner --direct_num_workers=1 (in-process)",
        "exact_dedup": "not run (MinHashDedup alone; exact copies have Jaccard 1)",
    }
    result = {"corpusmill": ours}
    if BENCH_PY.exists():
        out = subprocess.run([str(BENCH_PY), "-c", SETTINGS_SCRIPT], capture_output=True, text=True, cwd=ROOT)
        if out.returncode == 0:
            result |= json.loads(out.stdout.strip().splitlines()[-1])
        else:
            result["error"] = out.stderr[-2000:]
    return result


def run_size(n_docs: int, tools: list[str]) -> list[dict]:
    base = Path(tempfile.mkdtemp(prefix=f"dedup-whole-{n_docs}-"))
    try:
        t0 = time.perf_counter()
        corpus_dir = base / "corpus"
        corpus_dir.mkdir()
        corpus = write_corpus(n_docs, corpus_dir)
        print(f"{n_docs} docs: corpus {corpus.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.0f} s", flush=True)
        rows = []
        for tool in tools:
            row = run_tool(tool, n_docs, corpus, base)
            row["corpus_mb"] = round(corpus.stat().st_size / 1e6, 1)
            print({k: v for k, v in row.items() if k != "error"} | ({"error": row["error"][-500:]} if "error" in row else {}), flush=True)
            rows.append(row)
        return rows
    finally:
        shutil.rmtree(base, ignore_errors=True)


def summary(runs: list[dict], by_size: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """One generated sentence per size: corpusmill's speed relative to each tool and the planted
    pairs each tool resolved."""
    lines = []
    for n, per_tool in by_size.items():
        at = {r["tool"]: r for r in runs if str(r["documents"]) == n and "error" not in r}
        speed = ", ".join(f"{r['cpu_speed']}x {tool}" for tool, r in per_tool.items())
        found = ", ".join(f"{tool} {r['pairs_resolved']}" for tool, r in at.items())
        expected = next(iter(at.values()))["expected_removed"]
        lines += [
            f"- {n} documents: corpusmill's documents per CPU-second = {speed}. "
            f"Planted pairs resolved (of {expected}): {found}.",
        ]
    return lines + [""] if lines else []


def write_results(runs: list[dict], tool_settings: dict) -> dict:
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (figures are noisy)",
        "runs": runs,
        "ratios_corpusmill_over": ratios(runs),
        "settings": tool_settings,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "dedup_whole.json", results)
    lines = [
        "# dedup_whole: whole near-duplicate removal, one process per tool, one core",
        "",
        "Same synthetic corpus for every tool (dedup_scale's generator written once to JSONL: 80..240",
        "Zipf words per document; per block of 10, 7 originals, 1 exact copy, 2 near copies with 1-3 %",
        "of words replaced; expected removals = one per planted pair = 30 %). Each tool reads that file",
        "and writes its kept documents. CPU = user+sys of the child (os.wait4). The machine has 2",
        "cores shared with other agents' jobs, so wall time in particular is noisy; `load` is the",
        "1-minute load average when the tool started.",
        "",
        *summary(runs, results["ratios_corpusmill_over"]),
        "| docs | tool | CPU s | wall s | peak RSS MB | docs / CPU s | removed | expected | pairs resolved | pairs missed | pairs both removed | removed w/o planted dup | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['documents']} | {r['tool']} | error (see json) | | | | | | | | | | |")
            continue
        lines.append(
            f"| {r['documents']} | {r['tool']} | {r['cpu_s']} | {r['wall_s']} | {r['peak_rss_mb']} | {r['docs_per_cpu_s']} | "
            f"{r['removed']} | {r['expected_removed']} | {r['pairs_resolved']} | {r['pairs_missed']} | "
            f"{r['pairs_both_removed']} | {r['removed_without_planted_duplicate']} | {r.get('load_before')} |"
        )
    lines += [
        "",
        "Ratios, corpusmill over each tool (docs/CPU-s and docs/wall-s: above 1 = corpusmill faster; "
        "peak RSS: above 1 = corpusmill uses more memory):",
        "",
        "| docs | vs | CPU speed | wall speed | peak RSS |",
        "|---|---|---:|---:|---:|",
    ]
    for n, per_tool in results["ratios_corpusmill_over"].items():
        for tool, r in per_tool.items():
            lines.append(f"| {n} | {tool} | {r['cpu_speed']} | {r['wall_speed']} | {r['peak_rss']} |")
    lines += ["", "Settings (each tool at its own defaults; the datasketch loop at t=0.8, 128 perms, word 5-grams):", ""]
    for tool, s in tool_settings.items():
        lines.append(f"- **{tool}**: " + (", ".join(f"{k}={v}" for k, v in s.items()) if isinstance(s, dict) else str(s)))
    ours = [r for r in runs if r["tool"] == "corpusmill" and r.get("config")]
    if ours:
        lines += ["", "corpusmill code and bands per row (the dedup defaults change over time):", ""]
        for r in ours:
            c = r["config"]
            lines.append(f"- {r['documents']} docs: HEAD {c['commit']}, last dedup change {c.get('dedup_commit', '?')}, bands x rows {c['bands_rows'][0]}x{c['bands_rows'][1]}, "
                         f"word {c['ngram']}-grams, threshold {c['threshold']} ({c['verify']} verification)")
    lines += ["", NOTES, "", "Generated by `python -m benchmarks.dedup_whole [N ...]` "
              "(`--render` rewrites this file from dedup_whole.json without running anything)."]
    write_markdown(RESULTS / "dedup_whole.md", "\n".join(lines) + "\n")
    return results


NOTES = """Reading the removal columns: the tools do not aim at the same similarity. corpusmill
removes a document only when the exact Jaccard of its word 2-gram set with its survivor's is
>= 0.8 (candidates from LSH bands cast wider, see bands above); datatrove removes every 14x8
bucket collision of word 5-grams (S-curve midpoint ~0.72, no verification), text-dedup every
collision of its 25x10 bands tuned for 0.7 (250 permutations, no verification), the datasketch
loop every LSH hit of its 9x13 bands tuned for 0.8 (no verification). Word 5-grams are hit
harder by scattered word edits than 2-grams (each replaced word breaks up to 5 shingles), so a
near copy with 3 % of its words replaced is near or below Jaccard 0.8 for the 5-gram tools: the
pairs they miss are near copies, not a sign of a broken pipeline, and a 5-gram tool tuned
lower would find more. "removed w/o planted dup" counts removals of documents that have no
planted duplicate (false positives against the plant; all zero here: unrelated generated
originals are far apart). The corpus has no subtle false-positive traps, so it measures cost and
recall of planted copies, not precision; benchmarks/dedup_quality.py measures precision on real
near-duplicate sets.

Reading the cost columns: every tool reads the same JSONL and writes its kept documents.
corpusmill's peak RSS is the in-process FnApiRunner keeping every PCollection of the pipeline
in memory (exact verification also carries each document's shingle hashes through the
shuffles); datatrove streams sorted signature files on disk, which keeps its RSS low. text-dedup
(num_proc=1) converts the JSON into an Arrow cache first (counted). text-dedup ran offline: its
`--path json --data_files` route goes through the `json` builder bundled with `datasets`."""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dedup_whole", description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help=f"corpus sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md (and ratios) from dedup_whole.json")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}")
    args = parser.parse_args(argv if argv is not None else [])
    previous = RESULTS / "dedup_whole.json"
    if args.render:
        saved = json.loads(previous.read_text())
        return write_results(saved["runs"], saved["settings"])
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    runs: list[dict] = []
    for n in args.sizes or DEFAULT_SIZES:
        runs += run_size(n, tools)
    if previous.exists():  # keep (size, tool) rows measured earlier that this run did not redo
        done = {(r["documents"], r["tool"]) for r in runs}
        old = [r for r in json.loads(previous.read_text())["runs"] if (r["documents"], r["tool"]) not in done]
        runs = sorted(old + runs, key=lambda r: (r["documents"], TOOLS.index(r["tool"])))
    return write_results(runs, settings())


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(0 if result["runs"] and all("error" not in r for r in result["runs"]) else 1)
