"""Open the run report in real headless Chromium: the DOM it renders holds the charts, and a
screenshot of the page is not blank. The screenshot is kept as a test artifact in
`out/test-artifacts/report.png` (git-ignored) for people to look at."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.workflows.output_fixture import built_output, output  # noqa: F401 (fixtures)
from corpusmill.workflows.report import PALETTE, render_report

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (Debian package chromium)")


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class Dom(HTMLParser):
    """Counts per section of the rendered DOM: svg elements and their drawn shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.section = ""
        self.svgs: dict[str, int] = {}
        self.shapes: dict[str, int] = {}
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "svg":
            self.svgs[self.section] = self.svgs.get(self.section, 0) + 1
        elif tag in ("rect", "line"):
            self.shapes[self.section] = self.shapes.get(self.section, 0) + 1
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2 and data.strip():
            self.headings.append(data.strip())
            self._in_h2 = False


@pytest.mark.slow
def test_report_renders_in_headless_chromium(output: Path, tmp_path: Path) -> None:
    page = render_report(output)
    url = page.resolve().as_uri()

    dumped = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom()
    dom.feed(dumped.stdout)
    assert "Funnel: documents per stage and drop reason" in dom.headings
    assert "Examples of rejected documents" in dom.headings
    for section in ("funnel", "stages", "languages", "lengths", "clusters", "signals", "tokenizer"):
        assert dom.svgs.get(section, 0) >= 1, section
        assert dom.shapes.get(section, 0) >= 2, section
    assert "<script" not in dumped.stdout  # hostile previews stayed text

    shot = tmp_path / "report.png"
    taken = _chromium([f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars", url], tmp_path / "profile-shot")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")

    with Image.open(shot) as im:
        assert im.size == (1280, 4000)
        rgb = im.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 50, "the screenshot is (nearly) blank"
    by_color = {c: n for n, c in colors}
    # bars drawn in the chart colours cover a visible area of the page
    funnel_blue = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    lengths_orange = tuple(int(PALETTE[1][i : i + 2], 16) for i in (1, 3, 5))
    assert by_color.get(funnel_blue, 0) > 5_000
    assert by_color.get(lengths_orange, 0) > 5_000
