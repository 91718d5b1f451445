"""The building blocks of the run report's page: escaping and number formats, tables, cards,
sections, the inline SVG charts and the page's CSS.

No JavaScript, no external CSS, fonts or images: every chart is an inline SVG drawn here.
Every string passed in (source names, reasons, previews of rejected texts, URLs) is
HTML-escaped here (`escape`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2f3e4e;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cdd6df}
nav{padding:8px 28px;background:#e9edf1;position:sticky;top:0}nav a{margin-right:14px;color:#2f3e4e;text-decoration:none}
main{padding:8px 28px 40px;max-width:1100px}section{background:#fff;border:1px solid #e2e6ea;border-radius:6px;padding:8px 18px 14px;margin:16px 0}
h2{font-size:18px;border-bottom:1px solid #eee;padding-bottom:4px}h3{font-size:15px;margin:14px 0 4px}small{color:#777;font-weight:normal}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #e2e6ea;border-radius:6px;padding:8px 14px;min-width:120px}
.card strong{display:block;font-size:20px}.card span{color:#666;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;margin:6px 0}svg .lbl{font-size:12px;fill:#333}svg .val{font-size:11px;fill:#555}svg .tick{font-size:10px;fill:#666}
svg .ttl{font-size:12px;fill:#444}svg .axis{stroke:#999;stroke-width:1}
.example{border-left:3px solid #e15759;margin:6px 0 10px;padding:2px 10px;background:#fdf6f6}.example .meta{font-size:12px;color:#666}
pre{white-space:pre-wrap;word-break:break-word;max-height:11em;overflow:auto;margin:4px 0;font-size:12px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.empty{color:#888;font-style:italic}
"""


# ----------------------------------------------------------------------------- text and tables


def escape(value: Any) -> str:
    """`value` as text, HTML-escaped (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(n: float) -> str:
    """1234567 -> '1,234,567'; floats with 3 significant decimals."""
    if isinstance(n, (int, np.integer)) or float(n).is_integer() and abs(n) >= 1:
        return f"{int(n):,}"
    if abs(n) >= 100:
        return f"{n:,.0f}"
    return f"{n:.3g}"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int] | None = None) -> str:
    """A table of `rows`; the columns in `numeric` are right-aligned, their numbers formatted by `fmt`."""
    numeric = numeric or set()
    head = "".join(f'<th{" class=num" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(fmt(v) if isinstance(v, (int, float)) else v)}</td>' if i in numeric else f"<td>{escape(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="empty">none</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>{body}</section>'


def html_cards(items: Sequence[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(f'<div class="card"><strong>{escape(v)}</strong><span>{escape(k)}</span></div>' for k, v in items) + "</div>"


# ----------------------------------------------------------------------------- SVG charts


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label (about 7.2 px per character at 12 px), within 90..380 px."""
    return int(min(380, max(90, 20 + 7.2 * max((len(str(x)) for x in labels), default=0))))


def bar_chart(items: Sequence[tuple[str, float]], *, unit: str = "", color: str = PALETTE[0], label_width: int | None = None,
              width: int = 760, notes: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per (label, value), with the value printed after each bar."""
    if not items:
        return '<p class="empty">nothing to show</p>'
    label_width = label_width or _label_width(label for label, _ in items)
    row = 24
    top = 6
    height = top + row * len(items) + 6
    vmax = max((v for _, v in items), default=0) or 1
    span = width - label_width - 110
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(1.0, span * value / vmax) if value > 0 else 0
        note = f" {notes[i]}" if notes and notes[i] else ""
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="lbl">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" fill="{color}" rx="2">'
            f'<title>{escape(label)}: {escape(fmt(value))}{escape(unit)}</title></rect>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 16}" class="val">{escape(fmt(value))}{escape(unit)}{escape(note)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(labels: Sequence[str], counts: Sequence[int], *, color: str = PALETTE[0], width: int = 760,
              height: int = 200, title: str = "") -> str:
    """Vertical bars over labelled bins (counts printed above non-empty bins)."""
    if not counts or not any(counts):
        return '<p class="empty">nothing to show</p>'
    left, bottom, top = 40, 44, 34 if title else 18
    n = len(counts)
    slot = min(64.0, (width - left - 10) / n)
    cmax = max(counts) or 1
    plot_h = height - bottom - top
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    if title:
        parts.append(f'<text x="{left}" y="14" class="ttl">{escape(title)}</text>')
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{left + n * slot:.1f}" y2="{height - bottom}" class="axis"/>')
    widest = max((len(str(label)) for label in labels), default=1) * 6.5
    every = max(1, math.ceil(widest / slot))
    for i, (label, c) in enumerate(zip(labels, counts)):
        x = left + i * slot
        h = plot_h * c / cmax
        if c:
            parts.append(
                f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, slot - 4):.1f}" height="{max(h, 1):.1f}" '
                f'fill="{color}"><title>{escape(label)}: {escape(fmt(c))}</title></rect>'
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle" class="val">{escape(fmt(c))}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" class="tick">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(steps: Sequence[tuple[str, int, int]], *, width: int = 760) -> str:
    """Documents remaining after each step of a source: (label, remaining, dropped here)."""
    if not steps:
        return '<p class="empty">nothing to show</p>'
    row, label_width = 26, _label_width(s[0] for s in steps)
    height = 8 + row * len(steps)
    vmax = max(s[1] + s[2] for s in steps) or 1
    span = width - label_width - 170
    parts = [f'<svg class="chart funnel" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, remaining, dropped) in enumerate(steps):
        y = 4 + i * row
        w_keep = span * remaining / vmax
        w_drop = span * dropped / vmax
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="lbl">{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(w_keep, 0.5):.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
                     f'<title>{escape(label)}: {escape(fmt(remaining))} remain</title></rect>')
        if dropped:
            parts.append(f'<rect x="{label_width + w_keep:.1f}" y="{y + 3}" width="{max(w_drop, 1):.1f}" height="{row - 8}" '
                         f'fill="{PALETTE[3]}" opacity="0.75"><title>{escape(label)}: {escape(fmt(dropped))} dropped</title></rect>')
        text = f"{fmt(remaining)}" + (f"  (−{fmt(dropped)})" if dropped else "")
        parts.append(f'<text x="{label_width + w_keep + w_drop + 6:.1f}" y="{y + 17}" class="val">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
