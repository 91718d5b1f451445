"""Results files record the commit and date they were produced at (benchmarks/provenance.py)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from benchmarks import provenance as pv


def test_provenance_is_this_checkout() -> None:
    p = pv.provenance()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pv.ROOT, capture_output=True, text=True).stdout.strip()
    assert p["commit"] == head
    assert p["dirty"] in (True, False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["date"])


def test_markdown_and_json_are_stamped(tmp_path: Path) -> None:
    p = {"commit": "0123456789abcdef0123", "dirty": False, "date": "2026-12-05T05:00:00Z"}
    md = pv.stamp_markdown("# Title\n\nBody line.\n", p)
    assert md.split("\n")[:4] == ["# Title", "", "Generated at commit 0123456789ab (clean) on 2026-12-05T05:00:00Z", ""]
    assert "Body line." in md
    again = pv.stamp_markdown(md, {**p, "dirty": True, "date": "2026-12-06T00:00:00Z"})  # restamped, not stacked
    assert again.count("Generated at commit") == 1 and "(dirty) on 2026-12-06" in again
    assert pv.stamp_markdown("no title", p).startswith("Generated at commit")

    pv.write_json(tmp_path / "r.json", {"benchmark": "x", "date": "old"})
    data = json.loads((tmp_path / "r.json").read_text())
    assert list(data)[:3] == ["commit", "dirty", "date"] and data["date"] != "old" and data["benchmark"] == "x"
    pv.write_markdown(tmp_path / "r.md", "# R\n\nx\n")
    assert (tmp_path / "r.md").read_text().split("\n")[2].startswith("Generated at commit ")
