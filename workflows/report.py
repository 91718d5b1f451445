"""The run report: one static HTML page, `OUT/report/index.html`, that opens offline.

No JavaScript, no external CSS, fonts or images: every chart is an inline SVG (`report_html.py`).
Every string from the data (source names, reasons, previews of rejected texts, URLs) is
HTML-escaped. The page shows, from the files of an output directory:

- totals (read, kept, rejected, failed, tokens, output size, wall time) and the validation
  outcome (`validation/results.json`, when `corpusmill validate` ran);
- the funnel of documents per source: read, then what each step dropped, then kept; a
  table of drop reasons per source (manifest counters);
- stages: documents in / out, wall time and throughput (manifest `stages`, run_info.json);
- languages (manifest `languages`); document lengths per source (log-scale histogram);
  duplicate cluster sizes (`cluster_size`); score distributions of annotated steps
  (`signals`) and flag counts (`flags`) -- all read from the corpus shards batch by batch,
  a few columns at a time, with bounded memory (texts reduced to their lengths per batch);
- tokenizer fertility per language / source (`tokenizer/report.json`, when present);
- a few example rejected documents per (step, reason) (`text_preview`).

Optional parts (tokens, tokenizer, run_info.json, validation results) are shown when present.

The page is put together here (`render_html`) from the sections (`report_sections.py`), the
data they are drawn from (`report_data.py`) and the page's building blocks (`report_html.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from corpusmill.schemas import outputs
from corpusmill.workflows.manifest import read_plan
from corpusmill.workflows.report_data import LENGTH_EDGES, Decimated, corpus_stats, load_json, output_bytes
from corpusmill.workflows.report_html import CSS, PALETTE, bar_chart, escape, fmt, html_cards, html_section, html_table, human_bytes
from corpusmill.workflows.report_sections import (
    DEDUP_COUNTERS,
    clusters_section,
    examples_section,
    funnel_section,
    languages_section,
    lengths_section,
    signals_section,
    stages_section,
    tokenizer_section,
    validation_section,
)


def render_html(out: str) -> str:
    """The report page for an output directory, as a string (raises schemas.outputs.NotARun
    for a directory without manifest.json)."""
    manifest = outputs.read_manifest(str(out))
    plan = read_plan(manifest)
    run_info = load_json(outputs.join(out, "run_info.json"))
    run_info = run_info if isinstance(run_info, Mapping) else None
    counts = manifest.get("counts") or {}
    stats = corpus_stats(out)
    read = sum(int(v) for v in (counts.get("read") or {}).values())
    kept = sum(int(v) for v in (counts.get("kept") or {}).values()) if counts.get("kept") else sum(stats.docs.values())
    by_step = {str(k): v for k, v in (counts.get("rejected") or {}).items() if isinstance(v, Mapping)}
    rejected = sum(int(n) for step, by in by_step.items() if step != "read" for n in by.values())
    skipped = sum(int(n) for n in (by_step.get("read") or {}).values())  # reader verdicts: not documents
    failed = sum(int(v) for v in (counts.get("failed") or {}).values())
    cards = [
        ("documents read", fmt(read)),
        ("kept", f"{fmt(kept)} ({100 * kept / read:.1f} %)" if read else fmt(kept)),
        ("rejected", fmt(rejected)),
        ("records skipped by readers", fmt(skipped)),
        ("failed", fmt(failed)),
        ("characters kept", fmt(sum(stats.chars.values()))),
        ("output size", human_bytes(output_bytes(out))),
    ]
    if run_info and isinstance(run_info.get("wall_seconds"), (int, float)):
        cards.append(("wall time", f"{run_info['wall_seconds']:.1f} s"))
    redacted = counts.get("redacted") or {}
    sections = [
        ("validation", "Validation", validation_section(out)),
        ("funnel", "Funnel: documents per stage and drop reason", funnel_section(manifest, plan)),
        ("stages", "Wall time and throughput per stage", stages_section(manifest, run_info)),
        ("languages", "Languages of kept documents", languages_section(manifest, stats)),
        ("lengths", "Document lengths per source", lengths_section(stats)),
        ("clusters", "Duplicate cluster sizes", clusters_section(stats, run_info)),
        ("signals", "Scores of annotated steps", signals_section(stats)),
        ("tokenizer", "Tokenizer", tokenizer_section(out, manifest)),
        ("examples", "Examples of rejected documents", examples_section(out, manifest)),
    ]
    if isinstance(manifest.get("mixture"), Mapping):
        from corpusmill.tokenizer.mixture import report_rows

        mix = manifest["mixture"]
        note = (f"<p>{escape(fmt(mix.get('tokens', 0)))} tokens, largest deviation {100 * mix.get('max_deviation', 0):.2f} % "
                f"of tokens (tolerance {100 * mix.get('tolerance', 0):.0f} %). " + escape(" ".join(mix.get("warnings") or [])) + "</p>")
        sections.insert(-1, ("mixture", "Training mixture", note + html_table(*report_rows(mix), numeric={3, 4})))
    if redacted:
        sections.insert(5, ("redacted", "PII redactions", bar_chart(sorted(((str(k), int(v)) for k, v in redacted.items()), key=lambda kv: -kv[1]), color=PALETTE[7])))
    title = ", ".join(dict.fromkeys(source.label for source in plan.sources))
    version = manifest.get("corpusmill_version", "")
    nav = "".join(f'<a href="#{a}">{escape(t.split(":")[0])}</a>' for a, t, _ in sections)
    body = "".join(html_section(a, t, b) for a, t, b in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>corpusmill report{(' — ' + escape(title)) if title else ''}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>corpusmill run report{(': ' + escape(title)) if title else ''}</h1>"
        f"<p>{escape(outputs.basename(out))} · corpusmill {escape(version)}</p></header><nav>{nav}</nav><main>"
        f"{html_cards(cards)}{body}</main></body></html>\n"
    )


def render_report(output_dir: str | Path) -> Path | str:
    """Write `OUT/report/index.html` for a run's output directory and return its path (a str
    for a remote output: s3://, gs://...)."""
    out = str(output_dir)
    target = outputs.join(out, "report", "index.html")
    outputs.write_text(target, render_html(out))
    return target if outputs.is_remote(target) else Path(target)


# The names callers and tests have used from this module since before the split.
__all__ = ["DEDUP_COUNTERS", "LENGTH_EDGES", "PALETTE", "Decimated", "corpus_stats", "fmt", "render_html", "render_report"]
