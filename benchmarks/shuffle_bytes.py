"""Shuffle bytes per input byte of the corpus pipeline, per shuffle, before and after a change.

What is counted: the input of every GroupByKey of the corpus pipeline (the ones inside
CoGroupByKey and Reshuffle included) gets a measuring branch once the pipeline is built (a
pipeline visitor finds them; a ParDo on the same PCollection, with no output), that adds
`len(coder.encode(element))` to a Beam counter named after the GroupByKey's full label, with
the coder Beam picks for that PCollection's element type (the same registry lookup the runner
does). Side inputs are measured the same way on the PCollection they are made from (once,
although every consuming stage reads them). GroupByKeys inside CombinePerKey (also Count, Distinct) are
not wrapped: runners lift them into combiner phases that shuffle pre-combined accumulators.
Input bytes: the UTF-8 bytes of the documents' text as read (a Map in front of each source's
ApplySteps), and the input files' bytes on disk.

Corpora: the sample workflow (workflows/sample.yaml: web, wiki, books, code; exact + MinHash
dedup) and the first `--docs` documents (default 10,000) of the web-preset corpus of
benchmarks/scale.py (its cached shards under `--scale-dir`; ~4 KB documents, 5% exact and
5% near copies), run with the scale workflow's settings (preset web, exact + MinHash 0.7).
Each corpus runs in its own child process on the in-process FnApiRunner (one process, so its
peak RSS, `ru_maxrss`, is the whole runner's memory: every shuffle is held in it).

Before/after: run once with the code before a change (e.g. a `git worktree` of the base
commit and its venv: `cd BASE && .venv/bin/python /path/to/benchmarks/shuffle_bytes.py
--label before`) and once after (`--label after`); each run records the commit of the code it
measured, and the .md shows the labels side by side.

Run: .venv/bin/python -m benchmarks.shuffle_bytes --label after [--docs 10000] [--scale-dir DIR]
Writes benchmarks/results/shuffle_bytes.json and shuffle_bytes.md.
"""

from __future__ import annotations

import sys

# Run as a script (from another tree's venv), this folder would come first on sys.path and
# its tokenize.py would shadow the standard library's: keep only the repository root.
_HERE = __file__.rsplit("/", 1)[0]
sys.path[:] = [p for p in sys.path if p not in (_HERE, "")] if sys.path and sys.path[0] == _HERE else sys.path

import argparse
import glob
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from another tree's venv (the "before" code)
    sys.path.insert(0, str(ROOT))

from benchmarks.provenance import write_json, write_markdown  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_SCALE = Path(os.environ.get("CORPUSMILL_BENCH_DIR", Path(tempfile.gettempdir()) / "corpusmill-bench-scale"))
SHARD_DOCS = 2500  # documents per shard of the scale corpus (benchmarks/scale.py)
NAMESPACE = "shuffle_bytes"


# ---------------------------------------------------------------- the child: one measured run


def _measurer() -> Any:
    import apache_beam as beam
    from apache_beam.pipeline import PipelineVisitor
    from apache_beam.metrics import Metrics

    class _Measure(beam.DoFn):
        def __init__(self, name: str, coder: Any) -> None:
            self._name = name
            self._coder = coder

        def setup(self) -> None:
            self._bytes = Metrics.counter(NAMESPACE, f"bytes:{self._name}")
            self._elements = Metrics.counter(NAMESPACE, f"elements:{self._name}")

        def process(self, element: Any) -> Any:
            self._bytes.inc(len(self._coder.encode(element)))
            self._elements.inc()
            return ()

    class _TextBytes(beam.DoFn):
        def setup(self) -> None:
            self._bytes = Metrics.counter(NAMESPACE, "input_text_bytes")
            self._docs = Metrics.counter(NAMESPACE, "input_documents")

        def process(self, doc: Any) -> Any:
            self._bytes.inc(len(doc.text.encode("utf-8", "surrogatepass")))
            self._docs.inc()
            return ()

    def add_measures(pipeline: beam.Pipeline) -> None:
        """Find every GroupByKey (outside combiners), side input and ApplySteps input of the
        built `pipeline`, then hang a measuring branch on each of those PCollections."""
        taps: list[tuple[Any, str, str]] = []

        class Finder(PipelineVisitor):
            def enter_composite_transform(self, node: Any) -> None:
                if type(node.transform).__name__ == "ApplySteps":
                    taps.append((node.inputs[0], node.full_label, "text"))
                self.visit_transform(node)

            def visit_transform(self, node: Any) -> None:
                parent = node.parent
                inside_combine = parent is not None and isinstance(parent.transform, beam.CombinePerKey)
                if type(node.transform) is beam.GroupByKey and not inside_combine:
                    taps.append((node.inputs[0], node.full_label, "gbk"))
                for i, side in enumerate(getattr(node, "side_inputs", ()) or ()):
                    taps.append((side.pvalue, f"{node.full_label}[{i}]", "side"))

        pipeline.visit(Finder())
        seen: set[tuple[int, str]] = set()
        for i, (pcoll, name, kind) in enumerate(taps):
            if (id(pcoll), kind) in seen:  # e.g. one side input read by a composite and its part
                continue
            seen.add((id(pcoll), kind))
            if kind == "text":
                fn: beam.DoFn = _TextBytes()
            else:
                fn = _Measure(f"{kind}:{name}", beam.coders.registry.get_coder(pcoll.element_type))
            _ = pcoll | f"MeasureShuffle{i}" >> beam.ParDo(fn)

    return add_measures


def measure(workflow: Path, out_dir: Path) -> dict[str, Any]:
    """Run the corpus stage of `workflow` into `out_dir` with every shuffle measured."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpusmill.pipelines.corpus import build_corpus, source_paths
    from corpusmill.schemas import outputs
    from corpusmill.workflows.config import load_plan
    from corpusmill.workflows.runner import FN_API_RUNNER

    plan = load_plan(workflow)
    paths = source_paths(plan)
    for kind in (*outputs.KINDS, outputs.STATS_DIR):
        outputs.make_dirs(outputs.join(str(out_dir), kind))
    pipeline = beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"]))
    build_corpus(pipeline, plan, paths, str(out_dir))
    _measurer()(pipeline)
    cpu0 = time.process_time()
    wall0 = time.monotonic()
    result = pipeline.run()
    result.wait_until_finish()
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - wall0
    counters: dict[str, int] = {}
    for c in result.metrics().query()["counters"]:
        if c.key.metric.namespace == NAMESPACE:
            counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
    shuffles: dict[str, dict[str, int]] = {}
    for name, value in counters.items():
        if name.startswith(("bytes:", "elements:")):
            what, rest = name.split(":", 1)
            shuffles.setdefault(rest, {"bytes": 0, "elements": 0})[what] = value
    file_bytes = sum(os.path.getsize(p) for ps in paths for p in ps)
    stages = json.loads((out_dir / outputs.STAGE_COUNTS).read_text())
    return {
        "workflow": str(workflow),
        "input_documents": counters.get("input_documents", 0),
        "input_text_bytes": counters.get("input_text_bytes", 0),
        "input_file_bytes": file_bytes,
        "shuffles": dict(sorted(shuffles.items())),
        "stages": stages,
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# ---------------------------------------------------------------- the parent


def scale_workflow(scale_dir: Path, docs: int, work: Path) -> Path:
    """The scale benchmark's workflow on its first `docs` documents (whole shards)."""
    corpora = sorted(glob.glob(str(scale_dir / "corpus-v*-s*-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
    corpora = [c for c in corpora if int(c.rsplit("-", 1)[1]) >= docs]
    if not corpora:
        raise SystemExit(f"no scale corpus of >= {docs} documents under {scale_dir}: run benchmarks/scale.py first")
    shards = sorted(glob.glob(f"{corpora[0]}/part-*.jsonl.gz"))[: -(-docs // SHARD_DOCS)]
    listing = ", ".join(f"'{s}'" for s in shards)
    text = f"""sources:
  - kind: jsonl
    paths: [{listing}]
    id_field: id
    text_field: text
    preset: web
dedup:
  exact: true
  minhash:
    threshold: 0.7
output:
  dir: '{work}/out'
  shards: 4
tokenizer: null
validate: false
"""
    path = work / f"scale-{docs}.yaml"
    path.write_text(text)
    return path


def code_commit() -> str | None:
    """The commit of the corpusmill code this interpreter imports (the tree measured)."""
    import corpusmill.pipelines.corpus as corpus

    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(corpus.__file__).parent, capture_output=True, text=True)
    return proc.stdout.strip() or None


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    total = sum(s["bytes"] for s in run["shuffles"].values())
    text = max(run["input_text_bytes"], 1)
    return {
        "shuffle_bytes": total,
        "per_input_text_byte": round(total / text, 3),
        "per_input_file_byte": round(total / max(run["input_file_bytes"], 1), 3),
        "per_document": round(total / max(run["input_documents"], 1)),
    }


def memory_entry(scale_json: Path) -> dict[str, Any]:
    """The largest run of a benchmarks/scale.py results file: memory, counts, the commit."""
    scale = json.loads(scale_json.read_text())
    n = max(scale["ours"], key=int)
    run = scale["ours"][n]
    keys = ("returncode", "wall_s", "cpu_s", "peak_rss_tree_mb", "peak_rss_single_mb", "max_processes", "kept", "stages")
    return {"documents": int(n), "commit": scale.get("commit"), "date": scale.get("date"), **{k: run.get(k) for k in keys}}


def render(res: dict[str, Any]) -> str:
    labels = [k for k in ("before", "after") if k in res["labels"]] + [k for k in res["labels"] if k not in ("before", "after")]
    lines = [
        "# Shuffle bytes per input byte: corpus pipeline",
        "",
        "Encoded bytes entering every GroupByKey (CoGroupByKey and Reshuffle included; "
        "combiners such as Count and Distinct excluded) and side input of the corpus pipeline, with the coder Beam "
        "picks for each PCollection, divided by the UTF-8 bytes of the documents' text as read. "
        "In-process FnApiRunner, one child process per corpus; max RSS is that process's peak "
        "(all of the runner's buffers live in it). Method: benchmarks/shuffle_bytes.py.",
        "",
    ]
    for label in labels:
        meta = res["labels"][label]
        lines.append(f"- `{label}`: code at commit {str(meta.get('code_commit'))[:12]}, measured {meta.get('date')}")
    lines.append("")
    corpora = sorted({c for label in labels for c in res["labels"][label]["runs"]})
    for corpus in corpora:
        runs = {label: res["labels"][label]["runs"].get(corpus) for label in labels}
        any_run = next(r for r in runs.values() if r)
        lines += [
            f"## {corpus}",
            "",
            f"{any_run['input_documents']} documents, {any_run['input_text_bytes'] / 1e6:.1f} MB of text "
            f"({any_run['input_file_bytes'] / 1e6:.1f} MB of input files).",
            "",
            "| | " + " | ".join(labels) + " |",
            "|---|" + "---:|" * len(labels),
        ]
        rows = [
            ("shuffle bytes per input text byte", lambda r: f"{summarize(r)['per_input_text_byte']:.2f}"),
            ("shuffle MB", lambda r: f"{summarize(r)['shuffle_bytes'] / 1e6:.1f}"),
            ("shuffle bytes per input document", lambda r: f"{summarize(r)['per_document']:,}"),
            ("peak RSS of the runner process MB", lambda r: f"{r['max_rss_mb']:.0f}"),
            ("CPU s / wall s", lambda r: f"{r['cpu_s']:.0f} / {r['wall_s']:.0f}"),
            ("kept (minhash_dedup)", lambda r: str(sum(r["stages"].get("minhash_dedup", {}).values()))),
        ]
        for name, fn in rows:
            lines.append(f"| {name} | " + " | ".join(fn(r) if r else "" for r in runs.values()) + " |")
        lines += ["", "Per shuffle (MB, elements), largest first:", "", "| shuffle | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        names = sorted(
            {n for r in runs.values() if r for n in r["shuffles"]},
            key=lambda n: -max((r["shuffles"].get(n, {}).get("bytes", 0) for r in runs.values() if r), default=0),
        )
        for n in names:
            cells = []
            for r in runs.values():
                s = r["shuffles"].get(n) if r else None
                cells.append(f"{s['bytes'] / 1e6:.2f} ({s['elements']:,})" if s else "")
            lines.append(f"| `{n}` | " + " | ".join(cells) + " |")
        lines.append("")
    memory = res.get("memory", {})
    if memory:
        mlabels = [k for k in ("before", "after") if k in memory] + [k for k in memory if k not in ("before", "after")]
        lines += [
            "## Memory: benchmarks/scale.py's web-preset run",
            "",
            "Default runner (FnApiRunner, one worker process per core), polled RSS (benchmarks/scale.py). "
            "KB per document = largest process / documents read.",
            "",
            "| | " + " | ".join(mlabels) + " |",
            "|---|" + "---:|" * len(mlabels),
        ]
        mrows = [
            ("commit", lambda m: str(m.get("commit"))[:12]),
            ("documents read", lambda m: f"{m['documents']:,}"),
            ("largest process MB", lambda m: f"{m['peak_rss_single_mb']:.0f}"),
            ("KB per document (largest process)", lambda m: f"{m['peak_rss_single_mb'] * 1024 / m['documents']:.1f}"),
            ("process tree MB", lambda m: f"{m['peak_rss_tree_mb']:.0f}"),
            ("KB per document (tree)", lambda m: f"{m['peak_rss_tree_mb'] * 1024 / m['documents']:.1f}"),
            ("CPU s / wall s", lambda m: f"{m['cpu_s']:.0f} / {m['wall_s']:.0f}"),
            ("exit code (1: accounting did not balance)", lambda m: str(m.get("returncode"))),
            ("stages", lambda m: ", ".join(f"{k} {sum(v.values()):,}" for k, v in sorted((m.get("stages") or {}).items()))),
        ]
        for name, fn in mrows:
            lines.append(f"| {name} | " + " | ".join(fn(memory[k]) for k in mlabels) + " |")
        lines.append("")
    for note in res.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", default="after", help="the name of this code version in the results (before / after)")
    ap.add_argument("--docs", type=int, default=10_000, help="documents of the scale corpus")
    ap.add_argument("--scale-dir", type=Path, default=DEFAULT_SCALE, help="benchmarks/scale.py's --work-dir")
    ap.add_argument("--corpora", nargs="+", default=["sample", "scale"])
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument(
        "--scale-json", action="append", default=[], metavar="LABEL=PATH[,STAGES]",
        help="add the largest run of a benchmarks/scale.py results file (e.g. its 160k web-preset run) as the memory "
        "figures of LABEL, then rewrite the .md (no pipeline run)",
    )
    ap.add_argument("--child", nargs=2, metavar=("WORKFLOW", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), Path(args.child[1]))))
        return 0
    path = RESULTS / "shuffle_bytes.json"
    res = json.loads(path.read_text()) if path.exists() else {"benchmark": "shuffle_bytes", "labels": {}, "notes": []}
    if args.scale_json:
        for item in args.scale_json:
            label, paths = item.split("=", 1)
            scale_path, _, stages_path = paths.partition(",")
            entry = memory_entry(Path(scale_path))
            if stages_path:  # the run's own _stats/stages.json (scale.json has none for a failed run)
                entry["stages"] = json.loads(Path(stages_path).read_text())
            res.setdefault("memory", {})[label] = entry
        res["notes"] = list(dict.fromkeys(res.get("notes", []) + args.note))
        write_json(path, res)
        write_markdown(RESULTS / "shuffle_bytes.md", render(res))
        return 0
    entry: dict[str, Any] = {"code_commit": code_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="shuffle-bytes-") as tmp:
        work = Path(tmp)
        workflows = {"sample": ROOT / "workflows" / "sample.yaml"}
        if "scale" in args.corpora:
            workflows[f"scale-{args.docs}"] = scale_workflow(args.scale_dir, args.docs, work)
        for name, workflow in workflows.items():
            if name.split("-")[0] not in args.corpora:
                continue
            out = work / f"out-{name}"
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(workflow), str(out)],
                capture_output=True, text=True,
            )
            if proc.returncode != 0:
                print(proc.stderr[-4000:], file=sys.stderr)
                return proc.returncode
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            entry["runs"][name] = run
            print(f"{args.label} {name}: {summarize(run)} max RSS {run['max_rss_mb']} MB", flush=True)
    res["labels"][args.label] = entry
    res["notes"] = list(dict.fromkeys(res.get("notes", []) + args.note))
    write_json(path, res)
    write_markdown(RESULTS / "shuffle_bytes.md", render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
