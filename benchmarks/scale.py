"""End to end at scale: the web preset as a workflow on 10k, 40k and 160k documents.

Corpus (built once, cached under `--work-dir`, deterministic for a seed): ~4 KB documents
recombined with a seeded RNG from real text:
  * web pages: main text extracted by the project's own web reader (`pipelines.sources.web.read`)
    from samples/web/*.warc.gz and ../shared/data/web/*.warc.gz, cut into blocks of consecutive
    lines (headings, list items and paragraphs stay together);
  * books: paragraphs of ../shared/data/books (KJV, Gutenberg in several languages, Chinese);
  * UDHR paragraphs in ~400 languages (../shared/data/lid/udhr2_paragraphs.tsv.xz).
Every block is labelled with lid.176 (the model the pipeline uses) and a document draws all its
blocks from one language, so documents are monolingual, as real pages mostly are. On top:
5% exact copies and 5% near copies (2% of words replaced, a changed first line) of earlier
documents, navigation/footer lines on a quarter of the documents, and 3% link-farm pages.
The sizes are prefixes of one stream: the 10k corpus is the first 10k documents of the 160k.
Shards: JSONL, gzip, 2,500 documents each.

Ours: `corpusmill run` in a subprocess on a workflow with one `kind: jsonl` source, preset web
(normalize, language, gopher_repetition, gopher_quality, c4_quality, fineweb_quality,
pii_redaction), exact + MinHash dedup (threshold 0.7), no tokenizer, validate false, default
runner (Beam FnApiRunner, one worker process per core).

datatrove (/work/main/.venv-bench, subprocess, LocalPipelineExecutor with one task per shard and
one worker per core): JsonlReader -> LanguageFilter -> GopherRepetitionFilter ->
GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False) -> FineWebQualityFilter ->
JsonlWriter. Offline: LanguageFilter gets the same lid.176.ftz (the copy corpusmill ships)
instead of downloading lid.176.bin; its word tokenizer for English is spaCy's blank "en"
(no download; NLTK punkt is not used by these filters). It has no dedup in this chain
(datatrove's MinHash dedup is a separate four-stage pipeline), so it does less work than ours.
datatrove runs on the 10k corpus only by default (it is ~15x slower per document, see
benchmarks/results/steps.md; `--datatrove-sizes` changes that).

Measured per run:
  * wall seconds of the child process;
  * CPU seconds: `resource.getrusage(RUSAGE_CHILDREN)` user+sys delta around the run, which
    counts the child and every descendant it waited for (Beam's worker processes); a /proc poll
    (every 0.2 s) of the process tree's utime+stime is kept as a cross-check;
  * peak RSS: the largest sum of RSS over the whole process tree (main process + Beam worker
    subprocesses) seen by the /proc poll, and the largest single process;
  * docs/s/core = documents read / CPU seconds; growth = wall(N) / wall(10k) against N/10k.

Run: .venv/bin/python -m benchmarks.scale [--sizes 10000 40000 160000] [--work-dir DIR]
Writes benchmarks/results/scale.json and scale.md.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import lzma
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCH_PY = Path(os.environ.get("CORPUSMILL_BENCH_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))
CORPUSMILL = Path(sys.executable).parent / "corpusmill"
RESULTS = Path(os.environ.get("CORPUSMILL_SCALE_RESULTS", ROOT / "benchmarks" / "results"))  # elsewhere: a one-off run
DEFAULT_WORK = Path(os.environ.get("CORPUSMILL_BENCH_DIR", Path(tempfile.gettempdir()) / "corpusmill-bench-scale"))

POOL_VERSION = 1
CORPUS_VERSION = 1
SHARD_DOCS = 2500
BLOCK_MIN_CHARS = 300
BLOCK_MAX_CHARS = 1500
DOC_CHARS = (2000, 6000)  # uniform target length: mean ~4 KB
EXACT_DUP = 0.05
NEAR_DUP = 0.05
NEAR_DUP_WORD_RATE = 0.02
LINK_FARM = 0.03
NAV_HEADER = 0.25
NAV_FOOTER = 0.25

NAV_LINES = [
    "Home", "About us", "Contact", "Login", "Sign up", "Menu", "Search", "Skip to content",
    "Home | About | Contact | Blog", "Share on Facebook", "Tweet", "Share", "Print this page",
    "Subscribe to our newsletter", "Previous | Next", "Related posts", "Categories", "Tags",
    "Read more", "Back to top", "Privacy Policy | Terms of Use", "All rights reserved.",
    "© 2024 Example Media Ltd. All rights reserved.", "Follow us on Twitter",
    "We use cookies to improve your experience on our site.", "Accept all cookies",
    "Please enable JavaScript to view the comments.", "Posted in News", "Leave a reply",
    "Powered by WordPress", "Sitemap", "FAQ", "Careers", "Advertise with us", "Log in to reply",
]
LINK_WORDS = [
    "cheap", "best", "online", "buy", "free", "download", "deals", "shop", "sale", "top", "review",
    "casino", "loans", "hotel", "flights", "shoes", "watches", "phones", "news", "games",
]


# ---------------------------------------------------------------------------------------
# the block pool


def _blocks_from_lines(lines: list[str]) -> list[str]:
    """Consecutive non-empty lines grouped into blocks of BLOCK_MIN..BLOCK_MAX characters."""
    blocks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if len(line) > BLOCK_MAX_CHARS:
            line = line[:BLOCK_MAX_CHARS].rsplit(" ", 1)[0]
        cur.append(line)
        size += len(line) + 1
        if size >= BLOCK_MIN_CHARS:
            blocks.append("\n".join(cur))
            cur, size = [], 0
    return blocks


def _web_blocks() -> list[str]:
    from corpusmill.pipelines.sources import web
    from corpusmill.schemas.document import Document

    paths = sorted(glob.glob(str(ROOT / "samples" / "web" / "*.warc.gz")))
    paths += sorted(glob.glob(str(SHARED / "web" / "*.warc.gz")))
    blocks: list[str] = []
    for path in paths:
        if path.endswith((".wat.gz", ".wet.gz")):
            continue
        for item in web.read(path, web.Config(paths=[path])):
            if isinstance(item, Document):
                blocks.extend(_blocks_from_lines(item.text.split("\n")))
    return blocks


def _book_blocks() -> list[str]:
    from corpusmill.pipelines.sources.base import open_input

    paths = sorted(p for p in glob.glob(str(SHARED / "books" / "**" / "*"), recursive=True) if os.path.isfile(p))
    blocks: list[str] = []
    for path in paths:
        with open_input(path, 1 << 30) as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # older Gutenberg files are Latin-1
            text = raw.decode("latin-1")
        # a paragraph = lines between blank lines, hard wrapping undone
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
        blocks.extend(_blocks_from_lines(paragraphs))
    return blocks


def _udhr_blocks() -> list[str]:
    path = SHARED / "lid" / "udhr2_paragraphs.tsv.xz"
    by_file: dict[str, list[str]] = {}
    with lzma.open(path, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            name, _, text = line.rstrip("\n").partition("\t")
            by_file.setdefault(name, []).append(text)
    blocks: list[str] = []
    for name in sorted(by_file):
        blocks.extend(_blocks_from_lines(by_file[name]))
    return blocks


def build_pool(work: Path) -> dict[str, list[str]]:
    """Unique text blocks by lid.176 language label (`und` below score 0.5); cached as JSON."""
    cache = work / f"pool-v{POOL_VERSION}.json.gz"
    if cache.is_file():
        with gzip.open(cache, "rt", encoding="utf-8") as f:
            return json.load(f)
    from corpusmill.pipelines.steps.language import load_model

    t0 = time.time()
    seen: set[bytes] = set()
    blocks: list[str] = []
    for part in (_web_blocks(), _book_blocks(), _udhr_blocks()):
        for b in part:
            h = hashlib.sha1(b.encode("utf-8")).digest()
            if h not in seen:
                seen.add(h)
                blocks.append(b)
    model = load_model()
    labels, scores = model.predict([b.replace("\n", " ") for b in blocks], k=1)
    pool: dict[str, list[str]] = {}
    for b, lab, sc in zip(blocks, labels, scores):
        lang = lab[0].removeprefix("__label__") if float(sc[0]) >= 0.5 else "und"
        pool.setdefault(lang, []).append(b)
    work.mkdir(parents=True, exist_ok=True)
    with gzip.open(cache, "wt", encoding="utf-8", compresslevel=1) as f:
        json.dump(pool, f, ensure_ascii=False, sort_keys=True)
    print(f"pool: {len(blocks)} blocks, {len(pool)} languages, {time.time() - t0:.0f} s", flush=True)
    return pool


# ---------------------------------------------------------------------------------------
# documents


def _link_farm(rng: random.Random) -> str:
    return "\n".join(" ".join(rng.choice(LINK_WORDS) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(30, 80)))


def _original(rng: random.Random, langs: list[str], weights: list[int], pool: dict[str, list[str]]) -> str:
    if rng.random() < LINK_FARM:
        return _link_farm(rng)
    lang = rng.choices(langs, weights)[0]
    bucket = pool[lang]
    target = rng.randint(*DOC_CHARS)
    parts: list[str] = []
    size = 0
    tries = 0
    while size < target and tries < 40:
        tries += 1
        b = bucket[rng.randrange(len(bucket))]
        parts.append(b)
        size += len(b) + 1
    if rng.random() < NAV_HEADER:
        parts.insert(0, "\n".join(rng.sample(NAV_LINES, rng.randint(3, 8))))
    if rng.random() < NAV_FOOTER:
        parts.append("\n".join(rng.sample(NAV_LINES, rng.randint(2, 5))))
    return "\n".join(parts)


def _near_copy(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * NEAR_DUP_WORD_RATE))):
        i = rng.randrange(len(words))
        words[i] = rng.choice(LINK_WORDS)
    lines = " ".join(words).split("\n")
    lines[0] = f"{rng.choice(NAV_LINES)} {lines[0]}"
    return "\n".join(lines)


def build_corpora(work: Path, sizes: list[int], seed: int) -> dict[int, dict[str, Any]]:
    """JSONL.gz shards of the first N documents of one seeded stream, for each N in `sizes`.

    Returns {N: {"dir", "docs", "bytes", "exact_copies", "near_copies"}}; cached by seed."""
    out: dict[int, dict[str, Any]] = {}
    todo = []
    for n in sizes:
        d = work / f"corpus-v{CORPUS_VERSION}-s{seed}-{n}"
        meta = d / "corpus.json"
        if meta.is_file():
            out[n] = json.loads(meta.read_text())
        else:
            todo.append(n)
    if not todo:
        return out
    pool = build_pool(work)
    langs = sorted(pool)
    weights = [len(pool[lang]) for lang in langs]
    rng = random.Random(seed)
    t0 = time.time()
    dirs = {}
    for n in todo:
        d = work / f"corpus-v{CORPUS_VERSION}-s{seed}-{n}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        dirs[n] = d
    n_max = max(todo)
    originals: list[int] = []  # positions of original documents (copies are drawn from these)

    def original(i: int) -> str:  # re-rendered on demand from its own seed: nothing is held
        return _original(random.Random(f"{seed}-{i}"), langs, weights, pool)

    stats = {n: {"docs": 0, "bytes": 0, "exact_copies": 0, "near_copies": 0} for n in todo}
    writers: dict[int, Any] = {}
    for i in range(n_max):
        r = rng.random()
        kind = "original"
        if originals and r < EXACT_DUP:
            text, kind = original(rng.choice(originals)), "exact_copies"
        elif originals and r < EXACT_DUP + NEAR_DUP:
            text, kind = _near_copy(rng, original(rng.choice(originals))), "near_copies"
        else:
            text = original(i)
            originals.append(i)
        line = json.dumps({"id": f"scale-{i:07d}", "text": text}, ensure_ascii=False) + "\n"
        data = line.encode("utf-8")
        for n in todo:
            if i >= n:
                continue
            if i % SHARD_DOCS == 0:
                if n in writers:
                    writers[n].close()
                writers[n] = gzip.open(dirs[n] / f"part-{i // SHARD_DOCS:05d}.jsonl.gz", "wb", compresslevel=1)
            writers[n].write(data)
            stats[n]["docs"] += 1
            stats[n]["bytes"] += len(data)
            if kind != "original":
                stats[n][kind] += 1
            if i == n - 1:
                writers.pop(n).close()
    for n in todo:
        meta = {"dir": str(dirs[n]), "seed": seed, **stats[n]}
        (dirs[n] / "corpus.json").write_text(json.dumps(meta))
        out[n] = meta
    print(f"corpora {todo}: {time.time() - t0:.0f} s", flush=True)
    return out


# ---------------------------------------------------------------------------------------
# measuring a process tree


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _tree(root: int) -> list[int]:
    children = _proc_children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _proc_sample(pid: int) -> tuple[int, float, str] | None:
    """(RSS bytes, CPU seconds, command name) of a live process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    name = stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(errors="replace")
    fields = stat[stat.rfind(b")") + 2 :].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), name


def _rss_and_cpu(pid: int) -> tuple[int, float] | None:
    sample = _proc_sample(pid)
    return None if sample is None else sample[:2]


def measure(
    cmd: list[str], log_path: Path, env: dict[str, str] | None = None, poll_s: float = 0.2, timeout_s: float = 3600.0
) -> dict[str, Any]:
    """Run `cmd`; wall, CPU (rusage of children, and a /proc poll), peak RSS of the tree.

    After `timeout_s` the child's process group is killed (returncode -9, `timed_out` true)."""
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        timed_out = False
        peak_tree = peak_single = 0
        max_procs = 0
        cpu_seen: dict[int, float] = {}
        while proc.poll() is None:
            pids = _tree(proc.pid)
            total = 0
            for pid in pids:
                got = _rss_and_cpu(pid)
                if got is None:
                    continue
                rss, cpu = got
                total += rss
                peak_single = max(peak_single, rss)
                cpu_seen[pid] = max(cpu_seen.get(pid, 0.0), cpu)
            peak_tree = max(peak_tree, total)
            max_procs = max(max_procs, len(pids))
            if time.perf_counter() - t0 > timeout_s:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(poll_s)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_s_polled": round(sum(cpu_seen.values()), 2),
        "peak_rss_tree_mb": round(peak_tree / 2**20, 1),
        "peak_rss_single_mb": round(peak_single / 2**20, 1),
        "max_processes": max_procs,
        "ru_maxrss_children_mb": round(after.ru_maxrss / 1024, 1),
        "load_avg_1min_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


# ---------------------------------------------------------------------------------------
# the two tools


def run_ours(corpus: dict[str, Any], work: Path, n: int) -> dict[str, Any]:
    out = work / f"out-ours-{n}"
    shutil.rmtree(out, ignore_errors=True)
    wf = work / f"workflow-{n}.yaml"
    wf.write_text(
        "sources:\n"
        "  - kind: jsonl\n"
        f"    paths: ['{corpus['dir']}/*.jsonl.gz']\n"
        "    id_field: id\n"
        "    text_field: text\n"
        "    preset: web\n"
        "dedup:\n  exact: true\n  minhash:\n    threshold: 0.7\n"
        f"output:\n  dir: '{out}'\n  shards: 4\n"
        "tokenizer: null\n"
        "validate: false\n"
    )
    r = measure([str(CORPUSMILL), "run", str(wf), "--output", str(out)], work / f"ours-{n}.log")
    if r["returncode"] != 0:
        r["log_tail"] = (work / f"ours-{n}.log").read_text(errors="replace")[-3000:]
        return r
    m = json.loads((out / "manifest.json").read_text())
    r["read"] = m["accounting"]["documents_read"]
    r["kept"] = m["accounting"]["kept"]
    r["failed"] = m["accounting"]["failed"]
    r["stages"] = m["stages"]
    r["rejected"] = m["counts"]["rejected"]
    info = json.loads((out / "run_info.json").read_text())
    r["runner"] = {k: info.get(k) for k in ("runner", "workers", "running_mode", "stage_seconds")}
    shutil.rmtree(out / "corpus", ignore_errors=True)  # keep manifest/run_info, free the disk
    return r


DATATROVE_SCRIPT = r'''
import json, sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.filters import (LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
                                        C4QualityFilter, FineWebQualityFilter)
from datatrove.utils.lid import FT176LID


class LocalFT176(FT176LID):
    """lid.176 from a local file (the lid.176.ftz ours uses) instead of the download; loaded in
    each worker, since the fastText object does not pickle."""

    def __init__(self, path):
        super().__init__(None)
        self.path = path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText
            self._model = _FastText(self.path)
        return self._model


def main():
    data_dir, out_dir, logs_dir, model_path, tasks, workers = sys.argv[1:7]
    lang = LanguageFilter(languages=None, language_threshold=0.5)
    lang.model = LocalFT176(model_path)
    pipeline = [
        JsonlReader(data_dir, glob_pattern="*.jsonl.gz", id_key="id", text_key="text"),
        lang,
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(out_dir),
    ]
    LocalPipelineExecutor(pipeline=pipeline, tasks=int(tasks), workers=int(workers), logging_dir=logs_dir,
                          skip_completed=False).run()


if __name__ == "__main__":
    main()
'''


def _datatrove_counts(logs: Path) -> dict[str, Any]:
    """Documents read and kept, and drops per filter, from datatrove's merged stats.json."""
    blocks = json.loads((logs / "stats.json").read_text())
    read = kept = 0
    dropped: dict[str, dict[str, int]] = {}
    for block in blocks:
        name, stats = block.get("name", ""), block.get("stats", {})
        if "READER" in name.upper():
            read += int(_total(stats.get("documents", 0)))
        elif "WRITER" in name.upper():
            kept += int(_total(stats.get("total", 0)))
        elif "FILTER" in name.upper():
            label = name.split(":", 1)[-1].strip()
            dropped[label] = {k: int(_total(v)) for k, v in sorted(stats.items()) if k.startswith("dropped")}
    return {"read": read, "kept": kept, "dropped": dropped}


def _total(v: Any) -> float:
    if isinstance(v, dict):
        return float(v.get("total", 0))
    return float(v)


def run_datatrove(corpus: dict[str, Any], work: Path, n: int, workers: int) -> dict[str, Any]:
    from corpusmill.pipelines.steps.language import default_model_path

    out, logs = work / f"out-datatrove-{n}", work / f"logs-datatrove-{n}"
    for d in (out, logs):
        shutil.rmtree(d, ignore_errors=True)
    script = work / "datatrove_scale.py"
    script.write_text(DATATROVE_SCRIPT)
    tasks = len(list(Path(corpus["dir"]).glob("*.jsonl.gz")))
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    cmd = [str(BENCH_PY), str(script), corpus["dir"], str(out), str(logs), default_model_path(), str(tasks), str(workers)]
    r = measure(cmd, work / f"datatrove-{n}.log", env=env)
    if r["returncode"] != 0:
        r["log_tail"] = (work / f"datatrove-{n}.log").read_text(errors="replace")[-3000:]
        return r
    r.update(_datatrove_counts(logs))
    r["stages"] = "JsonlReader, LanguageFilter, GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter, JsonlWriter"
    shutil.rmtree(out, ignore_errors=True)
    return r


# ---------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("apache-beam", "corpusmill", "fasttext-numpy2"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "?"
    try:
        out["datatrove"] = subprocess.run(
            [str(BENCH_PY), "-c", "from importlib.metadata import version; print(version('datatrove'))"],
            capture_output=True, text=True, timeout=60,
        ).stdout.strip() or "?"
    except Exception:
        out["datatrove"] = "?"
    return out


def _per_core(r: dict[str, Any]) -> float | None:
    if r.get("returncode") != 0 or not r.get("read"):
        return None
    return r["read"] / max(r["cpu_s"], r["cpu_s_polled"])


def write_md(res: dict[str, Any], path: Path) -> None:
    m = res["machine"]
    c = res["corpora"]
    first = min(int(k) for k in res["ours"])
    lines = [
        "# End to end at scale: web preset workflow",
        "",
        f"{res['date_utc']}, {m['cpus']} shared CPUs, Python {m['versions']['python']}, "
        f"apache-beam {m['versions']['apache-beam']}, datatrove {m['versions']['datatrove']}. "
        "Corpus: ~4 KB documents recombined (seeded) from real web-page text (our web reader on the "
        "sample WARCs), books and UDHR paragraphs, one language per document, "
        f"{EXACT_DUP:.0%} exact + {NEAR_DUP:.0%} near copies, nav/footer lines and link farms; "
        "JSONL.gz shards of 2,500 documents.",
        "",
        "Ours: `corpusmill run` (jsonl source, preset web, exact + MinHash dedup, no tokenizer, no "
        "validation; Beam FnApiRunner, one worker process per core). CPU = rusage of the child and "
        "the descendants it reaped (Beam workers), or the /proc poll if higher; docs/s/core = "
        "documents read / CPU s. Peak RSS = largest sum over the process tree (main + workers), "
        "polled every 0.2 s (an upper bound: pages shared between the processes count once per "
        "process); max single process in brackets.",
        "",
        "| tool | docs | MB JSONL | wall s | CPU s | docs/s (wall) | docs/s/core | peak RSS tree MB (single) | kept | growth vs smallest: wall, CPU (docs) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = res["ours"][str(first)].get("wall_s")
    base_cpu = max(res["ours"][str(first)].get("cpu_s", 0), res["ours"][str(first)].get("cpu_s_polled", 0))
    for key in sorted(res["ours"], key=int):
        r = res["ours"][key]
        n = int(key)
        if r.get("returncode") != 0:
            lines.append(f"| corpusmill | {n} | | failed (exit {r.get('returncode')}) | | | | | | |")
            continue
        cpu = max(r["cpu_s"], r["cpu_s_polled"])
        growth = f"x{r['wall_s'] / base:.2f}, x{cpu / base_cpu:.2f} (x{n / first:.0f})" if base and base_cpu else ""
        lines.append(
            f"| corpusmill | {n} | {c[key]['bytes'] / 1e6:.0f} | {r['wall_s']:.0f} | {cpu:.0f} | "
            f"{n / r['wall_s']:.0f} | {_per_core(r):.0f} | {r['peak_rss_tree_mb']:.0f} ({r['peak_rss_single_mb']:.0f}) | "
            f"{r['kept']} | {growth} |"
        )
    for key in sorted(res.get("datatrove", {}), key=int):
        r = res["datatrove"][key]
        n = int(key)
        if r.get("returncode") != 0:
            lines.append(f"| datatrove | {n} | | failed (exit {r.get('returncode')}) | | | | | | |")
            continue
        cpu = max(r["cpu_s"], r["cpu_s_polled"])
        lines.append(
            f"| datatrove (filters only, no dedup) | {n} | {c[key]['bytes'] / 1e6:.0f} | {r['wall_s']:.0f} | {cpu:.0f} | "
            f"{n / r['wall_s']:.0f} | {_per_core(r) or 0:.0f} | {r['peak_rss_tree_mb']:.0f} ({r['peak_rss_single_mb']:.0f}) | "
            f"{r.get('kept', '')} | |"
        )
    lines.append("")
    for key, ratio in sorted(res.get("ratios", {}).items()):
        lines.append(f"- {key}: {ratio}")
    if res.get("growth"):
        g = res["growth"]
        lines.append(f"- growth {g['label']}: wall x{g['wall_ratio']:.2f}, CPU x{g['cpu_ratio']:.2f} for x{g['docs_ratio']:.0f} documents")
    lines += ["", "Stages of the largest run (documents in -> out):", ""]
    last = res["ours"][str(max(int(k) for k in res["ours"]))]
    for s in last.get("stages", []):
        lines.append(f"- {s['stage']}: {s['in']} -> {s['out']}")
    if last.get("runner", {}).get("stage_seconds"):
        lines.append(f"- stage seconds: {last['runner']['stage_seconds']}")
    for key, d in sorted(res.get("datatrove", {}).items()):
        if d.get("dropped"):
            parts = [f"{f}: {v.get('dropped', 0)}" for f, v in d["dropped"].items()]
            lines += ["", f"datatrove drops at {key} (documents): " + ", ".join(parts) + "."]
    ours_rej = res["ours"].get(min(res["ours"], key=int), {}).get("rejected")
    if ours_rej:
        parts = [f"{step}: {sum(v.values())}" for step, v in ours_rej.items()]
        lines += ["", f"Our drops at {min(res['ours'], key=int)} (documents): " + ", ".join(parts) + "."]
    lines += ["", "datatrove: LanguageFilter given the same lid.176.ftz (offline), threshold 0.5 for every "
              "language; English spaCy blank tokenizer for every document; no dedup stage. "
              "Its docs/s/core is reads / CPU s over the same corpus."]
    for note in res.get("notes", []):
        lines.append(f"- {note}")
    prof = res.get("profile")
    if prof:
        lines += [
            "",
            f"Profile (CPU of one process, no Beam, first {prof['docs']} documents of the "
            f"{prof['corpus']} corpus; steps see only the documents that reach them): "
            f"{prof['docs_per_cpu_s']} docs per CPU-s for read + steps + dedup keys/signatures.",
            "",
            "| component | CPU s | ms/doc en | ms/doc zh | ms/doc other |",
            "|---|---:|---:|---:|---:|",
        ]
        by = prof.get("ms_per_doc_by_language", {})
        for comp, sec in prof["cpu_s"].items():
            g = by.get(comp.removeprefix("step:"), {})
            cells = [f"{g[k]['ms_per_doc']:.2f} (n={g[k]['docs']})" if k in g else "" for k in ("en", "zh", "other")]
            lines.append(f"| {comp} | {sec:.2f} | " + " | ".join(cells) + " |")
    write_markdown(path, "\n".join(lines) + "\n")


def profile_components(corpus: dict[str, Any], max_docs: int) -> dict[str, Any]:
    """CPU seconds per component, in this process and without Beam, on the first `max_docs`
    documents of a corpus: jsonl read, each web-preset step on the documents that reach it
    (the chain's early exit, as in the pipeline), exact-dedup keys and MinHash signatures of the
    survivors. Their sum against the pipeline's CPU per document shows what Beam adds."""
    from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
    from corpusmill.pipelines.dedup.exact import exact_key
    from corpusmill.pipelines.dedup.lsh import sign_batch
    from corpusmill.pipelines.sources import jsonl
    from corpusmill.pipelines.steps.runner import StepChain
    from corpusmill.schemas.document import Document
    from corpusmill.workflows.config import load_preset

    out: dict[str, float] = {}
    first = sorted(Path(corpus["dir"]).glob("*.jsonl.gz"))[0]
    next(iter(jsonl.read(str(first), jsonl.Config(paths=[str(first)]))))  # warm-up
    t = time.process_time()
    docs: list[Document] = []
    for path in sorted(Path(corpus["dir"]).glob("*.jsonl.gz")):
        for item in jsonl.read(str(path), jsonl.Config(paths=[str(path)])):
            if isinstance(item, Document):
                docs.append(item)
            if len(docs) >= max_docs:
                break
        if len(docs) >= max_docs:
            break
    out["read_jsonl"] = time.process_time() - t
    n = len(docs)
    alive = docs
    per_language: dict[str, dict[str, list[float]]] = {}  # step -> group -> [docs, cpu s]
    for spec in load_preset("web"):
        chain = StepChain([spec])
        chain.setup()
        # warm-up: lazy model/dictionary loads (fastText, jieba) are not per-document cost
        chain.run(alive[:20] + [d for d in alive if d.language == "zh"][:1])
        kept: list[Document] = []
        total = 0.0
        groups: dict[str, list[float]] = {}
        if spec.step in ("normalize_text", "language"):  # batch steps; languages not known before
            t = time.process_time()
            for i in range(0, len(alive), 256):
                kept.extend(chain.run(alive[i : i + 256]).kept)
            total = time.process_time() - t
        else:
            for d in alive:
                t = time.process_time()
                kept.extend(chain.run([d]).kept)
                dt = time.process_time() - t
                total += dt
                g = groups.setdefault(d.language if d.language in ("en", "zh") else "other", [0, 0.0])
                g[0] += 1
                g[1] += dt
            per_language[spec.step] = groups
        out[f"step:{spec.step}"] = total
        alive = kept
    norm = ExactConfig().normalization if hasattr(ExactConfig(), "normalization") else None
    t = time.process_time()
    if norm is not None:
        for d in alive:
            exact_key(d.text, norm)
    out["exact_keys"] = time.process_time() - t
    cfg = MinHashConfig(threshold=0.7)
    sign_batch(alive[:20], cfg)
    t = time.process_time()
    for i in range(0, len(alive), 256):
        sign_batch(alive[i : i + 256], cfg)
    out["minhash_signatures"] = time.process_time() - t
    total = sum(out.values())
    return {
        "docs": n,
        "survivors_of_steps": len(alive),
        "cpu_s": {k: round(v, 3) for k, v in out.items()},
        "cpu_s_total": round(total, 3),
        "docs_per_cpu_s": round(n / total, 1) if total else None,
        "ms_per_doc_by_language": {
            step: {g: {"docs": int(v[0]), "ms_per_doc": round(1000 * v[1] / v[0], 2)} for g, v in sorted(groups.items())}
            for step, groups in per_language.items()
        },
    }


def summarize(res: dict[str, Any], sizes: list[int]) -> list[int]:
    """Fill res["growth"] and res["ratios"] from the runs so far; returns the sizes that ran."""
    ok = [n for n in sizes if res["ours"].get(str(n), {}).get("returncode") == 0]
    res.pop("growth", None)
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        ra, rb = res["ours"][str(a)], res["ours"][str(b)]
        res["growth"] = {
            "label": f"{b} vs {a}",
            "docs_ratio": b / a,
            "wall_ratio": rb["wall_s"] / ra["wall_s"],
            "cpu_ratio": max(rb["cpu_s"], rb["cpu_s_polled"]) / max(ra["cpu_s"], ra["cpu_s_polled"]),
        }
    res["ratios"] = {}
    for key, d in res["datatrove"].items():
        ours, theirs = _per_core(res["ours"][key]), _per_core(d)
        if ours and theirs:
            res["ratios"][f"docs/s/core ours / datatrove at {key}"] = round(ours / theirs, 2)
    return ok


def write_results(res: dict[str, Any], append: bool = False) -> None:
    """Write scale.json and scale.md; with `append`, runs of other sizes already in scale.json
    (an earlier invocation) are kept and this invocation's runs are added."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    if append and (RESULTS / "scale.json").is_file():
        old = json.loads((RESULTS / "scale.json").read_text())
        for key in ("corpora", "ours", "datatrove"):
            res[key] = {**old.get(key, {}), **res[key]}
        if "profile" in old and "profile" not in res:
            res["profile"] = old["profile"]
        res["notes"] = list(dict.fromkeys(old.get("notes", []) + res["notes"]))
        summarize(res, sorted(int(k) for k in res["ours"]))
    write_json(RESULTS / "scale.json", res)
    write_md(res, RESULTS / "scale.md")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000, 160_000])
    ap.add_argument("--datatrove-sizes", type=int, nargs="*", default=[10_000])
    ap.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--seed", type=int, default=20241)
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results")
    ap.add_argument("--profile-docs", type=int, default=2000, help="documents for the in-process profile (0: none)")
    ap.add_argument("--profile-only", action="store_true", help="add the profile to the existing scale.json")
    ap.add_argument("--append", action="store_true", help="add this invocation's runs to the existing scale.json")
    ap.add_argument("--note", action="append", default=[], help="a note to add to the results (with --render-only)")
    ap.add_argument("--render-only", action="store_true", help="rewrite scale.md from the existing scale.json")
    args = ap.parse_args(argv)
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        res = json.loads((RESULTS / "scale.json").read_text())
        for key, d in res.get("datatrove", {}).items():
            if (work / f"logs-datatrove-{key}" / "stats.json").is_file() and d.get("returncode") == 0:
                d.update(_datatrove_counts(work / f"logs-datatrove-{key}"))
        res["notes"] = list(dict.fromkeys(res.get("notes", []) + args.note))
        summarize(res, sorted(int(k) for k in res["ours"]))
        write_results(res)
        return 0
    if args.profile_only:
        res = json.loads((RESULTS / "scale.json").read_text())
        smallest = min(res["corpora"], key=int)
        res["profile"] = {"corpus": int(smallest), **profile_components(res["corpora"][smallest], args.profile_docs)}
        write_results(res)
        return 0
    cpus = os.cpu_count() or 1
    sizes = sorted(set(args.sizes))
    dt_sizes = [n for n in sorted(set(args.datatrove_sizes)) if n in sizes] if BENCH_PY.exists() else []
    corpora = build_corpora(work, sizes, args.seed)
    res: dict[str, Any] = {
        "benchmark": "scale",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": cpus, "platform": platform.platform(), "versions": _versions()},
        "corpora": {str(n): corpora[n] for n in sizes},
        "ours": {},
        "datatrove": {},
        "notes": [],
    }
    if not BENCH_PY.exists():
        res["notes"].append(f"datatrove not run: {BENCH_PY} missing")
    for n in sizes:
        r = run_ours(corpora[n], work, n)
        res["ours"][str(n)] = r
        print(f"corpusmill {n}: exit {r['returncode']} wall {r['wall_s']} s cpu {r['cpu_s']} s "
              f"(polled {r['cpu_s_polled']}) peak tree {r['peak_rss_tree_mb']} MB (largest process {r['peak_rss_single_mb']} MB) kept {r.get('kept')}", flush=True)
        if not args.no_write:
            summarize(res, sizes)
            write_results(res, args.append)  # after every run, so a stopped benchmark leaves what it measured
        if n in dt_sizes:
            d = run_datatrove(corpora[n], work, n, cpus)
            res["datatrove"][str(n)] = d
            print(f"datatrove {n}: exit {d['returncode']} wall {d['wall_s']} s cpu {d['cpu_s']} s "
                  f"(polled {d['cpu_s_polled']}) peak tree {d['peak_rss_tree_mb']} MB kept {d.get('kept')}", flush=True)
            if not args.no_write:
                summarize(res, sizes)
                write_results(res, args.append)
    if args.profile_docs:
        smallest = min(sizes)
        res["profile"] = {"corpus": smallest, **profile_components(corpora[smallest], args.profile_docs)}
    ok = summarize(res, sizes)
    print(json.dumps({"growth": res.get("growth"), "ratios": res["ratios"]}), flush=True)
    if not args.no_write:
        write_results(res, args.append)
    return 0 if len(ok) == len(sizes) else 1


if __name__ == "__main__":
    sys.exit(main())
