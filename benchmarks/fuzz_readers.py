"""Deterministic mutation fuzzing of the source readers (a hostile-input audit).

The readers' contract (pipelines/sources/base.py): for ANY input bytes, `read(unit, config)`
yields Documents, Rejections (step "read") and Failures (file, position, reason), never lets
an exception escape, never hangs, stays within its configured memory limits, and never reads
or writes outside its input. This script checks that contract on mutants of real files.

Seeds (small, so that many mutants fit in the time budget): cut-down copies of the bundled
demo corpus (`samples/`: the first records of each WARC, the header and first pages of the
enwiki dump, the start of each book, the first members of a crate tarball) and a few small
real files of ../shared/data (warcio WARC/ARC, Common Crawl WET, ClueWeb09 WARC/0.18, pywb
revisits, wikipedia2vec and bgwiki dumps, Gutenberg books, a Rust repository tarball, CCNet
JSONL), plus a parquet file and a zip built from those. Missing shared data only drops its
seeds.

Mutants (`--mutants` per seed, RNG seeded by seed name and mutant number, so a run is
reproducible): one to three operators, either on the bytes as stored (bit flips, byte
insert/delete, truncation, chunk duplication or repetition, splicing with another seed) or
on the decompressed payload, which is then compressed again (same codec, or gzip, gzip per
record, bz2, xz, zstd, none) so the decompressor accepts it and the damage reaches the
parser. Payload operators include the generic ones and structural ones per format: header
values (WARC Content-Length, WARC-Type, HTTP status/encodings/charset, `<id>`, `<ns>`,
tar size/type/name fields with a re-computed checksum, zip sizes and methods) set to huge,
negative, non-ASCII-digit or empty values; page tags dropped or doubled; record bodies
replaced by pathological content (deep nesting, unclosed constructs, entity bombs, gzip
bombs, ANSI floods) with the WARC Content-Length re-computed so the record still parses;
hostile archive members (`..`, absolute names, links, devices, pax headers, huge sizes);
hostile parquet schemas, row-group layouts and dictionary bombs; a damaged multistream index. Code seeds are
also laid out as a folder with links to a sentinel file outside it, a link loop and a FIFO.
Limits: 70 % of the mutants run with the defaults, 20 % with tight ones (64 KiB records,
1 MiB per file, 200 members), 10 % with tiny ones (512 B records, 4 KiB per file, 3
members), so the limit paths are exercised too.

Each mutant runs in a forked worker process (address space limited to `--memory-gb`) with a
hard time limit (`--timeout`); a worker that times out or dies is replaced. Every unit that
the reader's `splits` makes of the input is read. Per mutant the worker checks: no exception
escaped; every item is a Document/Rejection/Failure; Rejections and Failures have step
"read"; every location names the input; no Failure hides a MemoryError (or a RecursionError
outside jsonl, where it is a documented per-line outcome); the sentinel's content appears in
no output; nothing was written to the input folder or the working directory. Reported per
reader: mutants run, escapes (with a traceback summary), timeouts, worker crashes, contract
violations, slow mutants, mean and max time, the largest rise of peak RSS over one mutant,
documents/rejections/failures.

Run: .venv/bin/python -m benchmarks.fuzz_readers [--mutants N] [--timeout S] [--kinds web wiki]
Writes benchmarks/results/fuzz_readers.json and fuzz_readers.md; exits 1 when a problem was
found. `--keep DIR` saves each problem mutant for reproduction.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import lzma
import multiprocessing as mp
import os
import platform
import random
import re
import resource
import shutil
import struct
import tarfile
import tempfile
import time
import traceback
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.provenance import write_json, write_markdown

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLES = ROOT / "samples"
RESULTS = ROOT / "benchmarks" / "results"

# A Failure whose error names one of these exception classes came from a reader's catch-all,
# not from a check that recognised the damage: likely a bug masked as a Failure (it may cost
# the rest of a file). Listed separately; NotImplementedError (an unsupported zip method) and
# the decompressors' own errors are data errors.
MASKED = re.compile(
    r"\b(?:TypeError|AttributeError|KeyError|IndexError|LookupError|NameError|AssertionError|ZeroDivisionError"
    r"|OverflowError|UnboundLocalError|SystemError|UnicodeError|UnicodeEncodeError|MemoryError)\b"
    r"|invalid literal for int"
)
SLOW_S = 5.0  # a mutant slower than this is listed (the seeds read in well under 1 s)
MAX_ITEMS = 200_000  # a reader yielding more items than this on a small mutant is runaway


# What this fuzzer found in the readers, each fixed with a regression test (kept here so the
# results page says why the table is clean).
FINDINGS: list[tuple[str, str, str]] = [
    ("code", "a tar member declaring 2**64 bytes (base-256 size field or pax `size`) in a truncated "
     "stream: tarfile's skip loop read nothing for ever (hang)",
     "archive_too_large as soon as a member would end past max_decompressed_bytes; "
     "test_code_repos.py::test_truncated_member_declaring_a_huge_size_ends_quickly"),
    ("web", "100,000 nested <div>s (500 KB): resiliparse's main-content pass costs elements x depth in one "
     "C++ call the page time limit cannot stop (hours)",
     "html.MAX_DOM_DEPTH = 128 (real pages <= 47): deeper pages are a Failure (PageTooDeep) in ms; "
     "test_web.py::test_deeply_nested_page_fails_fast"),
    ("web, wiki, jsonl, parquet", "non-ASCII digits ('²' passes str.isdigit(), not int()): a WARC Content-Length "
     "ended the whole file; a parquet integer field ended the unit; '٣527' was taken as a length",
     "ASCII digits only (and int()'s 4,300-digit limit); test_web.py::test_non_ascii_digit_content_length_costs_one_record, "
     "test_parquet.py::test_bad_integer_strings_fail_one_row, test_wiki.py::test_non_ascii_digit_page_id_and_namespace"),
    ("parquet", "3,000 one-row row groups: one unit per row group, each parsing the whole footer (20 s, quadratic)",
     "units are runs of row groups of >= split_bytes; test_parquet.py::test_many_tiny_row_groups_make_few_units"),
    ("web, wiki", "a declared charset naming a Python-only codec (rot13, base64, undefined, idna): decode_body "
     "raised LookupError/UnicodeError (the page failed); a dump declaring one failed whole",
     "encoding.charset_codec refuses them (read as an unknown label); "
     "test_html.py::test_python_only_codec_labels_are_unknown_charsets, "
     "test_wiki.py::test_dump_declaring_a_non_charset_codec_reads_as_utf8"),
    ("wiki", "encoding=\"UTF-16\" declared without a BOM: Python's utf-16 decoder raised UnicodeError and the "
     "whole dump failed; `<ns>----1</ns>` passed lstrip('-').isdigit() and raised ValueError",
     "a UTF-16/32 declaration over bytes without NULs is ignored, without a BOM it decodes little-endian; "
     "<ns> must match -?[0-9]+; same wiki tests"),
    ("wiki", "a dump declaring UTF-7 decoded to lone surrogates (e.g. '+3pY-'), whose UTF-8 re-encoding raised "
     "UnicodeEncodeError and ended the dump", "replaced when re-encoding; "
     "test_wiki.py::test_declared_codec_yielding_lone_surrogates"),
    ("parquet", "a 7 KB file of 3,000 rows sharing one 1 MB dictionary value decoded 1 GB per batch (memory "
     "bomb); max_decompressed_bytes was not applied at all",
     "footer sizes and decoded bytes count against max_decompressed_bytes; row groups storing < 1 KiB per row "
     "are read 16 rows at a time; test_parquet.py::test_dictionary_bomb_is_bounded, "
     "test_footer_size_over_the_decompression_limit"),
    ("parquet", "a first version of that fix read per-column footer metadata: on a bit-flipped footer pyarrow "
     "aborts the whole process (C++ terminate, worker crash) where reading the data reports an error",
     "row-group metadata only; test_parquet.py::test_damaged_column_footer_is_a_failure_not_an_abort"),
]


# ---------------------------------------------------------------------------------------
# Codecs


def gzip_members(data: bytes) -> list[bytes]:
    """The gzip members of `data` as separate compressed byte strings."""
    out = []
    pos = 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        if not d.eof:
            break
        end = len(data) - len(d.unused_data)
        out.append(data[pos:end])
        pos = end
    return out


def sniff(data: bytes) -> str:
    if data.startswith(b"\x1f\x8b"):
        return "gzip-members" if len(gzip_members(data[: 1 << 20])) > 1 else "gzip"
    if data.startswith(b"BZh"):
        return "bz2"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return "none"


def decompress(data: bytes) -> bytes:
    kind = sniff(data)
    if kind.startswith("gzip"):
        return gzip.decompress(data)
    if kind == "bz2":
        return bz2.decompress(data)
    if kind == "xz":
        return lzma.decompress(data)
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


_RECORD_SPLIT = re.compile(rb"(?=^WARC/\d+\.\d+\r?\n)", re.M)


def compress(data: bytes, codec: str) -> bytes:
    if codec == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if codec == "gzip-members":  # one member per WARC record, as Common Crawl ships
        parts = [p for p in _RECORD_SPLIT.split(data) if p]
        return b"".join(gzip.compress(p, compresslevel=1, mtime=0) for p in parts)
    if codec == "bz2":
        return bz2.compress(data, 1)
    if codec == "xz":
        return lzma.compress(data, preset=0)
    if codec == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=1).compress(data)
    return data


# ---------------------------------------------------------------------------------------
# Seeds


@dataclass
class Seed:
    name: str
    kind: str  # reader: web, wiki, books, code, jsonl, parquet
    data: bytes  # as stored
    form: str = "raw"  # payload form: raw (stream codec), tar, dir (a tar laid out as a folder), zip, parquet
    codec: str = "none"  # stream codec of `data` (for form raw/tar/dir)
    payload: bytes = b""  # decompressed (raw/tar/dir); rows as JSONL (parquet)
    options: dict[str, Any] = field(default_factory=dict)  # reader config for this seed
    filename: str = ""  # the mutant's file name (default m + a suffix of the kind)
    extra: dict[str, bytes] = field(default_factory=dict)  # files beside it (a multistream index)

    def __post_init__(self) -> None:
        if self.form in ("raw", "tar", "dir"):
            self.codec = sniff(self.data)
            self.payload = decompress(self.data)


def _first_members(path: Path, n: int) -> bytes:
    return b"".join(gzip_members(path.read_bytes())[:n])


def _wiki_head(data: bytes, pages: int) -> bytes:
    """Dump header and the first `pages` pages, closed."""
    end = 0
    for _ in range(pages):
        i = data.find(b"</page>", end)
        if i < 0:
            break
        end = i + len(b"</page>")
    return data[:end] + b"\n</mediawiki>\n"


def _book_cut(data: bytes, keep: int) -> bytes:
    """Start and end of a book (the Gutenberg header and footer), cut at line ends."""
    if len(data) <= 2 * keep:
        return data
    head = data[:keep].rsplit(b"\n", 1)[0]
    tail = data[-keep:].split(b"\n", 1)[-1]
    return head + b"\n\n" + tail


def _tar_subset(data: bytes, members: int) -> bytes:
    """The first `members` regular files and directories of a tarball, re-packed (tar.gz)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        n = 0
        for info in src:
            if not (info.isreg() or info.isdir()):
                continue
            if info.isreg() and info.size > 20_000:
                continue
            dst.addfile(info, src.extractfile(info) if info.isreg() else None)
            n += 1
            if n >= members:
                break
    return out.getvalue()


def _zip_from_tar(tar_gz: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(tar_gz), mode="r:*") as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src:
            if info.isreg():
                f = src.extractfile(info)
                z.writestr(info.name, f.read() if f else b"")
            elif info.isdir():
                z.writestr(info.name.rstrip("/") + "/", b"")
    return out.getvalue()


def _parquet_from_jsonl(lines: bytes, variant: int = 0) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    for i, row in enumerate(rows):
        row.setdefault("id", row.get("digest") or f"r{i}")
        row["text"] = row.get("raw_content") or row.get("text") or ""
    table = pa.Table.from_pylist([{"id": r["id"], "text": r["text"], "url": r.get("url")} for r in rows])
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=2 if variant else 1024, compression="snappy" if variant else "zstd")
    return out.getvalue()


def _multistream(xml: bytes, pages_per_stream: int = 2) -> tuple[bytes, bytes]:
    """A bz2 multistream dump (header stream, then streams of a few pages) and its index
    (`offset:page_id:title` lines, bz2), as Wikimedia publishes them."""
    first = xml.find(b"<page")
    pages = re.findall(rb"<page>.*?</page>\s*", xml[first:], re.S)
    streams = [xml[:first]] + [b"".join(pages[i : i + pages_per_stream]) for i in range(0, len(pages), pages_per_stream)]
    streams[-1] += b"</mediawiki>\n"
    data = b""
    index = []
    for k, stream in enumerate(streams):
        offset = len(data)
        data += bz2.compress(stream)
        for page in re.findall(rb"<page>.*?</page>", stream, re.S) if k else []:
            pid = re.search(rb"<id>(\d+)</id>", page)
            title = re.search(rb"<title>([^<]*)</title>", page)
            index.append(b"%d:%s:%s" % (offset, pid.group(1) if pid else b"0", title.group(1) if title else b""))
    return data, bz2.compress(b"\n".join(index) + b"\n")


CCNET = {"fields": {"url": "metadata.url", "title": "metadata.title", "language": "metadata.language",
                    "language_score": "metadata.language_score", "size_bytes": "metadata.length",
                    "crawl_date": "metadata.date_download", "page_id": "metadata.nlines"}}


def build_seeds() -> list[Seed]:
    seeds: list[Seed] = []
    web = SAMPLES / "web"
    for name in ("python-docs-sample.warc.gz", "debian-docs-multilingual-sample.warc.gz"):
        if (web / name).is_file():
            seeds.append(Seed(f"samples/web/{name}[:4]", "web", _first_members(web / name, 4)))
    if (web / "python-docs-sample.warc.gz").is_file():  # uncompressed WARC: the plain-stream path
        seeds.append(Seed("samples/web/python-docs-sample.warc[:3] (plain)", "web",
                          gzip.decompress(_first_members(web / "python-docs-sample.warc.gz", 3))))
    wiki_sample = SAMPLES / "wiki" / "enwiki-pages-articles-sample.xml.bz2"
    if wiki_sample.is_file():
        head = bz2.BZ2Decompressor().decompress(wiki_sample.read_bytes()[:300_000])
        seeds.append(Seed("samples/wiki/enwiki[:4 pages] (bz2)", "wiki", bz2.compress(_wiki_head(head, 4))))
        dump, index = _multistream(_wiki_head(head, 6))
        seeds.append(Seed("samples/wiki/enwiki[:6 pages] (multistream + index, 1 split per stream)", "wiki", dump,
                          options={"split_bytes": 1}, filename="m-multistream.xml.bz2",
                          extra={"m-multistream-index.txt.bz2": index}))
    books_dir = SAMPLES / "books"
    if (books_dir / "tang300-poems.zh.txt").is_file():
        seeds.append(Seed("samples/books/tang300[:12k]", "books", (books_dir / "tang300-poems.zh.txt").read_bytes()[:12_000]))
    if (books_dir / "kjv-bible.en.txt.xz").is_file():
        kjv = lzma.decompress((books_dir / "kjv-bible.en.txt.xz").read_bytes())[:20_000]
        seeds.append(Seed("samples/books/kjv[:20k] (xz)", "books", lzma.compress(kjv, preset=0)))
    serde = SAMPLES / "code" / "rust-serde-1.0.152.tar.gz"
    if serde.is_file():
        small = _tar_subset(serde.read_bytes(), 12)
        seeds.append(Seed("samples/code/rust-serde[:12 members] (tar.gz)", "code", small, form="tar"))
        seeds.append(Seed("samples/code/rust-serde[:12 members] (zip)", "code", _zip_from_tar(small), form="zip"))
        seeds.append(Seed("samples/code/rust-serde[:12 members] (folder, links out, fifo)", "code", small, form="dir"))

    if SHARED.is_dir():
        sw = SHARED / "web"
        for name in ("warcio_example.warc.gz", "warcio_example.arc.gz", "cc-whirlwind_CC-MAIN-2024-22.warc.wet.gz"):
            if (sw / name).is_file():
                seeds.append(Seed(f"web/{name}", "web", (sw / name).read_bytes()))
        for name, n in (("resiliparse_clueweb09-ja_quirk.warc.gz", 4), ("pywb_iana.warc.gz", 6)):
            if (sw / name).is_file():
                seeds.append(Seed(f"web/{name}[:{n}]", "web", _first_members(sw / name, n)))
        ccnet = sw / "dolma_ccnet_cc_en_head-0174.jsonl.gz"
        if ccnet.is_file():
            lines = b"".join(gzip.decompress(ccnet.read_bytes()).splitlines(keepends=True)[:4])
            seeds.append(Seed("web/dolma_ccnet[:4 lines] (jsonl.gz)", "jsonl", gzip.compress(lines, mtime=0), options=CCNET))
            seeds.append(Seed("parquet from dolma_ccnet[:4 lines]", "parquet", _parquet_from_jsonl(lines), form="parquet",
                              payload=lines, options={"fields": {"url": "url"}}))
            seeds.append(Seed("parquet from dolma_ccnet[:4 lines] (2-row groups, 2 KB splits)", "parquet",
                              _parquet_from_jsonl(lines, 1), form="parquet", payload=lines,
                              options={"fields": {"url": "url"}, "split_bytes": 2000}))
        wk = SHARED / "wiki"
        if (wk / "wikipedia2vec_enwiki-pages-articles-sample.xml.bz2").is_file():
            seeds.append(Seed("wiki/wikipedia2vec_enwiki (bz2)", "wiki", (wk / "wikipedia2vec_enwiki-pages-articles-sample.xml.bz2").read_bytes()))
        bg = wk / "gensim_bgwiki-latest-pages-articles-shortened.xml.bz2"
        if bg.is_file():
            text = bz2.decompress(bg.read_bytes()).decode("utf-16")  # a real UTF-16 dump
            head = _wiki_head(text.encode("utf-8"), 3).decode("utf-8").encode("utf-16")
            seeds.append(Seed("wiki/gensim_bgwiki[:3 pages] (UTF-16, bz2)", "wiki", bz2.compress(head)))
        ja = wk / "truncated" / "jawiki-truncated-100k.xml.xz"
        if ja.is_file():
            d = lzma.LZMADecompressor()
            head = d.decompress(ja.read_bytes()[:200_000], 400_000)
            seeds.append(Seed("wiki/truncated/jawiki[:3 pages] (xz)", "wiki", lzma.compress(_wiki_head(head, 3), preset=0)))
        gb = SHARED / "books" / "gutenberg"
        for name in ("pg24675_Ontboezemingen_nl_latin1.txt", "pg972_The-Devils-Dictionary.txt", "gensim_crime-and-punishment_ru_excerpt.txt"):
            if (gb / name).is_file():
                seeds.append(Seed(f"books/gutenberg/{name} (head+tail)", "books", _book_cut((gb / name).read_bytes(), 8_000)))
        anyhow = SHARED / "code" / "dtolnay__anyhow.tar.gz"
        if anyhow.is_file():
            seeds.append(Seed("code/dtolnay__anyhow[:25 members] (tar.gz)", "code", _tar_subset(anyhow.read_bytes(), 25), form="tar"))
    return seeds


# ---------------------------------------------------------------------------------------
# Mutation operators

INTERESTING = [
    "-1", "0", "1", "-0", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "99999999999999999999999999999", "-99999999999", "0x7fffffff", "1e9", "", " ", "NaN",
    "\u00b2", "\u0663\u0664", "\uff11\uff12", "1_000", " 12 ", "+5", "00000000000000000000000000000000012",
]


def _rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def op_bitflip(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "bitflip(empty)"
    b = bytearray(data)
    k = rng.choice([1, 1, 2, 4, 16, 64])
    for _ in range(k):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b), f"bitflip x{k}"


def op_insert(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    n = rng.choice([1, 3, 16, 512, 4096])
    junk = rng.choice([_rand_bytes(rng, n), b"\x00" * n, b"\r\n" * n, b"\xff" * n])
    return data[:i] + junk + data[i:], f"insert {n}@{i}"


def op_delete(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "delete(empty)"
    i = rng.randrange(len(data))
    n = rng.choice([1, 2, 7, 100, 2000])
    return data[:i] + data[i + n :], f"delete {n}@{i}"


def op_truncate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    return data[:i], f"truncate@{i}"


def op_duplicate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if not data:
        return data, "duplicate(empty)"
    i = rng.randrange(len(data))
    n = rng.choice([4, 64, 1024, 16384])
    chunk = data[i : i + n]
    times = rng.choice([1, 2, 50, 2000]) if len(chunk) <= 64 else rng.choice([1, 2, 8])
    j = rng.randrange(len(data) + 1)
    return data[:j] + chunk * times + data[j:], f"duplicate {len(chunk)}B x{times} @{j}"


GENERIC: list[Callable[[bytes, random.Random], tuple[bytes, str]]] = [
    op_bitflip, op_insert, op_delete, op_truncate, op_duplicate,
]


def op_number(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A run of digits (a length, an id, an octal tar field) -> an interesting value."""
    spans = [m.span() for m in re.finditer(rb"\d+", data[:200_000])]
    if not spans:
        return data, "number(none)"
    a, b = rng.choice(spans)
    v = rng.choice(INTERESTING).encode()
    return data[:a] + v + data[b:], f"number {data[a:b][:20]!r}->{v!r}"


def _sub_header(data: bytes, rng: random.Random, pattern: bytes, values: list[bytes], label: str) -> tuple[bytes, str]:
    found = list(re.finditer(pattern, data[:500_000], re.I | re.M))
    if not found:
        return data, f"{label}(none)"
    m = rng.choice(found)
    v = rng.choice(values)
    return data[: m.start(1)] + v + data[m.end(1) :], f"{label} -> {v[:30]!r}"


# --- WARC -------------------------------------------------------------------------------

_WARC_HEAD = re.compile(rb"WARC/\d+\.\d+\r?\n(?:[^\r\n]+\r?\n)*?Content-Length:\s*(\d+)\r?\n(?:[^\r\n]+\r?\n)*\r?\n", re.I)


def _warc_split(data: bytes) -> list[list[bytes]] | None:
    """[header, block, trailer] per WARC record when the payload parses; None otherwise."""
    recs = []
    pos = 0
    while pos < len(data):
        m = _WARC_HEAD.match(data, pos)
        if not m:
            return None
        n = int(m.group(1))
        block = data[m.end() : m.end() + n]
        end = m.end() + n
        t = end
        while t < len(data) and data[t] in (10, 13):
            t += 1
        recs.append([data[pos : m.end()], block, data[end:t]])
        pos = t
    return recs or None


def _warc_join(recs: list[list[bytes]]) -> bytes:
    out = []
    for head, block, trailer in recs:
        head = re.sub(rb"(Content-Length:\s*)\d+", lambda m: m.group(1) + str(len(block)).encode(), head, count=1, flags=re.I)
        out.append(head + block + trailer)
    return b"".join(out)


def _html_nasty(rng: random.Random) -> bytes:
    n = rng.choice([1000, 20000, 100000])
    choices = [
        b"<div>" * n,
        b"<table><tr><td>" * (n // 10),
        b"<!--" + b"a" * n,
        b"<script>" + b"x" * n,
        b"<p " + b"a=" * n + b">",
        b"&#xFFFFFFFF;&#0;&#x110000;" * (n // 20),
        b"<html><head><meta charset=\"utf-7\"></head><body>+ADw-script+AD4-" + b"<p>x</p>" * (n // 8),
        b"<html><body>" + ("\u00e9t\u00e9 ".encode("utf-16-le")) * (n // 8),
        b"<" * n,
        b"<a href='" + b"x" * n,
        b"<html><body><p>" + b"word " * n + b"</p></body></html>",
        b"<?xml version='1.0' encoding='ebcdic-cp-us'?><html><body><p>" + "hello world".encode("cp500") * 50,
        b"<svg><![CDATA[" + b"]" * n,
        b'<html><head><meta charset="' + rng.choice([b"rot13", b"undefined", b"idna", b"hex", b"utf-32", b"x-user-defined"]) + b'"></head><body><p>caf\xc3\xa9</p>',
        b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=' + b"a" * n + b'"></head><body>x',
    ]
    return rng.choice(choices)


def op_warc_struct(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    recs = _warc_split(data)
    choice = rng.randrange(10)
    if choice == 0 or recs is None:
        return _sub_header(data, rng, rb"^Content-Length:[ \t]*([^\r\n]*)", [v.encode() for v in INTERESTING], "WARC Content-Length")
    if choice == 1:
        return _sub_header(data, rng, rb"^WARC-Type:[ \t]*([^\r\n]*)",
                           [b"response", b"resource", b"conversion", b"revisit", b"", b"\xff\xfe", b"RESPONSE", b"continuation"], "WARC-Type")
    if choice == 2:
        return _sub_header(data, rng, rb"^(WARC/\d+\.\d+)", [b"WARC/9.99", b"WARC/1.0x", b"WARC/", b"warc/1.0", b"WARC/0.17"], "WARC version")
    if choice == 3:
        return _sub_header(data, rng, rb"^HTTP/1\.[01] (\d{3})", [b"200", b"206", b"999", b"000", b"-20", b"2", b"\xd9\xa2\xd9\xa0\xd9\xa0"], "HTTP status")
    r = rng.randrange(len(recs))
    head, block, trailer = recs[r]
    hb = block.find(b"\r\n\r\n")
    if choice == 4 and block.startswith(b"HTTP/") and hb > 0:  # add an HTTP header
        extra = rng.choice([
            b"Content-Encoding: gzip", b"Content-Encoding: deflate", b"Content-Encoding: br",
            b"Transfer-Encoding: chunked", b"Content-Type: text/html; charset=utf-7",
            b"Content-Type: text/html; charset=x-no-such-charset", b"Content-Type: text/html; charset=utf-16",
            b"Content-Type: text/html; charset=rot13", b"Content-Type: text/html; charset=undefined",
            b"Content-Type: text/html; charset=idna", b"Content-Type: text/html; charset=punycode",
            b"Content-Type: text/plain; charset=base64", b"Content-Type: text/html; charset=\xff\xfe",
            b"Content-Type: text/plain", b"Content-Type: application/octet-stream",
            b"Content-Type: " + b"a" * 70000,
        ])
        block = block[:hb] + b"\r\n" + extra + block[hb:]
        recs[r][1] = block
        return _warc_join(recs), f"record {r}: HTTP header {extra[:40]!r}"
    if choice == 5 and block.startswith(b"HTTP/") and hb > 0:  # re-encode the body
        body = block[hb + 4 :]
        how = rng.randrange(5)
        if how == 0:
            new, hdr = gzip.compress(body, mtime=0), b"Content-Encoding: gzip"
        elif how == 1:
            new, hdr = zlib.compress(body)[: rng.randrange(1, len(body) + 2)], b"Content-Encoding: deflate"
        elif how == 2:
            new, hdr = gzip.compress(b"<p>" + b"\0" * (40 << 20), compresslevel=9, mtime=0), b"Content-Encoding: gzip"
        elif how == 3:
            size = rng.randrange(1, 4096)
            pieces = [body[i : i + size] for i in range(0, len(body), size)]
            new = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
            new = rng.choice([new, new.replace(b"\r\n", b"\r\nffffffffffffffffffff\r\n", 1), new[: len(new) // 2]])
            hdr = b"Transfer-Encoding: chunked"
        else:
            new, hdr = zlib.compress(b"\0" * (40 << 20), 9), b"Content-Encoding: deflate"
        block = block[:hb] + b"\r\n" + hdr + b"\r\n\r\n" + new
        recs[r][1] = block
        return _warc_join(recs), f"record {r}: body re-encoded ({hdr.decode()}, variant {how})"
    if choice in (6, 7):  # replace the body with pathological HTML / text
        nasty = _html_nasty(rng)
        if block.startswith(b"HTTP/") and hb > 0:
            block = block[: hb + 4] + nasty
        else:
            block = nasty
        recs[r][1] = block
        return _warc_join(recs), f"record {r}: body -> pathological ({len(nasty)} B, {nasty[:16]!r})"
    if choice == 8:  # an HTTP head without an end, or a huge header block
        recs[r][1] = b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * rng.choice([10, 20000]) + rng.choice([b"", b"\r\n<p>x</p>"])
        return _warc_join(recs), f"record {r}: HTTP head only"
    # many header lines / a folded header flood
    flood = rng.choice([b"X-A: b\r\n" * 1500, b"WARC-Foo: a\r\n" + b" folded\r\n" * 50000, b"NoColonLine\r\n" * 500])
    recs[r][0] = head.replace(b"\r\n", b"\r\n" + flood, 1)
    return _warc_join(recs), f"record {r}: header flood {len(flood)} B"


# --- wiki -------------------------------------------------------------------------------


def _xml_escape(s: str) -> bytes:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def _wikitext_nasty(rng: random.Random) -> bytes:
    n = rng.choice([2000, 20000, 100000])
    choices = [
        "{{" * n, "}}" * n, "[[" * n, "]]" * n, "{|" * (n // 2), "|}" * n, "{{{" * n, "'''''" * n,
        "<ref>" * n, "<ref name=a/>" * (n // 4), "<!--" * n, "<nowiki>" * n, "<math>" * n,
        "{{a|" * n + "}}", "[[File:x|" * n, "[[a|" * n, "[http://x " * n, "=" * n + "\n",
        "\n=" * n, "*" * n + "\n", "&amp;" * n, "&#1114112;&#0;&#xD800;" * (n // 10), "<div>" * n,
        "{{" + "|" * n, "[[Category:" * n, "<" * n, "__TOC__" * n, "\n{|\n|-\n|" * (n // 4),
        "#REDIRECT" + " " * n + "[[x]]", "{{" + " " * n + "disambiguation}}",
    ]
    return _xml_escape(rng.choice(choices))


def op_wiki_struct(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    choice = rng.randrange(12)
    if choice in (0, 1, 2):  # pathological wikitext inside a page's <text>
        spots = [m.end() for m in re.finditer(rb"<text[^>]*>", data)]
        if not spots:
            return data, "wikitext(no <text>)"
        i = rng.choice(spots)
        nasty = _wikitext_nasty(rng)
        return data[:i] + nasty + data[i:], f"wikitext inject {nasty[:20]!r} ({len(nasty)} B)"
    if choice == 3:
        return _sub_header(data, rng, rb"<id>([^<]*)</id>", [v.encode() for v in INTERESTING] + [b"9" * 5000], "<id>")
    if choice == 4:
        return _sub_header(data, rng, rb"<ns>([^<]*)</ns>", [v.encode() for v in INTERESTING] + [b"-" * 10 + b"1"], "<ns>")
    if choice == 5:  # drop or double page tags
        tag = rng.choice([b"<page>", b"</page>", b"<mediawiki", b"</mediawiki>", b"<siteinfo>", b"</siteinfo>", b"<revision>", b"</text>"])
        found = [m.start() for m in re.finditer(re.escape(tag), data)]
        if not found:
            return data, f"tag {tag!r}(none)"
        i = rng.choice(found)
        if rng.random() < 0.5:
            return data[:i] + data[i + len(tag) :], f"drop {tag!r}@{i}"
        times = rng.choice([2, 1000])
        return data[:i] + tag * times + data[i:], f"repeat {tag!r} x{times} @{i}"
    if choice == 6:  # an entity bomb / external entity in the header and a page
        dtd = (b'<!DOCTYPE mediawiki [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
               b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
               b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY x SYSTEM "file:///etc/passwd">]>\n')
        i = data.find(b"<mediawiki")
        data = (data[:i] + dtd + data[i:]) if i >= 0 else dtd + data
        return data.replace(b"<text", b"<text>&e;&x;</text><textx", 1), "entity bomb + external entity"
    if choice == 7:  # re-encode the whole dump
        enc = rng.choice(["utf-16", "utf-16-le", "utf-16-be", "cp500", "latin-1", "utf-32", "shift_jis"])
        text = data.decode("utf-8", "replace")
        text = re.sub(r'encoding="[^"]*"', f'encoding="{enc}"', text, count=1)
        if not text.startswith("<?xml"):
            text = f'<?xml version="1.0" encoding="{enc}"?>\n' + text
        return text.encode(enc, "replace"), f"re-encoded as {enc}"
    if choice == 8:  # a declared encoding that lies
        enc = rng.choice([b"utf-16", b"cp500", b"no-such-codec", b"utf-7", b"idna", b"rot13", b"hex", b"base64", b"zlib", b"punycode",
                          b"undefined", b"unicode-escape", b"utf-32-be", b"x" * 300])
        if data.startswith(b"<?xml"):
            return re.sub(rb'encoding="[^"]*"', b'encoding="' + enc + b'"', data, count=1), f"declared encoding -> {enc!r}"
        return b'<?xml version="1.0" encoding="' + enc + b'"?>\n' + data, f"declared encoding -> {enc!r}"
    if choice == 9:  # a <page> with huge attributes / many children
        flood = rng.choice([b"<page " + b"a='b' " * 20000 + b">", b"<page>" + b"<revision><text>x</text></revision>" * 20000 + b"</page>"])
        i = data.find(b"<page")
        i = i if i >= 0 else len(data)
        return data[:i] + flood + data[i:], f"page flood {flood[:20]!r}"
    if choice == 10:
        return _sub_header(data, rng, rb"<model>([^<]*)</model>", [b"", b"Scribunto", b"wikitext\x00", b"x" * 10000], "<model>")
    return _sub_header(data, rng, rb"<title>([^<]*)</title>",
                       [b"", b"File:" * 5000, b"a:b:c", "\u202e\u0000".encode(), b"&#0;", b"&#x1F600;" * 1000], "<title>")


# --- books ------------------------------------------------------------------------------


def op_books_struct(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    n = rng.choice([1000, 20000, 200000])
    choice = rng.randrange(9)
    i = rng.randrange(len(data) + 1)
    if choice == 0:
        junk = rng.choice([b"\x1b[" * n, b"\x1b]" * n, b"\x1b]0;" + b"t" * n, b"\x1b[31m" * n, b"\x1b" * n, b"\x9b" * n])
        return data[:i] + junk + data[i:], f"ANSI flood {junk[:6]!r} {len(junk)} B"
    if choice == 1:
        junk = rng.choice([
            b"*** START OF THE PROJECT GUTENBERG EBOOK X ***\n" * (n // 50),
            b"*** END OF THE PROJECT GUTENBERG EBOOK X ***\n" * (n // 50),
            b"*END*THE SMALL PRINT!" + b" " * n,
            b"*** START OF THIS PROJECT GUTENBERG EBOOK" + b" " * n,
            b"\nTitle: x\n" + b"  y\n" * (n // 4),
            b"Produced by " + b"x " * n,
            b"End of the Project Gutenberg " * (n // 30),
            b" " * n + b"*END",
            b"*" * n,
            b"\t" * n + b"\n",
        ])
        return data[:i] + junk + data[i:], f"Gutenberg marker flood {junk[:12]!r} {len(junk)} B"
    if choice == 2:
        junk = rng.choice([b"%\n" * n, b"\n%\n" * (n // 3) + b"x\n" * n, b"%" * n])
        return data[:i] + junk + data[i:], f"fortune separators {len(junk)} B"
    if choice == 3:
        junk = rng.choice([b"\n" * n, b"\r" * n, b"\n \n" * n, b"\f\v" * n, b"x" * n * 5])
        return data[:i] + junk + data[i:], f"line-end flood {junk[:4]!r} {len(junk)} B"
    if choice == 4:
        text = data.decode("utf-8", "replace")
        enc = rng.choice(["utf-16", "utf-16-le", "utf-32", "gb18030", "shift_jis", "cp1251", "koi8-r", "cp500", "utf-7"])
        return text.encode(enc, "replace"), f"re-encoded as {enc}"
    if choice == 5:
        bom = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"])
        return bom + data, f"BOM {bom!r}"
    if choice == 6:
        junk = rng.choice([b"\x00" * n, b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", bytes(range(256)) * 4])
        return data[:i] + junk + data[i:], f"binary bytes {junk[:8]!r}"
    if choice == 7:
        junk = rng.choice([b"\xc3" * n, b"\xed\xa0\x80" * (n // 3), b"\xf4\x90\x80\x80" * (n // 4), b"\x80" * n])
        return data[:i] + junk + data[i:], f"invalid UTF-8 {junk[:4]!r}"
    return data * rng.choice([2, 20]), "whole text repeated"


# --- jsonl ------------------------------------------------------------------------------


def op_jsonl_struct(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    n = rng.choice([100, 5000, 200000])
    lines = data.splitlines(keepends=True) or [b"\n"]
    r = rng.randrange(len(lines))
    junk = rng.choice([
        b"[" * n + b"\n",
        b'{"a":' * n + b"\n",
        b'{"id": 1, "text": "x", "n": ' + b"9" * n + b"}\n",
        b'{"id": 1.5, "text": "x"}\n',
        b'{"id": true, "text": "x"}\n',
        b'{"id": [1], "text": "x"}\n',
        b'{"id": "a", "text": 5}\n',
        b'{"id": "a", "text": "\\ud800\\udfff\\ud800"}\n',
        b'{"id": "a", "text": NaN, "x": Infinity}\n',
        b'{"id": "a", "text": "x", "id": "b"}\n',
        b'{"id": "a", "text": "' + b"\\u0000" * n + b'"}\n',
        b'{"id": "a", "text": "' + b"x" * n + b"\n",
        b"\xef\xbb\xbf" + b'{"id": "a", "text": "bom"}\n',
        b'{"id": "a", "text": "x"}\r' * 10,
        b"\x00" * n + b"\n",
        b'"just a string"\n',
        b'{"id": "' + b"\xff" * 10 + b'", "text": "x"}\n',
        b'{"id": "a", "text": "\xe2\x80\xa8"}\n',
        b" " * n,
        b'{"id": "a", "text": "x"}' * n + b"\n",
        b'{"id": "' + b"1" * 5000 + b'", "text": "x"}\n',
        b'{"id": ' + b"1" * 5000 + b', "text": "x"}\n',
    ])
    lines.insert(r, junk)
    return b"".join(lines), f"line {r}: {junk[:24]!r} ({len(junk)} B)"


# --- tar / zip --------------------------------------------------------------------------


def _tar_checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    chk = sum(block[:512])
    block[148:156] = b"%06o\x00 " % chk


def _tar_header_offsets(tar: bytes) -> list[int]:
    offs = []
    pos = 0
    while pos + 512 <= len(tar):
        block = tar[pos : pos + 512]
        if block == b"\0" * 512:
            break
        try:
            size = int(block[124:136].rstrip(b"\0 ").strip() or b"0", 8)
        except ValueError:
            break
        offs.append(pos)
        pos += 512 + (size + 511) // 512 * 512
    return offs


_TAR_FIELDS = {"name": (0, 100), "mode": (100, 8), "size": (124, 12), "type": (156, 1), "linkname": (157, 100), "prefix": (345, 155)}


def op_tar_header(tar: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A tar header field set to a hostile value, checksum fixed so tarfile accepts it."""
    offs = _tar_header_offsets(tar)
    if not offs:
        return tar, "tar header(none)"
    pos = rng.choice(offs)
    fname = rng.choice(list(_TAR_FIELDS))
    start, width = _TAR_FIELDS[fname]
    values = {
        "name": [b"../../../../tmp/evil.rs", b"/etc/evil.rs", b"C:\\evil.rs", b"a/../../b.rs", b"", b"\xff\xfe.rs", b"./././" * 16, b"a" * 100],
        "mode": [b"7777777", b"0000000", b"9999999", b"\xff" * 7],
        "size": [b"77777777777", b"00000000000", b"\x80" + b"\x00" * 3 + b"\xff" * 8, b"\xff" * 12, b"1" * 11, b"-1"],
        "type": [b"1", b"2", b"3", b"4", b"6", b"7", b"S", b"K", b"L", b"x", b"g", b"V", b"M", b"\xff"],
        "linkname": [b"/etc/passwd", b"../../../../etc/shadow", b"a" * 100],
        "prefix": [b"../../..", b"/etc", b"x" * 155],
    }[fname]
    v = rng.choice(values)[:width].ljust(width, b"\0")
    block = bytearray(tar[pos : pos + 512])
    block[start : start + width] = v
    _tar_checksum(block)
    return tar[:pos] + bytes(block) + tar[pos + 512 :], f"tar header @{pos} {fname} -> {v.rstrip(chr(0).encode())[:24]!r}"


def _hostile_tar_members(rng: random.Random) -> tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]:
    code = b"fn main() { println!(\"hello\"); }\n"
    k = rng.randrange(10)

    def reg(name: str, data: bytes = code) -> tuple[tarfile.TarInfo, bytes]:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        return ti, data

    def special(name: str, typ: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
        ti = tarfile.TarInfo(name)
        ti.type = typ
        ti.linkname = link
        return ti, None

    if k == 0:
        return [reg("../../../../tmp/fuzz-evil.rs"), reg("/tmp/fuzz-evil2.rs"), reg("a/../../x.rs")], "path traversal names"
    if k == 1:
        return [special("src/evil.rs", tarfile.SYMTYPE, "/etc/passwd"), special("src/hard.rs", tarfile.LNKTYPE, "../../../etc/passwd")], "links out"
    if k == 2:
        return [special("dev/null.rs", tarfile.CHRTYPE), special("fifo.rs", tarfile.FIFOTYPE), special("blk.rs", tarfile.BLKTYPE)], "devices"
    if k == 3:
        return [reg("d/" * 1500 + "deep.rs")], "deep path (long name)"
    if k == 4:
        return [reg(f"many/f{i}.rs", b"") for i in range(3000)], "3000 empty members"
    if k == 5:
        ti, data = reg("src/big.rs", b"// " + b"a" * 2_000_000 + b"\n")
        return [(ti, data)], "2 MB member"
    if k == 6:
        ti, data = reg("src/pax.rs")
        ti.pax_headers = {"path": "../../../../tmp/pax-evil.rs", "size": "99999999999", "comment": "x" * 100000}
        return [(ti, data)], "pax path/size override"
    if k == 7:
        return [reg("src/nul.rs", b"fn\x00main"), reg("src/latin.rs", "// caf\u00e9\n".encode("latin-1") * 100),
                reg("src/min.js", b"var a=1;" * 20000)], "binary / latin-1 / minified"
    if k == 8:
        return [reg("src/same.rs"), reg("src/same.rs", b"// other\n"), reg("SRC/Same.rs")], "duplicate names"
    return [reg("LICENSE", b"MIT License\n" + b"Permission is hereby granted " * 20000), reg("COPYING", b"\xff\xfe" * 1000)], "odd license files"


def op_tar_members(tar: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Hostile members appended to (or put before) the archive's own."""
    extra, what = _hostile_tar_members(rng)
    out = io.BytesIO()
    fmt = rng.choice([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
    with tarfile.open(fileobj=out, mode="w", format=fmt) as dst:
        first = rng.random() < 0.5
        if first:
            for ti, data in extra:
                dst.addfile(ti, io.BytesIO(data) if data is not None else None)
        try:
            with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as src:
                for info in src:
                    dst.addfile(info, src.extractfile(info) if info.isreg() else None)
        except (tarfile.TarError, OSError, EOFError):
            pass
        if not first:
            for ti, data in extra:
                dst.addfile(ti, io.BytesIO(data) if data is not None else None)
    return out.getvalue(), f"tar members: {what}"


def op_zip_struct(z: bytes, rng: random.Random) -> tuple[bytes, str]:
    k = rng.randrange(6)
    if k <= 2:  # a field of a local or central header
        sig = rng.choice([b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"])
        found = [m.start() for m in re.finditer(re.escape(sig), z)]
        if not found:
            return z, "zip field(none)"
        pos = rng.choice(found)
        fields = {
            b"PK\x03\x04": {"flags": (6, 2), "method": (8, 2), "crc": (14, 4), "csize": (18, 4), "usize": (22, 4), "namelen": (26, 2), "extralen": (28, 2)},
            b"PK\x01\x02": {"flags": (8, 2), "method": (10, 2), "csize": (20, 4), "usize": (24, 4), "namelen": (28, 2), "extralen": (30, 2), "attr": (38, 4), "offset": (42, 4)},
            b"PK\x05\x06": {"entries": (10, 2), "cdsize": (12, 4), "cdoffset": (16, 4), "commentlen": (20, 2)},
        }[sig]
        fname, (off, width) = rng.choice(list(fields.items()))
        val = rng.choice([0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 99, 12, 14, 0xA1FF0000, 0x1]) & ((1 << (8 * width)) - 1)
        packed = struct.pack("<H" if width == 2 else "<I", val)
        return z[: pos + off] + packed + z[pos + off + width :], f"zip {sig!r} @{pos} {fname} -> {val:#x}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        try:
            with zipfile.ZipFile(io.BytesIO(z)) as src:
                for info in src.infolist():
                    dst.writestr(info, src.read(info))
        except Exception:  # noqa: BLE001 - the seed may already be broken
            pass
        if k == 3:
            for name in ("../../../../tmp/zip-evil.rs", "/etc/zip-evil.rs", "C:/evil.rs", "a\\..\\..\\b.rs"):
                dst.writestr(name, b"fn main() {}\n")
            what = "traversal names"
        elif k == 4:
            info = zipfile.ZipInfo("src/link.rs")
            info.external_attr = (0o120777 << 16)
            dst.writestr(info, "/etc/passwd")
            info = zipfile.ZipInfo("src/fifo.rs")
            info.external_attr = (0o010644 << 16)
            dst.writestr(info, b"")
            what = "symlink + fifo modes"
        else:
            dst.writestr("src/bomb.rs", b"/" * (60 << 20))  # 60 MB in ~60 KB
            what = "60 MB member"
    return out.getvalue(), f"zip members: {what}"


# --- parquet ----------------------------------------------------------------------------


def parquet_variant(lines: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A parquet file with a hostile schema or hostile values (written by pyarrow)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(x) for x in lines.splitlines() if x.strip()]
    texts = [r.get("raw_content", "") for r in rows]
    k = rng.randrange(9)
    n = len(texts)
    if k == 8:  # every row points at one big dictionary value: KBs on disk, GBs decoded
        rows = rng.choice([100, 3000])
        text = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["a" * (1 << 20)]))
        out = io.BytesIO()
        pq.write_table(pa.table({"id": [f"r{i}" for i in range(rows)], "text": text}), out, compression="zstd")
        return out.getvalue(), f"dictionary bomb ({rows} rows x 1 MB)"
    if k == 0:
        table, what = pa.table({"id": list(range(n)), "text": list(range(n))}), "int text column"
    elif k == 1:
        table, what = pa.table({"id": [None] * n, "text": texts}), "null ids"
    elif k == 2:
        table, what = pa.table({"id": ["a"] * n, "text": pa.array(texts).dictionary_encode()}), "dictionary text"
    elif k == 3:
        table, what = pa.table({"id": ["a"] * n, "text": pa.array(texts, pa.large_string())}), "large_string text"
    elif k == 4:
        table, what = pa.table({"id": [[1]] * n, "text": texts}), "list ids"
    elif k == 5:
        table, what = pa.table({"id": ["a"] * n, "text": [{"x": t} for t in texts]}), "struct text"
    elif k == 6:
        table, what = pa.table({"id": ["a"] * 3000, "text": ["x" * 10] * 3000}), "3000 rows, 1-row groups"
        out = io.BytesIO()
        pq.write_table(table, out, row_group_size=1)
        return out.getvalue(), what
    else:
        table, what = pa.table({"other": texts}), "no id/text columns"
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue(), what


# ---------------------------------------------------------------------------------------
# A mutant


STRUCT_OPS: dict[str, Callable[[bytes, random.Random], tuple[bytes, str]]] = {
    "web": op_warc_struct,
    "wiki": op_wiki_struct,
    "books": op_books_struct,
    "jsonl": op_jsonl_struct,
}


def make_mutant(seed: Seed, others: list[Seed], rng: random.Random) -> tuple[bytes, dict[str, bytes], list[str]]:
    """One mutant of `seed`, the files beside it, and the operators applied (deterministic
    in `rng`)."""
    if seed.extra and rng.random() < 0.3:  # damage a file beside the input (the index)
        name = rng.choice(sorted(seed.extra))
        payload = decompress(seed.extra[name])
        payload, what = rng.choice(GENERIC + [op_number, op_number])(payload, rng)
        return seed.data, {**seed.extra, name: compress(payload, rng.choice(["bz2", "bz2", "none"]))}, [f"{name}: {what}"]
    data, ops = _mutate_main(seed, others, rng)
    return data, seed.extra, ops


def _mutate_main(seed: Seed, others: list[Seed], rng: random.Random) -> tuple[bytes, list[str]]:
    ops: list[str] = []
    level = rng.random()
    if seed.form == "parquet" and level < 0.3:
        data, what = parquet_variant(seed.payload, rng)
        return data, [f"parquet: {what}"]
    if level < 0.35 or seed.form in ("zip", "parquet"):  # bytes as stored
        data = seed.data
        if seed.form == "zip" and rng.random() < 0.6:
            data, what = op_zip_struct(data, rng)
            ops.append(what)
        for _ in range(rng.choice([1, 1, 2, 3])):
            if rng.random() < 0.1 and others:
                other = rng.choice(others)
                i, j = rng.randrange(len(data) + 1), rng.randrange(len(other.data) + 1)
                data = data[:i] + other.data[j:]
                ops.append(f"splice raw @{i} with {other.name} @{j}")
            else:
                data, what = rng.choice(GENERIC)(data, rng)
                ops.append(what)
        return data, ["raw: " + "; ".join(ops)]
    payload = seed.payload
    for _ in range(rng.choice([1, 1, 2])):
        r = rng.random()
        if seed.form in ("tar", "dir"):
            op = op_tar_header if r < 0.4 else op_tar_members if r < 0.7 else rng.choice(GENERIC + [op_number])
        elif r < 0.55 and seed.kind in STRUCT_OPS:
            op = STRUCT_OPS[seed.kind]
        elif r < 0.65:
            op = op_number
        elif r < 0.72 and others:
            other = rng.choice(others)
            i, j = rng.randrange(len(payload) + 1), rng.randrange(len(other.payload) + 1)
            payload = payload[:i] + other.payload[j:]
            ops.append(f"splice payload @{i} with {other.name} @{j}")
            continue
        else:
            op = rng.choice(GENERIC)
        payload, what = op(payload, rng)
        ops.append(what)
    codecs = ["gzip", "bz2", "xz", "zstd", "none"] + (["gzip-members"] * 2 if seed.kind == "web" else [])
    codec = seed.codec if rng.random() < 0.6 else rng.choice(codecs)
    if seed.form in ("tar", "dir") and codec == "gzip-members":
        codec = "gzip"
    data = compress(payload, codec)
    return data, ["payload: " + "; ".join(ops) + f" | codec {codec}"]


# ---------------------------------------------------------------------------------------
# Scaling probes: super-linear time that stays under the per-mutant limit at fuzz sizes

# One repeated unit per probe; each probe runs at n, 4n and 16n repetitions inside a real
# page/record/book/line. Linear work grows 16x from n to 16n; an exponent above
# SUPERLINEAR_EXPONENT (time ratio > 16**1.5 = 64) on a run that took at least
# PROBE_MIN_SECONDS is listed as super-linear.
WIKI_PROBES = [
    "{{", "}}", "[[", "]]", "{|", "{|\n", "|}", "{{{", "'''''", "''", "<ref>", "</ref>", "<ref name=a/>", "<!--",
    "<nowiki>", "<math>", "<pre>", "<gallery>", "{{a|", "{{a}}", "[[a|", "[[a|b]]", "[[File:x|", "[[Category:x]]",
    "[http://x ", "[http://x y]", "\n=", "==x==\n", "\n*", "\n:", "\n;", "\n#", "&amp;", "&#x41;", "<div>",
    "<span>", "__TOC__", "x\n", "\n\n", "|", "=", "<", "{", "[",
]
HTML_PROBES = [
    "<div>", "<p>", "<b>", "<i><b>", "<font>", "<span>", "<a href=x>", "<li>", "<ul>", "<table>", "<table><tr><td>",
    "<td>", "<br>", "<!--", "<script>", "<style>", "<", "&amp;", "<div></div>", "<p>word word word.</p>",
    "<nobr>", "<select>", "<option>", "<form>", "<h1>", "<article>", "<div class=content>", "<a>", "word ",
    "<noscript>", "<svg>", "<math>", "<template>", "<button>",
]
BOOK_PROBES = [
    "\x1b[", "\x1b]", "\x1b]0;x", "\x1b", "%\n", "\n", "\r", "\r\n", " ", "\t", "a", "*",
    "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n", "*** END OF THE PROJECT GUTENBERG EBOOK X ***\n", "*END*",
    "Title: x\n", "  y\n", "Produced by x\n", "End of the Project Gutenberg\n", "\n%\nx\n", "\f", "\u00e9", "\u4e00",
]
JSON_PROBES = ["\\u0000", "\\ud800", "\\\\", "\\n", "x", "\\u00e9", " "]
PROBE_SIZES = (1, 4, 16)
SUPERLINEAR_EXPONENT = 1.5
PROBE_MIN_SECONDS = 0.5


def probe_inputs(seeds: list[Seed]) -> list[tuple[str, str, Seed, Callable[[int], bytes]]]:
    """(kind, probe name, seed, input of k x n repetitions) for every probe whose seed exists."""
    first: dict[tuple[str, str, bool], Seed] = {}
    for seed in seeds:
        first.setdefault((seed.kind, seed.form, bool(seed.extra)), seed)
    out: list[tuple[str, str, Seed, Callable[[int], bytes]]] = []
    wiki = first.get(("wiki", "raw", False))
    if wiki is not None:
        xml = decompress(wiki.data)
        at = re.search(rb"<text[^>]*>", xml)
        if at:
            for unit in WIKI_PROBES:
                esc = _xml_escape(unit)
                n = max(1, 24_000 // len(esc))
                out.append(("wiki", unit, wiki, lambda k, n=n, esc=esc, xml=xml, i=at.end(): xml[:i] + esc * (n * k) + xml[i:]))
    web = first.get(("web", "raw", False))
    recs = _warc_split(decompress(web.data)) if web is not None else None
    r = next((j for j, rec in enumerate(recs or []) if rec[1].startswith(b"HTTP/") and b"\r\n\r\n" in rec[1]), None)
    if web is not None and recs and r is not None:
        head = recs[r][1][: recs[r][1].find(b"\r\n\r\n") + 4]
        for unit in HTML_PROBES:
            n = max(1, 24_000 // len(unit))

            def build(k: int, n: int = n, unit: str = unit, head: bytes = head, r: int = r) -> bytes:
                copy = [list(x) for x in recs]
                copy[r][1] = head + b"<html><body>" + unit.encode() * (n * k) + b"<p>The end of the page.</p>"
                return _warc_join(copy)

            out.append(("web", unit, web, build))
    book = first.get(("books", "raw", False))
    if book is not None:
        text = decompress(book.data)
        for unit in BOOK_PROBES:
            raw = unit.encode()
            n = max(1, 24_000 // len(raw))
            out.append(("books", unit, book, lambda k, n=n, raw=raw, text=text: text[: len(text) // 2] + raw * (n * k) + text[len(text) // 2 :]))
    lines = first.get(("jsonl", "raw", False))
    if lines is not None:
        for unit in JSON_PROBES:
            raw = unit.encode()
            n = max(1, 24_000 // len(raw))
            out.append(("jsonl", unit, lines, lambda k, n=n, raw=raw: b'{"id": "p", "text": "' + raw * (n * k) + b'"}\n'))
    return out


# ---------------------------------------------------------------------------------------
# The worker (a forked process)


LIMITS: dict[str, dict[str, dict[str, int]]] = {
    # (limits label) -> reader kind -> config overrides; "*" applies to every reader
    "default": {},
    "tight": {"*": {"max_record_bytes": 64 * 1024, "max_decompressed_bytes": 1 << 20},
              "code": {"max_file_bytes": 16 * 1024, "max_members": 200}, "web": {"max_page_bytes": 32 * 1024}},
    "tiny": {"*": {"max_record_bytes": 512, "max_decompressed_bytes": 4096},
             "code": {"max_file_bytes": 100, "max_members": 3}, "web": {"max_page_bytes": 256}},
}


def _config(kind: str, path: str, limits: str, options: dict[str, Any]) -> Any:
    extra: dict[str, Any] = dict(options)
    if kind == "web":
        extra["page_timeout_s"] = 2.0  # the fuzz budget; the mechanism is what is tested
    extra.update(LIMITS[limits].get("*", {}))
    extra.update(LIMITS[limits].get(kind, {}))
    return _module(kind).Config(paths=[path], **extra)


def _module(kind: str) -> Any:
    import importlib

    from corpusmill.pipelines.sources import SOURCE_MODULES

    return importlib.import_module(SOURCE_MODULES[kind])


def run_one(kind: str, path: str, limits: str, options: dict[str, Any], sentinel: str) -> dict[str, Any]:
    """Read one mutant (every unit `splits` makes of it); the counts and every contract
    violation (never raises). `sentinel` is the content of a file outside the input that
    hostile members link to: seeing it in any output means the reader left its input."""
    from corpusmill.schemas.document import Document, Failure, Rejection

    out: dict[str, Any] = {"docs": 0, "rejections": 0, "failures": 0, "units": 0, "violations": [], "masked": [], "escape": None, "reasons": {}}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    try:
        module = _module(kind)
        config = _config(kind, path, limits, options)
        units = list(module.splits(path, config)) if hasattr(module, "splits") else [path]
        out["units"] = len(units)
        n = 0
        for unit in units:
            for item in module.read(unit, config):
                n += 1
                if n > MAX_ITEMS:
                    out["violations"].append(f"runaway: more than {MAX_ITEMS} items")
                    break
                if isinstance(item, Document):
                    out["docs"] += 1
                    if not isinstance(item.text, str) or not item.location.startswith(path):
                        out["violations"].append(f"document with bad text/location {item.location[:80]!r}")
                    elif sentinel in item.text:
                        out["violations"].append(f"read outside the input: {item.location[:80]!r}")
                elif isinstance(item, Rejection):
                    out["rejections"] += 1
                    if item.step != "read" or not item.location.startswith(path):
                        out["violations"].append(f"rejection step={item.step!r} location={item.location[:80]!r}")
                    elif sentinel in (item.text_preview or ""):
                        out["violations"].append(f"read outside the input: {item.location[:80]!r}")
                elif isinstance(item, Failure):
                    out["failures"] += 1
                    if item.step != "read" or not item.location.startswith(path) or not item.error:
                        out["violations"].append(f"failure step={item.step!r} location={item.location[:80]!r} error={item.error!r}")
                    if "MemoryError" in item.error or ("RecursionError" in item.error and kind != "jsonl"):
                        out["violations"].append(f"failure hides {item.error[:80]!r}")
                    if MASKED.search(item.error):
                        out["masked"].append(item.error[:200])
                    reason = re.sub(r"\d+", "N", item.error.split(":", 1)[0])[:60]
                    out["reasons"][reason] = out["reasons"].get(reason, 0) + 1
                else:
                    out["violations"].append(f"yielded a {type(item).__name__}")
    except BaseException as e:  # noqa: BLE001 - what we are looking for
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f for f in frames if "/pipelines/" in f.filename] or frames
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours[-4:]))
        out["escape"] = f"{type(e).__name__}: {str(e)[:200]} at {where}"
    out["seconds"] = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["maxrss_mb"] = rss1 / 1024
    out["rss_growth_mb"] = (rss1 - rss0) / 1024  # > 0 only when this mutant set a new peak
    return out


def _worker(conn: Any, workdir: str, memory_bytes: int) -> None:
    os.chdir(workdir)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(run_one(*job))


class Pool:
    """One forked worker; replaced when it times out or dies."""

    def __init__(self, workdir: str, memory_bytes: int) -> None:
        self.workdir = workdir
        self.memory = memory_bytes
        self.ctx = mp.get_context("fork")
        self.proc: Any = None
        self.conn: Any = None

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.workdir, self.memory), daemon=True)
        self.proc.start()
        self.conn = parent

    def run(self, job: tuple[Any, ...], timeout: float) -> dict[str, Any]:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        t0 = time.perf_counter()
        self.conn.send(job)
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            self.proc.join(1)
            code = self.proc.exitcode
            self.proc = None
            return {"crash": f"worker died (exit code {code})", "seconds": time.perf_counter() - t0}
        self.proc.kill()
        self.proc.join()
        self.proc = None
        return {"timeout": True, "seconds": time.perf_counter() - t0}

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.conn.send(None)
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()


# ---------------------------------------------------------------------------------------
# Main


@dataclass
class KindStats:
    mutants: int = 0
    docs: int = 0
    rejections: int = 0
    failures: int = 0
    escapes: list[dict[str, Any]] = field(default_factory=list)
    timeouts: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    masked: list[dict[str, Any]] = field(default_factory=list)
    slow: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    max_seconds: float = 0.0
    max_seconds_case: str = ""
    max_rss_growth_mb: float = 0.0
    max_rss_growth_case: str = ""
    units: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


SUFFIX = {"web": ".warc", "wiki": ".xml", "books": ".txt", "code": ".tar", "jsonl": ".jsonl", "parquet": ".parquet"}


# Reader options a mutant may run with (30 %), besides its seed's: other extractors, book
# splitting and fortune entries, more namespaces, unknown languages, swapped record fields.
OPTION_VARIANTS: dict[str, list[dict[str, Any]]] = {
    "web": [{"extractor": "trafilatura"}, {"extractor": "resiliparse"}, {"extractor": "resiliparse_clean"}, {"min_text_chars": 200}],
    "books": [{"max_chars": 1000}, {"max_chars": 50}, {"fortunes": "entries"}, {"strip_gutenberg": False}],
    "wiki": [{"namespaces": [0, 1, 2, 4, 6, 10, 14, -1]}, {"skip_disambiguation": False}],
    "code": [{"include_unknown_languages": True}],
    "jsonl": [{"id_field": "text", "text_field": "id"}, {"fields": {"url": "id", "page_id": "text", "language_score": "text"}}],
    "parquet": [{"id_field": "text", "text_field": "id"}, {"fields": {"url": "id", "page_id": "text", "language_score": "text"}}],
}


def materialize_dir(tar_data: bytes, root: str, sentinel_path: str) -> None:
    """Lay a (possibly damaged) tar out as a folder, the way a careless unpacker would:
    links kept pointing wherever they point, FIFOs and devices as FIFOs; plus a link to a
    file outside the folder, a link to its parent, a link loop and a FIFO (which a reader
    that opened it would block on)."""
    os.makedirs(root)
    try:
        with tarfile.open(fileobj=io.BytesIO(decompress(tar_data)), mode="r:") as tar:
            for n, info in enumerate(tar):
                if n > 5000:
                    break
                parts = [p for p in info.name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
                if not parts or len("/".join(parts)) > 1000:
                    continue
                full = os.path.join(root, *parts)
                try:
                    os.makedirs(os.path.dirname(full), exist_ok=True)
                    if info.isdir():
                        os.makedirs(full, exist_ok=True)
                    elif info.isreg():
                        f = tar.extractfile(info)
                        with open(full, "wb") as out:
                            out.write(f.read(4 << 20) if f else b"")
                    elif info.issym() or info.islnk():
                        os.symlink(info.linkname, full)
                    else:
                        os.mkfifo(full)
                except (OSError, ValueError):
                    continue
    except Exception:  # noqa: BLE001 - a damaged tar: keep what was laid out
        pass
    src = os.path.join(root, "src-hostile")
    os.makedirs(src, exist_ok=True)
    os.symlink(sentinel_path, os.path.join(src, "outside.rs"))
    os.symlink(os.path.dirname(sentinel_path), os.path.join(src, "outside_dir"))
    os.symlink("..", os.path.join(src, "up"))
    os.symlink("loop.rs", os.path.join(src, "loop.rs"))
    os.mkfifo(os.path.join(src, "pipe.rs"))


def _clear(folder: str) -> list[str]:
    """Empty `folder`; the names that were in it."""
    names = sorted(os.listdir(folder))
    for name in names:
        full = os.path.join(folder, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.remove(full)
    return names


def _run_probes(pool: Pool, seeds: list[Seed], inputs: str, token: str, timeout: float, kinds: list[str] | None) -> list[dict[str, Any]]:
    """Each scaling probe at PROBE_SIZES: time per size, exponent, verdict."""
    import math

    results = []
    for kind, name, seed, build in probe_inputs(seeds):
        if kinds and kind not in kinds:
            continue
        times: list[float | None] = []
        problem = ""
        for k in PROBE_SIZES:
            path = os.path.join(inputs, f"p{SUFFIX[kind]}")
            with open(path, "wb") as f:
                f.write(build(k))
            res = pool.run((kind, path, "default", seed.options, token), timeout)
            _clear(inputs)
            if res.get("timeout") or res.get("crash") or res.get("escape"):
                problem = "timeout" if res.get("timeout") else str(res.get("crash") or res.get("escape"))
                times.append(None)
                break
            times.append(res["seconds"])
        exponent = None
        if len(times) == len(PROBE_SIZES) and None not in times:
            t1, tn = times[0], times[-1]
            exponent = math.log(max(tn, 1e-3) / max(t1, 1e-3)) / math.log(PROBE_SIZES[-1] / PROBE_SIZES[0])
        slow_end = times[-1] is not None and times[-1] >= PROBE_MIN_SECONDS
        superlinear = bool(problem) or (exponent is not None and exponent > SUPERLINEAR_EXPONENT and slow_end)
        results.append({"kind": kind, "probe": name, "seed": seed.name, "seconds": times, "exponent": exponent,
                        "superlinear": superlinear, "problem": problem, "bytes_at_max": len(build(PROBE_SIZES[-1]))})
        if superlinear:
            print(f"!! probe {kind} {name!r}: {times} {problem}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=int, default=600, help="mutants per seed")
    ap.add_argument("--timeout", type=float, default=20.0, help="hard time limit per mutant (s)")
    ap.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit of the worker")
    ap.add_argument("--kinds", nargs="*", default=None, help="only these readers")
    ap.add_argument("--keep", type=Path, default=None, help="save the mutants that escaped/hung here")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write results/")
    ap.add_argument("--no-probes", action="store_true", help="skip the scaling probes")
    args = ap.parse_args(argv)

    seeds = [s for s in build_seeds() if not args.kinds or s.kind in args.kinds]
    by_kind: dict[str, list[Seed]] = {}
    for s in seeds:
        by_kind.setdefault(s.kind, []).append(s)
    stats: dict[str, KindStats] = {k: KindStats() for k in by_kind}
    workdir = tempfile.mkdtemp(prefix="corpusmill-fuzz-")
    inputs, cwd, outside = (os.path.join(workdir, d) for d in ("input", "cwd", "outside"))
    for d in (inputs, cwd, outside):
        os.mkdir(d)
    token = f"CORPUSMILL-FUZZ-SENTINEL-{random.Random(0).getrandbits(64):016x}"
    sentinel_path = os.path.join(outside, "secret.rs")
    with open(sentinel_path, "w") as f:
        f.write(f'fn main() {{ let secret = "{token}"; }}\n')
    pool = Pool(cwd, int(args.memory_gb * 1024**3))
    started = time.perf_counter()
    peak_rss = 0.0
    probes: list[dict[str, Any]] = []
    try:
        for seed in seeds:
            others = [o for o in by_kind[seed.kind] if o is not seed and o.form == seed.form]
            st = stats[seed.kind]
            seed_t0 = time.perf_counter()
            for i in range(-1, args.mutants):
                rng = random.Random(f"{seed.name}#{i}")
                if i < 0:
                    data, extra, ops, limits = seed.data, seed.extra, ["seed itself"], "default"
                else:
                    data, extra, ops = make_mutant(seed, others, rng)
                    r = rng.random()
                    limits = "tiny" if r < 0.1 else "tight" if r < 0.3 else "default"
                options = dict(seed.options)
                if i >= 0 and rng.random() < 0.3:
                    variant = rng.choice(OPTION_VARIANTS[seed.kind])
                    options.update(variant)
                    ops = ops + [f"options {variant}"]
                path = os.path.join(inputs, seed.filename or f"m{SUFFIX[seed.kind]}")
                if seed.form == "dir":
                    path = os.path.join(inputs, "m")
                    materialize_dir(data, path, sentinel_path)
                else:
                    with open(path, "wb") as f:
                        f.write(data)
                for name, content in extra.items():
                    with open(os.path.join(inputs, name), "wb") as f:
                        f.write(content)
                res = pool.run((seed.kind, path, limits, options, token), args.timeout)
                expected = {os.path.basename(path), *extra}
                written = sorted(set(_clear(inputs)) - expected) + sorted(_clear(cwd))
                case = {"seed": seed.name, "mutant": i, "limits": limits, "ops": ops, "bytes": len(data),
                        "seconds": round(res["seconds"], 3)}
                if written or os.listdir(outside) != ["secret.rs"]:
                    st.violations.append({**case, "what": f"files written: {written[:5]}"})
                st.mutants += 1
                st.seconds += res["seconds"]
                if res["seconds"] > st.max_seconds:
                    st.max_seconds, st.max_seconds_case = res["seconds"], f"{seed.name} #{i} ({limits} limits): {'; '.join(ops)[:160]}"
                bad = False
                if res.get("timeout"):
                    st.timeouts.append(case)
                    bad = True
                elif res.get("crash"):
                    st.crashes.append({**case, "what": res["crash"]})
                    bad = True
                else:
                    peak_rss = max(peak_rss, res["maxrss_mb"])
                    if res["rss_growth_mb"] > st.max_rss_growth_mb:
                        st.max_rss_growth_mb = res["rss_growth_mb"]
                        st.max_rss_growth_case = f"{seed.name} #{i} ({limits} limits): {'; '.join(ops)[:160]}"
                    st.docs += res["docs"]
                    st.rejections += res["rejections"]
                    st.failures += res["failures"]
                    st.units += res["units"]
                    for k, v in res["reasons"].items():
                        st.reasons[k] = st.reasons.get(k, 0) + v
                    if res["escape"]:
                        st.escapes.append({**case, "what": res["escape"]})
                        bad = True
                    if res["violations"]:
                        st.violations.append({**case, "what": "; ".join(sorted(set(res["violations"])))[:300]})
                        bad = True
                    if res["masked"]:
                        st.masked.append({**case, "what": "; ".join(sorted(set(res["masked"])))[:300]})
                        print(f"?? {seed.kind} {seed.name} #{i}: {res['masked'][0][:150]} ops={ops}", flush=True)
                    if res["seconds"] > SLOW_S:
                        st.slow.append(case)
                if bad:
                    print(f"!! {seed.kind} {seed.name} #{i}: {case.get('what') or ('timeout' if res.get('timeout') else res)} ops={ops}", flush=True)
                    if args.keep:
                        args.keep.mkdir(parents=True, exist_ok=True)
                        (args.keep / f"{seed.kind}-{re.sub(r'[^A-Za-z0-9]+', '_', seed.name)}-{i}{SUFFIX[seed.kind]}").write_bytes(data)
            print(f"{seed.kind:8} {seed.name:70} {args.mutants + 1:4} runs {time.perf_counter() - seed_t0:6.1f} s", flush=True)
        if not args.no_probes:
            probes = _run_probes(pool, seeds, inputs, token, args.timeout, args.kinds)
    finally:
        pool.close()
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    summary = _summary(stats, seeds, args, total, peak_rss, probes)
    print(summary["markdown"])
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        write_markdown(RESULTS / "fuzz_readers.md", summary["markdown"])
        write_json(RESULTS / "fuzz_readers.json", summary["data"], indent=1, ensure_ascii=False)
    bad = sum(len(s.escapes) + len(s.timeouts) + len(s.crashes) + len(s.violations) + len(s.masked) for s in stats.values())
    bad += sum(1 for p in probes if p["superlinear"])
    return 1 if bad else 0


def _summary(stats: dict[str, KindStats], seeds: list[Seed], args: Any, total: float, peak_rss: float,
             probes: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        "probes": probes,
        "mutants_per_seed": args.mutants,
        "timeout_s": args.timeout,
        "memory_gb": args.memory_gb,
        "total_seconds": round(total, 1),
        "worker_peak_rss_mb": round(peak_rss),
        "machine": platform.platform(),
        "seeds": [{"name": s.name, "kind": s.kind, "bytes": len(s.data), "payload_bytes": len(s.payload)} for s in seeds],
        "kinds": {k: {**vars(v), "mean_seconds": v.seconds / max(v.mutants, 1)} for k, v in stats.items()},
    }
    lines = [
        "# Reader fuzzing (hostile-input audit)",
        "",
        f"`python -m benchmarks.fuzz_readers --mutants {args.mutants} --timeout {args.timeout:g}`: "
        f"{len(seeds)} seeds, {sum(s.mutants for s in stats.values())} runs (each seed once plus its mutants), "
        f"{total:.0f} s wall on this machine; worker peak RSS {peak_rss:.0f} MB "
        f"(address space limited to {args.memory_gb:g} GB). Seeded RNG: a rerun makes the same mutants.",
        "",
        "| reader | runs | units read | escaped exceptions | timeouts | worker crashes | contract violations | masked bugs "
        "| slow (> 5 s) | mean s/mutant | max s | max RSS growth MB | docs | rejections | failures |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, s in stats.items():
        lines.append(
            f"| {k} | {s.mutants} | {s.units} | {len(s.escapes)} | {len(s.timeouts)} | {len(s.crashes)} | {len(s.violations)} | "
            f"{len(s.masked)} | {len(s.slow)} | "
            f"{s.seconds / max(s.mutants, 1):.4f} | {s.max_seconds:.2f} | {s.max_rss_growth_mb:.0f} | {s.docs} | {s.rejections} | {s.failures} |"
        )
    lines += ["", "Slowest mutant per reader:", ""]
    for k, s in stats.items():
        lines.append(f"- {k}: {s.max_seconds:.2f} s, {s.max_seconds_case}")
    lines += ["", "Largest rise of the worker's peak RSS over one mutant, per reader (the worker is reused, so "
              "this is the extra memory that mutant needed above everything before it):", ""]
    for k, s in stats.items():
        lines.append(f"- {k}: {s.max_rss_growth_mb:.0f} MB, {s.max_rss_growth_case or '-'}")
    problems = [(k, label, c) for k, s in stats.items() for label, cases in
                (("escape", s.escapes), ("timeout", s.timeouts), ("crash", s.crashes), ("violation", s.violations),
                 ("masked bug", s.masked)) for c in cases]
    lines += ["", "## Problems", ""]
    if not problems:
        lines.append("None: no exception escaped, no mutant hit the time limit, no worker died, no contract violation, "
                     "no Failure carried a generic exception (a bug masked by a catch-all).")
    for k, label, c in problems[:60]:
        limits_note = f" ({c['limits']} limits)" if c["limits"] != "default" else ""
        lines.append(f"- {k} {label}: {c['seed']} #{c['mutant']}{limits_note}: "
                     f"{c.get('what', '')} -- ops: {'; '.join(c['ops'])[:200]}")
    if probes:
        worst = sorted(probes, key=lambda p: -(p["seconds"][-1] if p["seconds"][-1] is not None else 1e9))[:12]
        flagged = [p for p in probes if p["superlinear"]]
        lines += ["", "## Scaling probes", "",
                  f"{len(probes)} patterns (wikitext, HTML, book text, JSON strings), each repeated inside a real page, "
                  f"record, book or line at {'/'.join(map(str, PROBE_SIZES))}x (~24 KB at 1x): "
                  f"{len(flagged)} super-linear (time exponent > {SUPERLINEAR_EXPONENT} with >= {PROBE_MIN_SECONDS} s at the "
                  "largest size, or a timeout). Flagged ones and the slowest at the largest size:", "",
                  "| reader | pattern | bytes at 16x | s at 1x / 4x / 16x | exponent |", "|---|---|---|---|---|"]
        for p in flagged + [p for p in worst if p not in flagged]:
            secs = " / ".join("-" if t is None else f"{t:.3f}" for t in p["seconds"])
            exp = "-" if p["exponent"] is None else f"{p['exponent']:.2f}"
            mark = f" **{p['problem'] or 'super-linear'}**" if p["superlinear"] else ""
            lines.append(f"| {p['kind']} | `{p['probe']!r}` | {p['bytes_at_max']} | {secs} | {exp}{mark} |")
    lines += ["", "## Found and fixed", "", "Earlier runs of this script found these (each now has a regression test):", ""]
    lines += [f"- **{reader}**: {bug}. Fix: {fix}." for reader, bug, fix in FINDINGS]
    lines += ["", "## Failure reasons seen (first word of the error, digits as N)", ""]
    for k, s in stats.items():
        top = sorted(s.reasons.items(), key=lambda kv: -kv[1])[:8]
        lines.append(f"- {k}: " + ", ".join(f"{r} ({n})" for r, n in top))
    lines += ["", "## Seeds", ""] + [f"- {s.kind}: {s.name} ({len(s.data)} B stored, {len(s.payload)} B payload)" for s in seeds]
    return {"markdown": "\n".join(lines) + "\n", "data": data}


if __name__ == "__main__":
    raise SystemExit(main())
