"""The installed package is `corpusmill` alone: no module of the project imports itself under
one of the other projects' top-level names (`pipelines`, `schemas`, `tokenizer`, `workflows`)."""

from __future__ import annotations

import importlib
import subprocess
import sys

FOREIGN = ("pipelines", "schemas", "tokenizer", "workflows")


def test_every_module_imports_under_corpusmill_only() -> None:
    code = (
        "import importlib, pkgutil, sys, corpusmill\n"
        f"subs = [importlib.import_module('corpusmill.' + s) for s in {FOREIGN!r}]\n"
        "names = [m.name for s in subs for m in pkgutil.walk_packages(s.__path__, s.__name__ + '.')]\n"
        "for n in names: importlib.import_module(n)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FOREIGN!r})\n"
        "print(len(names)); print(','.join(bad))\n"
    )
    # A fresh interpreter from a neutral folder: the repository root is not on sys.path there.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    count, bad = lines[-2], lines[-1]
    assert int(count) > 40
    assert bad == "", f"modules imported under foreign top-level names: {bad}"


def test_subpackages_resolve_to_the_repository_folders() -> None:
    for name in FOREIGN:
        module = importlib.import_module(f"corpusmill.{name}")
        assert module.__file__ is not None and f"/{name}/__init__.py" in module.__file__


def test_python_dash_m_corpusmill_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "corpusmill", "steps"], capture_output=True, text=True,
                          cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gopher_quality" in proc.stdout
