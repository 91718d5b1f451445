"""The run report and the terminal summary, on a realistic output directory."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.workflows.output_fixture import HOSTILE, built_output, output  # noqa: F401 (fixtures)
from corpusmill.schemas.outputs import NotARun
from corpusmill.workflows import report as R
from corpusmill.workflows.report import render_report
from corpusmill.workflows.summary import summary_lines
from corpusmill.workflows.validate import validate_output


class Page(HTMLParser):
    """Tags, attributes, section ids, and the text of table cells / SVG labels per section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter = Counter()
        self.external: list[str] = []
        self.sections: list[str] = []
        self.svg_in: Counter = Counter()
        self.rects_in: Counter = Counter()
        self.text_in: dict[str, list[str]] = {}
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        a = dict(attrs)
        for key in ("src", "href"):
            value = a.get(key) or ""
            if value.startswith(("http:", "https:", "//")):
                self.external.append(value)
        if tag == "section":
            self._section = a.get("id") or ""
            self.sections.append(self._section)
        if tag == "svg":
            self.svg_in[self._section] += 1
        if tag == "rect":
            self.rects_in[self._section] += 1

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text_in.setdefault(self._section, []).append(data.strip())


def _parse(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def test_report_is_static_offline_and_complete(output: Path) -> None:
    path = render_report(output)
    assert path == output / "report" / "index.html"
    text, page = _parse(path)
    # offline: no scripts, stylesheets, images, fonts or anything fetched
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0 and page.tags["iframe"] == 0
    assert page.external == []
    assert "url(" not in text and "@import" not in text
    assert set(page.sections) >= {"validation", "funnel", "stages", "languages", "lengths", "clusters", "signals",
                                  "tokenizer", "examples"}
    for section in ("funnel", "stages", "languages", "lengths", "clusters", "signals", "tokenizer"):
        assert page.svg_in[section] >= 1 and page.rects_in[section] >= 2, section
    # deterministic
    assert render_report(output).read_text(encoding="utf-8") == text


def test_report_numbers_come_from_the_output(output: Path) -> None:
    manifest = json.loads((output / "manifest.json").read_text())
    _, page = _parse(render_report(output))
    funnel = page.text_in["funnel"]
    for source, by_step in manifest["counts"]["rejected_by_source"].items():
        for step, reasons in by_step.items():
            for reason, n in reasons.items():
                i = funnel.index(reason)
                assert funnel[i - 1] == step and funnel[i + 1] == f"{n:,}"
    for source, n in manifest["counts"]["kept"].items():
        assert f"{n:,}" in funnel
    # languages: shares of the manifest's counts
    langs = manifest["languages"]
    total = sum(langs.values())
    assert any(f"({100 * langs['zh'] / total:.1f} %)" in t for t in page.text_in["languages"])
    # tokenizer fertility from tokenizer/report.json
    tokenizer_report = json.loads((output / "tokenizer" / "report.json").read_text())
    for key in ("by_language", "by_source"):
        for group, per_tokenizer in tokenizer_report[key].items():
            m = per_tokenizer["model"]
            value = R.fmt(m["fertility"])
            i = page.text_in["tokenizer"].index(group)  # label, bar tooltip, printed value
            assert page.text_in["tokenizer"][i : i + 3] == [group, f"{group}: {value}", f"{value} tokens / {m['fertility_unit']}"]
    # throughput = documents in / seconds of the stage
    run_info = json.loads((output / "run_info.json").read_text())
    steps = next(s for s in manifest["stages"] if s["stage"] == "steps")
    assert f"{steps['in'] / run_info['stage_seconds']['steps']:,.0f}" in page.text_in["stages"]


def test_corpus_stats_match_the_shards(output: Path) -> None:
    stats = R.corpus_stats(output)
    by_source: Counter = Counter()
    chars: Counter = Counter()
    clusters: Counter = Counter()
    longest: dict[str, int] = {}
    for path in sorted((output / "corpus").glob("*.parquet")):
        t = pq.read_table(path, columns=["source", "text", "cluster_size"])
        by_source.update(t.column("source").to_pylist())
        for src, n in zip(t.column("source").to_pylist(), pc.utf8_length(t.column("text")).to_pylist()):
            chars[src] += n
            longest[src] = max(longest.get(src, 0), n)
        clusters.update(t.column("cluster_size").to_pylist())
    assert {s: sum(h) for s, h in stats.lengths.items()} == dict(by_source)
    assert stats.chars == chars
    assert stats.cluster_sizes == clusters
    assert stats.signals["quality.words"].seen == sum(by_source.values())
    assert stats.flags["repetition:dup_lines"] >= 1
    # the longest document of each source falls in the last non-empty bin
    for src, n in longest.items():
        last = max(k for k, c in enumerate(stats.lengths[src]) if c)
        assert R.LENGTH_EDGES[last] <= n and (last + 1 == len(R.LENGTH_EDGES) or n < R.LENGTH_EDGES[last + 1])


def test_rejected_previews_are_escaped(output: Path) -> None:
    text, page = _parse(render_report(output))
    assert "<script>" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert page.tags["b"] == 0
    examples = " ".join(page.text_in["examples"])
    assert HOSTILE in examples  # the parser unescapes: the reader sees the original text
    manifest = json.loads((output / "manifest.json").read_text())
    for step, reasons in manifest["counts"]["rejected"].items():
        for reason in reasons:
            assert f"{step} / {reason}" in examples


def test_report_without_optional_parts(output: Path) -> None:
    for part in ("tokens", "tokenizer", "failed"):
        shutil.rmtree(output / part)
    (output / "run_info.json").unlink()
    manifest = json.loads((output / "manifest.json").read_text())
    manifest["tokenizer"] = None
    del manifest["stages"]
    (output / "manifest.json").write_text(json.dumps(manifest))
    text, page = _parse(render_report(output))
    assert "no tokenizer in this run" in text
    assert "run_info.json not found" in text
    assert "not validated" in text
    assert page.rects_in["lengths"] >= 2
    lines = summary_lines(output)
    assert not any(line.strip().startswith(("tokenizer", "wall time")) for line in lines)


def test_report_and_summary_show_validation_failures(output: Path) -> None:
    manifest = json.loads((output / "manifest.json").read_text())
    manifest["shards"]["corpus"][1]["rows"] += 7
    (output / "manifest.json").write_text(json.dumps(manifest))
    validate_output(output, docs=False)
    text, page = _parse(render_report(output))
    validation = " ".join(page.text_in["validation"])
    assert "Validation FAILED" in validation
    assert "expect_column_pair_values_to_be_equal(manifest_rows,file_rows)" in validation
    assert 'href="../validation/data_docs/index.html"' in text
    lines = summary_lines(output)
    assert any("validation FAILED" in line for line in lines)
    assert any("manifest_rows,file_rows" in line and "manifest.json" in line for line in lines)


def test_summary_lines(output: Path) -> None:
    manifest = json.loads((output / "manifest.json").read_text())
    counts = manifest["counts"]
    lines = summary_lines(output)
    assert lines[0].endswith(str(output))
    text = "\n".join(lines)
    read = sum(counts["read"].values())
    kept = sum(counts["kept"].values())
    assert f"read      {read:>12,}" in text
    assert f"kept      {kept:>12,}   ({100 * kept / read:.1f} % of read)" in text
    top_step, top_reason, top_n = max(
        ((s, r, n) for s, by in counts["rejected"].items() if s != "read" for r, n in by.items()), key=lambda t: t[2]
    )
    rejected_line = next(line for line in lines if line.strip().startswith("rejected"))
    n_rejected = sum(n for s, by in counts["rejected"].items() if s != "read" for n in by.values())
    assert f"rejected  {n_rejected:>12,}   ({top_step}/{top_reason} {top_n:,}," in rejected_line
    # records readers rejected are not documents: counted apart
    skipped = next(line for line in lines if line.strip().startswith("skipped"))
    assert f"{sum(counts['rejected']['read'].values()):>12,}" in skipped and "not_text 1" in skipped
    assert any(line.strip().startswith("failed") and "read 2" in line for line in lines)
    assert any("corpus 4" in line and "tokens 2" in line for line in lines if line.strip().startswith("output"))
    assert lines[-1].strip() == "report    (not rendered)"
    render_report(output)
    assert summary_lines(output)[-1].strip() == f"report    {output / 'report' / 'index.html'}"
    assert summary_lines(output / "missing") == [f"corpusmill: no manifest.json in {output / 'missing'}"]


def test_decimated_sample_is_bounded_and_exact_at_the_ends() -> None:
    d = R.Decimated(cap=100)
    d.extend(float(i) for i in range(10_000))
    d.extend([float("nan"), None])  # type: ignore[list-item]
    assert d.seen == 10_000 and d.lo == 0.0 and d.hi == 9999.0
    assert 50 <= len(d.values) < 100
    assert d.values == sorted(d.values) and d.values[0] == 0.0
    again = R.Decimated(cap=100)
    again.extend(float(i) for i in range(10_000))
    assert again.values == d.values


def test_report_of_a_directory_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARun, match="no manifest.json"):
        render_report(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no report written
    assert summary_lines(tmp_path) == [f"corpusmill: no manifest.json in {tmp_path}"]


def test_dedup_counters_from_run_info_are_shown(output: Path) -> None:
    run_info = json.loads((output / "run_info.json").read_text())
    run_info["beam_counters"] = {
        "dedup.minhash_documents": 1234, "dedup.candidate_edges": 56, "dedup.verified_edges": 21,
        "dedup.unverified_edges": 8, "dedup.direct_extra_survivors": 3, "read.web.documents": 9,
    }
    (output / "run_info.json").write_text(json.dumps(run_info))
    _, page = _parse(render_report(output))
    cells = page.text_in["clusters"]
    for key, label in R.DEDUP_COUNTERS:
        if key in run_info["beam_counters"]:
            i = cells.index(label)
            assert cells[i + 1] == f"{run_info['beam_counters'][key]:,}"
    assert "read.web.documents" not in " ".join(cells)
    run_info.pop("beam_counters")
    (output / "run_info.json").write_text(json.dumps(run_info))
    _, page = _parse(render_report(output))
    assert "MinHash dedup" not in " ".join(page.text_in["clusters"])
