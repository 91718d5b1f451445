"""License detection (`pipelines/sources/licenses.py`) on the license texts of real packages,
against the licenses those packages declare.

Two sets, both read from this machine (nothing downloaded):
  debian  the machine-readable (DEP-5) copyright files in /usr/share/doc/*/copyright: every
          `License:` paragraph whose body holds a license text or notice, with the short name
          it declares mapped to SPDX (GPL-2+ -> GPL-2.0-or-later, Expat -> MIT, ...); compound
          names ("GPL-1+ or Artistic") and names with no SPDX equivalent in the detector's scope
          are counted and left out; identical (name, body) pairs count once.
  python  the LICENSE* / COPYING* files of the installed distributions (site-packages
          *.dist-info), against `License-Expression`, else a one-id `License` field, else the
          `License ::` trove classifier(s) of METADATA. A classifier that names a family and not
          a version ("BSD License", "GPL") is matched by family.
Reported side by side with the detector before this work (licenses.py at cc117f7, its ids
normalized by license-expression): accuracy, per declared license counts, and the confusion of the misses (declared ->
detected). Every emitted id is checked to be a current SPDX id with `license-expression`.

Run: .venv/bin/python -m benchmarks.licenses
Writes benchmarks/results/licenses.json and licenses.md (with the git commit and date).
"""

from __future__ import annotations

import datetime
import email.parser
import functools
import json
import re
import subprocess
import sysconfig
from collections import Counter
from pathlib import Path
from collections.abc import Callable
from typing import Any

from license_expression import Licensing
from license_expression import get_spdx_licensing as _load_spdx_licensing

from corpusmill.pipelines.sources.licenses import detect_license

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = Path("/usr/share/doc")

# Debian short names (DEP-5 section "License specification") -> SPDX.
DEBIAN_TO_SPDX = {
    **{f"gpl-{v}+": f"GPL-{v}.0-or-later" for v in "123"},
    **{f"gpl-{v}": f"GPL-{v}.0-only" for v in "123"},
    **{f"gplv{v}+": f"GPL-{v}.0-or-later" for v in "23"},
    **{f"gplv{v}": f"GPL-{v}.0-only" for v in "23"},
    **{f"gpl-{v}.0+": f"GPL-{v}.0-or-later" for v in "23"},
    **{f"gpl-{v}.0": f"GPL-{v}.0-only" for v in "23"},
    "lgpl-2+": "LGPL-2.0-or-later", "lgpl-2": "LGPL-2.0-only",
    "lgpl-2.1+": "LGPL-2.1-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgplv2.1+": "LGPL-2.1-or-later",
    "lgpl-3+": "LGPL-3.0-or-later", "lgpl-3": "LGPL-3.0-only", "lgplv3+": "LGPL-3.0-or-later",
    "agpl-3+": "AGPL-3.0-or-later", "agpl-3": "AGPL-3.0-only",
    "expat": "MIT", "mit": "MIT",
    "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
    "apache-2.0": "Apache-2.0", "isc": "ISC", "zlib": "Zlib", "bsl-1.0": "BSL-1.0", "cc0-1.0": "CC0-1.0",
    "mpl-2.0": "MPL-2.0", "mpl-1.1": "MPL-1.1", "artistic-2.0": "Artistic-2.0", "epl-1.0": "EPL-1.0",
    "epl-2.0": "EPL-2.0", "unlicense": "Unlicense", "psf-2.0": "PSF-2.0", "wtfpl": "WTFPL", "0bsd": "0BSD",
}  # fmt: skip

CLASSIFIERS = {
    "MIT License": "MIT", "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0", "BSD License": "BSD*", "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0", "Python Software Foundation License": "PSF-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0*", "GNU General Public License v3 (GPLv3)": "GPL-3.0*",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2*",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0*",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL*",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2*-or-later",
    "The Unlicense (Unlicense)": "Unlicense", "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "zlib/libpng License": "Zlib", "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
}  # fmt: skip


@functools.cache
def get_spdx_licensing() -> Licensing:
    """license-expression's SPDX licensing (loading its license index takes a second)."""
    return _load_spdx_licensing()


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def debian_cases() -> tuple[list[dict[str, str]], Counter[str]]:
    """(name, declared SPDX id, body) of every License paragraph with a body in the DEP-5
    copyright files; and the counts of the declared names left out."""
    cases: list[dict[str, str]] = []
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for path in sorted(DOC.glob("*/copyright")):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not re.match(r"Format:\s*https?://(?:www\.)?debian\.org/doc/packaging-manuals/copyright-format", text):
            continue
        for para in re.split(r"\n\s*\n", text):
            m = re.search(r"^License:[ \t]*(.*)\n((?:[ \t].*\n?)+)", para + "\n", re.MULTILINE)
            if not m:
                continue
            name = m.group(1).strip()
            body = "\n".join("" if line.strip() == "." else line.strip() for line in m.group(2).splitlines())
            spdx = DEBIAN_TO_SPDX.get(name.lower())
            if spdx is None:
                skipped[name] += 1
                continue
            if (name, body) in seen:
                continue
            seen.add((name, body))
            cases.append({"source": path.parent.name, "declared": spdx, "text": body})
    return cases, skipped


def _declared_python(meta: email.message.Message) -> str | None:
    expr = meta.get("License-Expression")
    if expr:
        return expr.strip()
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and get_spdx_licensing().validate(field).errors == []:
        return get_spdx_licensing().validate(field).normalized_expression
    found = [CLASSIFIERS.get(c.split("::")[-1].strip()) for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    found = [f for f in found if f]
    return found[0] if len(found) == 1 else None


def python_cases() -> tuple[list[dict[str, str]], int]:
    cases: list[dict[str, str]] = []
    undeclared = 0
    site = Path(sysconfig.get_paths()["purelib"])
    for dist in sorted(site.glob("*.dist-info")):
        meta_path = dist / "METADATA"
        if not meta_path.is_file():
            continue
        meta = email.parser.Parser().parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        # The distribution's own license files: at the top of the .dist-info or of its
        # licenses/ folder (deeper ones are vendored projects' files, e.g. pip's _vendor/).
        tops = [dist, dist / "licenses"]
        files = [p for top in tops if top.is_dir() for p in sorted(top.iterdir())
                 if p.is_file() and re.match(r"(?i)(licen[cs]e|copying)", p.name)]  # fmt: skip
        if not files:
            continue
        declared = _declared_python(meta)
        if declared is None:
            undeclared += 1
            continue
        for f in files:
            cases.append({"source": f"{dist.name}/{f.relative_to(dist)}", "declared": declared, "text": f.read_text(encoding="utf-8", errors="replace")})
    return cases, undeclared


def _matches(declared: str, detected: str | None) -> bool:
    if detected is None:
        return False
    if declared.endswith("*") or "*" in declared:
        pattern = re.escape(declared).replace(r"\*", r"[\w.\-]*")
        return re.fullmatch(pattern, detected) is not None
    norm = get_spdx_licensing().validate(declared).normalized_expression or declared
    return detected == norm or detected in re.split(r" (?:OR|AND) ", norm.strip("()"))


SHORT = 300  # characters: a body shorter than this is usually a pointer, not a text or notice


BASELINE_COMMIT = "cc117f7"  # licenses.py before this work: deprecated GNU ids, fewer phrases


def baseline_detector() -> Callable[[str], str | None]:
    """`detect_license` as of BASELINE_COMMIT (loaded from git), its deprecated ids ("GPL-2.0")
    normalized by license-expression ("GPL-2.0-only"), as a user of its output would."""
    import types

    module = types.ModuleType("licenses_baseline")
    exec(compile(_git("show", f"{BASELINE_COMMIT}:pipelines/sources/licenses.py"), "licenses@base", "exec"), module.__dict__)

    def detect(text: str) -> str | None:
        found = module.detect_license(text)
        return get_spdx_licensing().validate(found).normalized_expression if found else None

    return detect


def evaluate(cases: list[dict[str, str]], detect: Callable[[str], str | None] = detect_license) -> dict[str, Any]:
    long_cases = [c for c in cases if len(c["text"]) >= SHORT]
    result = _evaluate(cases, detect)
    result["texts_and_notices_only"] = {
        k: v for k, v in _evaluate(long_cases, detect).items() if k in ("cases", "correct", "accuracy")
    }
    return result


def _evaluate(cases: list[dict[str, str]], detect: Callable[[str], str | None]) -> dict[str, Any]:
    per: dict[str, Counter[str]] = {}
    confusion: Counter[tuple[str, str]] = Counter()
    emitted: Counter[str] = Counter()
    correct = 0
    for case in cases:
        detected = detect(case["text"])
        ok = _matches(case["declared"], detected)
        correct += ok
        per.setdefault(case["declared"], Counter())["ok" if ok else "miss"] += 1
        if detected:
            emitted[detected] += 1
        if not ok:
            confusion[(case["declared"], str(detected))] += 1
    return {
        "cases": len(cases),
        "correct": correct,
        "accuracy": round(correct / len(cases), 4) if cases else None,
        "per_declared": {k: dict(v) for k, v in sorted(per.items(), key=lambda kv: -sum(kv[1].values()))},
        "confusion_of_misses": [
            {"declared": d, "detected": t, "count": n} for (d, t), n in confusion.most_common()
        ],
        "emitted": dict(emitted.most_common()),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    licensing = get_spdx_licensing()
    debian, skipped = debian_cases()
    python, undeclared = python_cases()
    result: dict[str, Any] = {
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "debian": evaluate(debian),
        "debian_names_left_out": dict(skipped.most_common(25)),
        "python": evaluate(python),
        "baseline": {
            "detector": f"licenses.py at {BASELINE_COMMIT}, ids normalized by license-expression",
            "debian": evaluate(debian, baseline_detector()),
            "python": evaluate(python, baseline_detector()),
        },
        "python_without_declared_license": undeclared,
    }
    emitted = set(result["debian"]["emitted"]) | set(result["python"]["emitted"])
    result["emitted_ids_not_current_spdx"] = sorted(
        i for i in emitted if licensing.validate(i).errors or licensing.validate(i).normalized_expression != i
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "licenses.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "licenses.md").write_text(markdown(result))
    print(markdown(result))
    return result


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# License detection on real packages' license texts",
        "",
        f"Commit {r['commit']}, {r['date']}. Produced by `benchmarks/licenses.py`; detector "
        "`pipelines/sources/licenses.py`; ids validated with `license-expression` "
        f"(not current SPDX: {r['emitted_ids_not_current_spdx'] or 'none'}).",
        "",
        "| set | cases | correct | accuracy | bodies >= 300 chars: cases | correct | accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, res in (("", r), (f" (baseline: {BASELINE_COMMIT})", r["baseline"])):
        for name in ("debian", "python"):
            e = res[name]
            t = e["texts_and_notices_only"]
            lines.append(
                f"| {name}{label} | {e['cases']} | {e['correct']} | {e['accuracy']} | {t['cases']} | {t['correct']} "
                f"| {t['accuracy']} |"
            )
    lines += [
        "",
        "Shorter bodies are mostly pointers (\"see /usr/share/common-licenses/GPL-3\"): they name a",
        "license without its text, and whether it is -only or -or-later is in the DEP-5 header alone.",
    ]
    for name in ("debian", "python"):
        e = r[name]
        lines += ["", f"## {name}: per declared license (ok / miss)", "", "| declared | ok | miss |", "|---|---|---|"]
        lines += [f"| {k} | {v.get('ok', 0)} | {v.get('miss', 0)} |" for k, v in e["per_declared"].items()]
        lines += ["", f"## {name}: confusion of the misses", "", "| declared | detected | count |", "|---|---|---|"]
        lines += [f"| {c['declared']} | {c['detected']} | {c['count']} |" for c in e["confusion_of_misses"][:30]]
    lines += ["", f"Debian names left out (compound or outside the detector's scope), top: {r['debian_names_left_out']}", ""]
    lines += [f"Python distributions with a license file but no declared license: {r['python_without_declared_license']}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
