"""PII detection quality and speed: the `pii_redaction` step against `phonenumbers` and
`detect-secrets`, side by side in one run.

Quality: precision and recall per kind (email, ipv4, ipv6, phone, secret) on the labelled
snippets of benchmarks/data/pii_labels.jsonl (real text from ../shared/data, labelled by hand;
see benchmarks/data/pii_labels_specs.py for the policy and which values are fake values put in
real text). A gold value is found when a prediction of its kind overlaps it; a prediction is
correct when it overlaps a gold value of its kind. Hard negatives (versions, dates, ISBNs,
hashes, UUIDs, reserved addresses, ...) are reported per category: how many of them any
prediction touched. Secrets are searched in every snippet here (the step searches them only in
code by default).

Detectors:
  step                 `corpusmill.pipelines.steps.pii` as it is (each kind on its own);
  regexes (...)        the same module at the commit before phonenumbers replaced its phone
                       regexes (loaded from git), for phones and secrets;
  phonenumbers[...]    `phonenumbers.PhoneNumberMatcher` at leniency POSSIBLE or VALID, for
                       one region (US) or the union over several regions;
  detect-secrets[...]  detect-secrets' file-scanning path run in process on the lines of the
                       text (line filters, plugins, context filters; the file name of the
                       source selects its keyword patterns) with the default plugin set
                       (`all`) or without the two entropy plugins (`no-entropy`); its
                       `IPPublicDetector` is off by default. (`scan_line`, its ad-hoc API,
                       searches every word for entropy and flags ordinary words.)

Speed: documents per CPU-second of each detector on real documents (the 346 extraction-eval
web pages as plain text and the files of the code archives), best of `--rounds` for the step
and the regexes (about a second a round); one round for `phonenumbers` and `detect-secrets`
(10-150x slower, and minutes a round on this shared machine: one round measures the ratio).

Run: .venv/bin/python -m benchmarks.pii [--rounds R]
Writes benchmarks/results/pii.json and pii.md (with the git commit and date).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import tarfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import cache_bust, configure_settings_from_baseline, default_settings

from corpusmill.pipelines.steps import pii

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
LABELS = ROOT / "benchmarks" / "data" / "pii_labels.jsonl"
KINDS = ("email", "ipv4", "ipv6", "phone", "secret")
REGIONS = ("US", "GB", "DE", "FR", "IN", "JP", "BR", "CN")

Span = tuple[int, int, str]
Detector = Callable[..., list[Span]]  # (text, file name) -> spans


# --- detectors ------------------------------------------------------------------------------


def _spans_from_redaction(original: str, redacted: str, placeholder: str, kind: str) -> list[Span]:
    """Where the placeholders of `redacted` stand in `original` (the text between them is kept
    verbatim by the step)."""
    pieces = redacted.split(placeholder)
    if len(pieces) == 1:
        return []
    pattern = "(.+?)".join(re.escape(p) for p in pieces)
    m = re.fullmatch(pattern, original, flags=re.DOTALL)
    if m is None:
        raise AssertionError(f"cannot align {redacted!r} with {original!r}")
    return [(m.start(i), m.end(i), kind) for i in range(1, len(pieces))]


BASELINE_COMMIT = "cc117f7"  # pii.py before phonenumbers: the hand-written phone regexes


def baseline_module() -> Any:
    """`pipelines/steps/pii.py` as of BASELINE_COMMIT, loaded from git (the regexes)."""
    import types

    source = _git("show", f"{BASELINE_COMMIT}:pipelines/steps/pii.py")
    source = source.replace('@step("pii_redaction")', "")  # do not register the step twice
    module = types.ModuleType("pii_baseline")
    exec(compile(source, f"pii.py@{BASELINE_COMMIT}", "exec"), module.__dict__)
    return module


def step_detector(kinds: tuple[str, ...] = KINDS, module: Any = pii) -> Detector:
    def detect(text: str, name: str = "") -> list[Span]:
        spans: list[Span] = []
        for kind in kinds:
            redacted, _ = module.redact(text, (kind,))
            spans += _spans_from_redaction(text, redacted, pii.PLACEHOLDERS[kind], kind)
        return spans

    return detect


def phonenumbers_detector(regions: tuple[str, ...], leniency: int) -> Detector:
    def detect(text: str, name: str = "") -> list[Span]:
        spans: list[Span] = []
        for region in regions:
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
                if not any(s < m.end and m.start < e for s, e, _ in spans):
                    spans.append((m.start, m.end, "phone"))
        return spans

    return detect


_ENTROPY_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString")


def _plugin_config(entropy: bool) -> dict[str, Any]:
    with default_settings() as settings:
        config = settings.json()
    if not entropy:
        config["plugins_used"] = [p for p in config["plugins_used"] if p["name"] not in _ENTROPY_PLUGINS]
    return config


_ACTIVE_CONFIG: list[str] = []


def _activate(config: dict[str, Any]) -> None:
    """Configure detect-secrets' global settings (plugin set) once per switch of detector."""
    key = json.dumps(config, sort_keys=True)
    if _ACTIVE_CONFIG != [key]:
        cache_bust()
        configure_settings_from_baseline(config)
        _ACTIVE_CONFIG[:] = [key]


def detect_secrets_detector(entropy: bool) -> Detector:
    """detect-secrets' own file-scanning path (`_process_line_based_plugins`: line filters,
    every plugin, context filters) on the lines of the text, without writing a file; the file
    name (it selects the keyword patterns of a language) is that of the source."""
    config = _plugin_config(entropy)

    def detect(text: str, name: str = "page.txt") -> list[Span]:
        _activate(config)
        lines = text.split("\n")
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        spans: list[Span] = []
        for found in _process_line_based_plugins(list(enumerate(lines, 1)), filename=name):
            value = found.secret_value or ""
            line = lines[found.line_number - 1]
            pos = line.find(value) if value else -1
            if pos < 0:
                continue
            kind = "ipv4" if found.type == "Public IP (ipv4)" else "secret"
            start = starts[found.line_number - 1] + pos
            spans.append((start, start + len(value), kind))
        return spans

    return detect


def detectors() -> dict[str, tuple[tuple[str, ...], Detector]]:
    """name -> (kinds it is scored on, detector)."""
    possible, valid = phonenumbers.Leniency.POSSIBLE, phonenumbers.Leniency.VALID
    return {
        "step": (KINDS, step_detector()),
        f"regexes (pii.py at {BASELINE_COMMIT})": (("phone", "secret"), step_detector(("phone", "secret"), baseline_module())),
        "phonenumbers[US, VALID]": (("phone",), phonenumbers_detector(("US",), valid)),
        "phonenumbers[8 regions, VALID]": (("phone",), phonenumbers_detector(REGIONS, valid)),
        "phonenumbers[8 regions, POSSIBLE]": (("phone",), phonenumbers_detector(REGIONS, possible)),
        "detect-secrets[all]": (("secret",), detect_secrets_detector(entropy=True)),
        "detect-secrets[no-entropy]": (("secret",), detect_secrets_detector(entropy=False)),
    }


# --- scoring --------------------------------------------------------------------------------


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """The labelled set: `path` when it was written by `benchmarks.data.pii_labels_build`,
    else cut from ../shared/data now (the excerpts are not kept in the repository)."""
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from benchmarks.data.pii_labels_build import build_labels

        rows = [dict(row) for row in build_labels()]
    for row in rows:
        for group in ("pii", "negatives"):
            expanded = []
            for label in row[group]:  # every occurrence of a labelled value counts
                start = row["text"].find(label["value"])
                while start != -1:
                    expanded.append({**label, "span": (start, start + len(label["value"]))})
                    start = row["text"].find(label["value"], start + len(label["value"]))
            row[group] = expanded
    return rows


def _file_name(source: str) -> str:
    """A file name for a snippet's source: the archive member's, or "page.txt" for web/wiki."""
    if ".tar.gz:" in source:
        return source.rsplit("/", 1)[-1]
    return "page.txt"


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(rows: list[dict[str, Any]], detect: Detector, kinds: tuple[str, ...]) -> dict[str, Any]:
    gold_total: Counter[str] = Counter()
    gold_found: Counter[str] = Counter()
    pred_total: Counter[str] = Counter()
    pred_correct: Counter[str] = Counter()
    neg_total: Counter[str] = Counter()
    neg_hit: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    false_alarms: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        text = row["text"]
        preds = [p for p in detect(text, _file_name(row["source"])) if p[2] in kinds]
        for label in row["pii"]:
            if label["kind"] not in kinds:
                continue
            gold_total[label["kind"]] += 1
            if any(p[2] == label["kind"] and _overlaps(p[:2], label["span"]) for p in preds):
                gold_found[label["kind"]] += 1
            else:
                misses[label["kind"]].append(label["value"])
        for p in preds:
            pred_total[p[2]] += 1
            if any(g["kind"] == p[2] and _overlaps(p[:2], g["span"]) for g in row["pii"]):
                pred_correct[p[2]] += 1
            else:
                false_alarms[p[2]].append(text[p[0] : p[1]])
        for neg in row["negatives"]:
            neg_total[neg["kind"]] += 1
            if any(_overlaps(p[:2], neg["span"]) for p in preds):
                neg_hit[neg["kind"]] += 1
    per_kind = {}
    for kind in kinds:
        tp_gold, n_gold = gold_found[kind], gold_total[kind]
        ok_pred, n_pred = pred_correct[kind], pred_total[kind]
        precision = ok_pred / n_pred if n_pred else None
        recall = tp_gold / n_gold if n_gold else None
        f1 = (2 * precision * recall / (precision + recall)) if precision and recall else 0.0
        per_kind[kind] = {
            "gold": n_gold,
            "found": tp_gold,
            "predicted": n_pred,
            "correct": ok_pred,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "missed": misses[kind],
            "false_alarms": false_alarms[kind],
        }
    return {
        "per_kind": per_kind,
        "hard_negatives": {k: {"total": neg_total[k], "hit": neg_hit[k]} for k in sorted(neg_total)},
    }


def phone_recall_by_region(rows: list[dict[str, Any]], detect: Detector) -> dict[str, list[int]]:
    """region -> [found, total] of the phone numbers of snippets labelled with that region."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        region = row.get("region")
        if not region:
            continue
        preds = [p for p in detect(row["text"], _file_name(row["source"])) if p[2] == "phone"]
        for label in row["pii"]:
            if label["kind"] == "phone":
                out[region][1] += 1
                out[region][0] += any(_overlaps(p[:2], label["span"]) for p in preds)
    return dict(sorted(out.items()))


# --- speed ----------------------------------------------------------------------------------


def speed_documents(limit_code: int = 1500) -> list[tuple[str, str]]:
    """Real documents: the extraction-eval pages as plain text and code-archive files."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    docs: list[tuple[str, str]] = []
    with open(SHARED / "web" / "extraction-eval_pages.warc.gz", "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
            body = rec.reader.read()
            docs.append(("page.txt", extract_plain_text(bytes_to_str(body, detect_encoding(body)), main_content=False)))
    code: list[tuple[str, str]] = []
    for path in sorted((SHARED / "code").glob("*.tar.gz")):
        with tarfile.open(path) as tf:
            for m in tf:
                if m.isfile() and m.size < 200_000:
                    try:
                        text = tf.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
                        code.append((m.name.rsplit("/", 1)[-1], text))
                    except UnicodeDecodeError:
                        pass
    return docs + code[:limit_code]


def _best_cpu(fn: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def speed(docs: list[tuple[str, str]], rounds: int) -> dict[str, Any]:
    """Documents per CPU-second of each detector and of the whole step."""
    runs: dict[str, Callable[[str, str], object]] = {
        "step: all kinds (pii.redact)": lambda t, n: pii.redact(t),
        "step: phone only": lambda t, n: pii.redact(t, ("phone",)),
        "step: secret only": lambda t, n: pii.redact(t, ("secret",)),
        "step: ipv4 only": lambda t, n: pii.redact(t, ("ipv4",)),
    }
    base = baseline_module()
    runs[f"regexes at {BASELINE_COMMIT}: all kinds"] = lambda t, n: base.redact(t)
    runs[f"regexes at {BASELINE_COMMIT}: phone only"] = lambda t, n: base.redact(t, ("phone",))
    runs[f"regexes at {BASELINE_COMMIT}: secret only"] = lambda t, n: base.redact(t, ("secret",))
    for name, (_, det) in detectors().items():
        if name != "step" and not name.startswith("regexes"):
            runs[name] = det
    out: dict[str, Any] = {}
    for name, fn in runs.items():
        fn("", "warm-up.txt")
        ours = name.startswith(("step", "regexes"))
        cpu = _best_cpu(lambda fn=fn: [fn(t, n) for n, t in docs], rounds if ours else 1)
        out[name] = {"cpu_s": round(cpu, 4), "docs_per_cpu_s": round(len(docs) / cpu, 1), "rounds": rounds if ours else 1}
    return out


# --- report ---------------------------------------------------------------------------------


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def run(rounds: int) -> dict[str, Any]:
    rows = load_labels()
    origin: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str, int]] = set()
    for row in rows:
        for label in row["pii"]:
            if (row["id"], label["value"], label["span"][0]) in seen:
                continue
            seen.add((row["id"], label["value"], label["span"][0]))
            origin[(label["kind"], "fake value in real text" if label.get("fake") else "real")] += 1
    quality: dict[str, Any] = {}
    by_region: dict[str, Any] = {}
    for name, (kinds, det) in detectors().items():
        quality[name] = score(rows, det, kinds)
        if "phone" in kinds:
            by_region[name] = phone_recall_by_region(rows, det)
    docs = speed_documents()
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "libraries": {"phonenumbers": phonenumbers.__version__, "detect-secrets": _dist_version("detect-secrets")},
        "labels": {
            "snippets": len(rows),
            "values": {f"{k} ({o})": n for (k, o), n in sorted(origin.items())},
            "hard_negatives": sum(len(r["negatives"]) for r in rows),
        },
        "quality": quality,
        "phone_recall_by_region": by_region,
        "speed": {"documents": len(docs), "rounds": rounds, "results": speed(docs, rounds)},
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def markdown(result: dict[str, Any]) -> str:
    lab = result["labels"]
    lines = [
        "# PII detection: the step vs phonenumbers and detect-secrets",
        "",
        f"Commit {result['commit']}, {result['date']}; phonenumbers {result['libraries']['phonenumbers']}, "
        f"detect-secrets {result['libraries']['detect-secrets']}. Produced by `benchmarks/pii.py`.",
        "",
        f"Labelled set: {lab['snippets']} snippets of real text (benchmarks/data/pii_labels.jsonl), "
        f"{lab['hard_negatives']} hard negatives. Labelled values:",
        "",
        "| kind (origin) | values |",
        "|---|---|",
        *[f"| {k} | {n} |" for k, n in lab["values"].items()],
        "",
        "## Precision / recall per kind",
        "",
        "| detector | kind | gold | found | predicted | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, q in result["quality"].items():
        for kind, s in q["per_kind"].items():
            lines.append(
                f"| {name} | {kind} | {s['gold']} | {s['found']} | {s['predicted']} | {_fmt(s['precision'])} "
                f"| {_fmt(s['recall'])} | {_fmt(s['f1'])} |"
            )
    lines += ["", "## Phone recall per country format (found / labelled)", ""]
    regions = sorted({r for v in result["phone_recall_by_region"].values() for r in v})
    lines += ["| detector | " + " | ".join(regions) + " |", "|---|" + "---|" * len(regions)]
    for name, per in result["phone_recall_by_region"].items():
        lines.append(f"| {name} | " + " | ".join(f"{per[r][0]}/{per[r][1]}" if r in per else "-" for r in regions) + " |")
    lines += ["", "## Hard negatives touched by a prediction (hit / total)", ""]
    cats = sorted({c for q in result["quality"].values() for c in q["hard_negatives"]})
    names = list(result["quality"])
    lines += ["| category | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c in cats:
        cells = []
        for n in names:
            h = result["quality"][n]["hard_negatives"].get(c)
            cells.append(f"{h['hit']}/{h['total']}" if h else "-")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    sp = result["speed"]
    lines += [
        "",
        f"## Speed: documents per CPU-second ({sp['documents']} real documents, best of {sp['rounds']} rounds for the step and the regexes, one round for the others)",
        "",
        "| detector | CPU s | docs / CPU-s |",
        "|---|---|---|",
        *[f"| {n} | {v['cpu_s']} | {v['docs_per_cpu_s']} |" for n, v in sp["results"].items()],
        "",
        "## Misses and false alarms",
        "",
    ]
    for name, q in result["quality"].items():
        for kind, s in q["per_kind"].items():
            if s["missed"] or s["false_alarms"]:
                lines.append(f"- {name} / {kind}: missed {s['missed']}; false alarms {s['false_alarms']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true", help="quality only (for labelling)")
    args = parser.parse_args(argv)
    if args.no_speed:
        rows = load_labels()
        for name, (kinds, det) in detectors().items():
            print(name, json.dumps(score(rows, det, kinds), ensure_ascii=False)[:3000])
        return {}
    result = run(args.rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pii.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "pii.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
