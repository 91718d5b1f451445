"""Builds benchmarks/data/pii_labels.jsonl, the labelled PII set of benchmarks/pii.py.

Every snippet is cut from a real document of ../shared/data (web pages as plain text, code
archives, Wikipedia dumps); the labels below were written by hand after reading each snippet.
`R` records a value found in real text; `F` puts a fake value (fake keys and tokens, phone
numbers in formats the real text lacks) in place of a real value inside a real snippet, and the
record says so (`origin: "fake value in real context"`). `N` records a hard negative (a value
that looks like PII and is not: versions, dates, ISBNs, hashes, UUIDs, reserved example
addresses, coordinates, prices, IBANs ...). `also` lists the other labelled values of the same
snippet, so that every snippet is labelled completely (kinds: email, ipv4, ipv6, phone, secret;
anything else is a hard-negative category).

Run: .venv/bin/python -m benchmarks.data.pii_labels_build  (needs ../shared/data)
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import json
import os
import tarfile
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = Path(__file__).resolve().parent / "pii_labels.jsonl"
PII_KINDS = ("email", "ipv4", "ipv6", "phone", "secret")


@dataclasses.dataclass
class Spec:
    kind: str  # a PII kind or a hard-negative category
    value: str  # the labelled value, as it appears in the snippet
    hint: str = ""  # a substring of the source name (file or URL) to look in
    fake_for: str | None = None  # the real value replaced by `value`
    also: tuple[tuple[str, str], ...] = ()
    region: str | None = None  # phone numbers: the country whose format it is
    anchor: str | None = None  # locate the snippet by this text instead of the value


def R(kind: str, value: str, hint: str = "", *also: tuple[str, str], region: str | None = None) -> Spec:
    return Spec(kind, value, hint, None, also, region)


def F(kind: str, value: str, real: str, hint: str = "", *also: tuple[str, str], region: str | None = None) -> Spec:
    return Spec(kind, value, hint, real, also, region)


def N(category: str, value: str, hint: str = "", *also: tuple[str, str]) -> Spec:
    return Spec(category, value, hint, None, also)


def documents() -> list[tuple[str, str]]:
    """(source name, plain text) of every real document the snippets come from."""
    docs: list[tuple[str, str]] = []
    for path in sorted((DATA / "web").glob("*.warc.gz")) + sorted((DATA / "sample" / "web").glob("*.warc.gz")):
        if path.name.startswith(("debian-docs", "python3.11")):
            continue
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
                body = rec.reader.read()
                if b"<" not in body[:5000]:
                    continue
                text = extract_plain_text(bytes_to_str(body, detect_encoding(body)), main_content=False)
                docs.append((f"{path.name}:{rec.headers.get('WARC-Target-URI')}", text))
    for path in sorted((DATA / "code").glob("*.tar.gz")):
        with tarfile.open(path) as tf:
            for m in tf:
                if m.isfile() and m.size < 2_000_000:
                    try:
                        docs.append((f"{path.name}:{m.name}", tf.extractfile(m).read().decode("utf-8")))  # type: ignore[union-attr]
                    except UnicodeDecodeError:
                        pass
    for path in sorted((DATA / "wiki").rglob("*.bz2")):
        docs.append((path.name, bz2.open(path, "rt", errors="replace").read()))
    for path in sorted((DATA / "web").glob("*.jsonl.gz")):
        for line in gzip.open(path, "rt"):
            row = json.loads(line)
            docs.append((f"{path.name}:{row.get('url')}", row.get("text") or ""))
    return docs


def snippet(text: str, start: int, end: int, width: int = 110) -> str:
    """The lines around [start, end), at most `width` characters either side, cut at spaces."""
    lo = text.rfind("\n", 0, max(0, start - 40))
    lo = max(lo + 1, start - width)
    hi = text.find("\n", min(len(text), end + 40))
    hi = min(hi if hi != -1 else len(text), end + width)
    if lo > 0 and text[lo - 1] not in "\n ":
        lo = text.find(" ", lo, start) + 1 if text.find(" ", lo, start) != -1 else lo
    if hi < len(text) and text[hi] not in "\n ":
        cut = text.rfind(" ", end, hi)
        hi = cut if cut != -1 else hi
    return text[lo:hi]


def build(specs: list[Spec], other_values: dict[str, str]) -> list[dict[str, object]]:
    docs = documents()
    rows: list[dict[str, object]] = []
    errors: list[str] = []
    for i, spec in enumerate(specs):
        needle = spec.anchor or spec.fake_for or spec.value
        for name, text in docs:
            if spec.hint in name and needle in text:
                pos = text.index(needle)
                snip = snippet(text, pos, pos + len(needle))
                if spec.fake_for is not None:
                    snip = snip.replace(spec.fake_for, spec.value, 1)
                break
        else:
            errors.append(f"spec {i}: {needle!r} not found in a source matching {spec.hint!r}")
            continue
        labels = [(spec.kind, spec.value), *spec.also]
        missing = [value for _, value in labels if value not in snip]
        if missing:
            errors.append(f"spec {i}: {missing!r} not in its snippet {snip!r}")
            continue
        rows.append(
            {
                "id": f"pii-{i:04d}",
                "source": name,
                "origin": "real" if spec.fake_for is None else "fake value in real context",
                "text": snip,
                "pii": [
                    {"kind": k, "value": v, "fake": spec.fake_for is not None and (k, v) == (spec.kind, spec.value)}
                    for k, v in labels
                    if k in PII_KINDS
                ],
                "negatives": [{"kind": k, "value": v} for k, v in labels if k not in PII_KINDS],
                **({"region": spec.region} if spec.region else {}),
            }
        )
    if errors:
        raise SystemExit("\n".join(errors))
    for row in rows:
        labelled = {(lab["kind"], lab["value"]) for group in ("pii", "negatives") for lab in row[group]}  # type: ignore[attr-defined]
        for value, kind in other_values.items():
            if value in row["text"] and (kind, value) not in labelled:  # type: ignore[operator]
                label = {"kind": kind, "value": value, **({"fake": False} if kind in PII_KINDS else {})}
                row["pii" if kind in PII_KINDS else "negatives"].append(label)  # type: ignore[attr-defined]
    return rows


def build_labels() -> list[dict[str, object]]:
    """The labelled snippets, cut from ../shared/data now (the excerpts are third-party text,
    so they are not kept in the repository; only the hand-written labels are)."""
    from benchmarks.data.pii_labels_specs import OTHER_VALUES, SPECS  # the hand-written labels

    return build(SPECS, OTHER_VALUES)


def main() -> None:
    rows = build_labels()
    with open(OUT, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} snippets -> {OUT}")


if __name__ == "__main__":
    main()
