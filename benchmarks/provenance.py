"""Where a benchmark result comes from: the git commit and the UTC date it was produced at.

Every results writer of benchmarks/ puts `provenance()` into its .json (keys `commit`,
`dirty`, `date`) and `header_line()` as the line under the title of its .md, so a stale figure
is visible: `Generated at commit <sha> (clean|dirty) on <UTC date>`. "dirty" means the work
tree had uncommitted changes to tracked files (other than benchmarks/results/) when the
benchmark first asked, at its start (the figures are then not exactly those of the commit).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


_STATE: tuple[str | None, bool | None] | None = None


def _commit_state() -> tuple[str | None, bool | None]:
    """(HEAD, whether tracked files outside benchmarks/results/ differ from it), read once per
    process: the code a benchmark loaded, not what was committed while it ran; the results
    files it writes itself do not count as changes."""
    global _STATE
    if _STATE is None:
        commit = _git("rev-parse", "HEAD")
        status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results") if commit else None
        _STATE = (commit, None if status is None else bool(status))
    return _STATE


def provenance() -> dict[str, Any]:
    """{"commit": full sha or None (not a git checkout), "dirty": bool or None, "date": UTC ISO}."""
    commit, dirty = _commit_state()
    return {"commit": commit, "dirty": dirty, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def header_line(p: dict[str, Any] | None = None) -> str:
    """`Generated at commit <short sha> (clean|dirty) on <UTC date>` for a results .md."""
    p = p or provenance()
    commit = (p.get("commit") or "unknown")[:12]
    state = {True: "dirty", False: "clean"}.get(p.get("dirty"), "unknown state")
    return f"Generated at commit {commit} ({state}) on {p['date']}"


def with_provenance(data: dict[str, Any], p: dict[str, Any] | None = None) -> dict[str, Any]:
    """`data` with `commit`, `dirty` and `date` first (replacing keys of those names)."""
    p = p or provenance()
    return {**p, **{k: v for k, v in data.items() if k not in p}}


def stamp_markdown(text: str, p: dict[str, Any] | None = None) -> str:
    """`text` with the `header_line` under its first "# " title (at the top when it has none);
    an earlier "Generated at commit" line is replaced."""
    line = header_line(p)
    lines = [x for x in text.split("\n") if not x.startswith("Generated at commit ")]
    if lines and lines[0].startswith("# "):
        rest = lines[1:]
        while rest and not rest[0].strip():
            rest = rest[1:]
        return "\n".join([lines[0], "", line, "", *rest])
    return "\n".join([line, "", *lines])


def write_json(path: Path, data: dict[str, Any], **dumps: Any) -> None:
    """Write a results .json with its provenance (`json.dumps` options as given, indent 2 by
    default)."""
    dumps.setdefault("indent", 2)
    path.write_text(json.dumps(with_provenance(data), **dumps) + "\n", encoding="utf-8")


def write_markdown(path: Path, text: str) -> None:
    """Write a results .md with its provenance line under the title."""
    path.write_text(stamp_markdown(text), encoding="utf-8")


_commit_state()  # at import, i.e. when the benchmark starts

__all__ = ["header_line", "provenance", "stamp_markdown", "with_provenance", "write_json", "write_markdown"]
