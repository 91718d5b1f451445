"""Signature-stage speed per core: corpusmill's vectorised MinHash vs datasketch's per-document
update() loop vs datatrove's MinhashDedupSignature (get_shingles + get_signature).

Documents: the Gutenberg editions (../shared/data/neardup/gutenberg_editions) cut into
4,000-character documents, plus the multilingual near-duplicate set. Each tool turns text
into a signature (normalise, shingle, hash, permute, min); CPU time (process_time) of that
stage only, one process, no I/O. Same shape for all: word 5-grams, 112 hashes (datatrove's
14x8 default); corpusmill also at its own defaults. datatrove runs in /work/main/.venv-bench
by subprocess. datasketch's loop is slow, so it runs on a subset and is reported per document.
Writes benchmarks/results/dedup_speed.{json,md}.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.provenance import write_json, write_markdown
from corpusmill.pipelines.dedup.config import MinHashConfig
from corpusmill.pipelines.dedup.lsh import sign_batch
from corpusmill.pipelines.dedup.shingles import normalize, shingle_strings
from corpusmill.schemas.document import Document

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
RESULTS = ROOT / "benchmarks" / "results"
CHUNK = 4000

DATATROVE_SCRIPT = r"""
import json, sys, time
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature, MinhashConfig
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
step = MinhashDedupSignature(output_folder=sys.argv[2], config=MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8))
step.get_signature(step.get_shingles(texts[0]))  # warm up (tokenizer, parameters)
t0 = time.process_time()
for t in texts:
    step.get_signature(step.get_shingles(t))
print(json.dumps({"docs": len(texts), "cpu_s": time.process_time() - t0}))
"""


def load_docs() -> list[Document]:
    docs = []
    for path in sorted((SHARED / "neardup" / "gutenberg_editions").glob("*.txt")):
        text = path.read_bytes().decode("utf-8", "replace")
        for i in range(0, len(text), CHUNK):
            docs.append(Document(id=f"{path.name}:{i}", text=text[i : i + CHUNK], source="books", location=str(path)))
    with gzip.open(SHARED / "neardup" / "multilingual-neardup.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(Document(id=row["id"], text=row["text"], source="neardup", location=row["id"]))
    return docs


def time_corpusmill(docs: list[Document], config: MinHashConfig, repeat: int = 3) -> float:
    """Best-of-`repeat` CPU seconds for all documents, batches of config.batch_size."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for i in range(0, len(docs), config.batch_size):
            sign_batch(docs[i : i + config.batch_size], config)
        best = min(best, time.process_time() - t0)
    return best


def time_datasketch_loop(docs: list[Document], config: MinHashConfig) -> float:
    """datasketch MinHash (default scheme and sha1 hash), one update() per shingle."""
    from datasketch import MinHash

    t0 = time.process_time()
    for doc in docs:
        grams = shingle_strings(normalize(doc.text, config.normalization, "word"), "word", config.ngram)
        m = MinHash(num_perm=config.num_perm, seed=config.seed)
        for g in grams:
            m.update(g.encode("utf-8"))
    return time.process_time() - t0


def time_datatrove(docs: list[Document]) -> dict | None:
    if not BENCH_PY.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"text": d.text}) + "\n")
        out = subprocess.run(
            [str(BENCH_PY), "-c", DATATROVE_SCRIPT, str(path), str(Path(tmp) / "sigs")],
            capture_output=True, text=True, timeout=3600,
        )
        if out.returncode != 0:
            return {"error": out.stderr[-2000:]}
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> dict:
    docs = load_docs()
    chars = sum(len(d.text) for d in docs)
    same_shape = MinHashConfig(shingle="word", ngram=5, num_perm=112, bands=14, rows=8)
    runs: dict[str, dict] = {}
    for name, config in (
        ("corpusmill word5 112 poly", same_shape),
        ("corpusmill word5 112 sha1", same_shape.model_copy(update={"hash": "sha1"})),
        ("corpusmill defaults (auto shingles, 128 perms)", MinHashConfig()),
    ):
        cpu = time_corpusmill(docs, config)
        runs[name] = {"docs": len(docs), "cpu_s": round(cpu, 3), "docs_per_cpu_s": round(len(docs) / cpu, 1)}
        print(name, runs[name], flush=True)
    subset = docs[:: max(1, len(docs) // 300)]
    cpu = time_datasketch_loop(subset, same_shape)
    runs["datasketch update() loop word5 112"] = {"docs": len(subset), "cpu_s": round(cpu, 3), "docs_per_cpu_s": round(len(subset) / cpu, 1)}
    print(runs["datasketch update() loop word5 112"], flush=True)
    dt = time_datatrove(docs)
    if dt and "cpu_s" in dt:
        runs["datatrove MinhashDedupSignature word5 14x8"] = dt | {"docs_per_cpu_s": round(dt["docs"] / dt["cpu_s"], 1)}
    elif dt:
        runs["datatrove MinhashDedupSignature word5 14x8"] = dt
    print(runs.get("datatrove MinhashDedupSignature word5 14x8"), flush=True)
    ours = runs["corpusmill word5 112 poly"]["docs_per_cpu_s"]
    ratios = {
        "vs_datasketch_loop": round(ours / runs["datasketch update() loop word5 112"]["docs_per_cpu_s"], 1),
    }
    if "docs_per_cpu_s" in runs.get("datatrove MinhashDedupSignature word5 14x8", {}):
        ratios["vs_datatrove"] = round(ours / runs["datatrove MinhashDedupSignature word5 14x8"]["docs_per_cpu_s"], 2)
        ratios["sha1_vs_datatrove"] = round(
            runs["corpusmill word5 112 sha1"]["docs_per_cpu_s"] / runs["datatrove MinhashDedupSignature word5 14x8"]["docs_per_cpu_s"], 2
        )
    results = {"documents": len(docs), "characters": chars, "runs": runs, "ratios": ratios}
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "dedup_speed.json", results)
    lines = [
        "# dedup_speed: MinHash signature stage, documents per CPU-second (one core)",
        "",
        f"{len(docs)} documents, {chars} characters (Gutenberg editions in 4,000-char pieces + multilingual set).",
        "",
        "| run | docs | CPU s | docs / CPU s |",
        "|---|---|---|---|",
    ]
    for name, r in runs.items():
        lines.append(f"| {name} | {r.get('docs')} | {r.get('cpu_s')} | {r.get('docs_per_cpu_s')} |")
    lines += ["", f"Ratios (corpusmill word5 112 poly over others): {json.dumps(ratios)}", "",
              "Generated by `python -m benchmarks.dedup_speed`; the machine is shared, so figures are noisy."]
    write_markdown(RESULTS / "dedup_speed.md", "\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
