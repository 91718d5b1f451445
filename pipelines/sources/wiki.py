"""Wikipedia (MediaWiki) pages-articles XML dumps -> Documents of clean plain text.

Input: `pages-articles` XML, plain or compressed (bz2 single or multistream, xz, gzip, zstd;
detected by magic bytes, `base.sniff_compression`; see `decompressed_chunks`), UTF-8 or
UTF-16 or another declared encoding (re-encoded to UTF-8 on the fly).

How it reads (constant memory, bounded work, no XML entity/DTD processing):
  * the decompressed byte stream is cut into `<page>...</page>` chunks by a byte scan (in
    MediaWiki XML `<` inside text is always escaped, so these tokens only occur as tags);
    a page larger than `max_record_bytes` is skipped with a Failure;
  * each chunk is parsed on its own by lxml with entity resolution, DTD loading and the
    network off. A chunk carries no DTD, so any entity other than the five predefined ones
    and character references (a "billion laughs" bomb, an external `SYSTEM` entity) is an
    undefined-entity error: that page becomes a Failure, nothing is expanded or fetched, and
    the reader goes on. A DOCTYPE in the dump header is never parsed (ignored);
  * `<siteinfo>` gives `dbname` (document ids), `base` (URLs) and the namespace names.

Each `<page>` ends as exactly one of:
  * `Document` (source "wiki"): id = make_id("wiki", dbname, page_id), location
    `path#page=ID`, url = siteinfo base + title (MediaWiki's `wfUrlencode` rule), title,
    page_id, text = `wikitext.to_plain_text(...)` (the title is NOT repeated in the text; it
    is in `title`);
  * `Rejection(step="read")` with reason
      - `wiki_namespace`: the page's namespace is not in `Config.namespaces` (default: 0,
        articles);
      - `wiki_redirect`: a `<redirect>` element, or (old dumps) text starting `#WORD [[`;
      - `wiki_disambiguation`: a disambiguation template (`DISAMBIGUATION_TEMPLATES`, many
        languages) or the `__DISAMBIG__` switch (Extension:Disambiguator);
      - `wiki_content_model`: a `<model>` other than wikitext (Lua modules, JSON, CSS);
      - `wiki_empty`: nothing left after markup removal (a page of templates only);
  * `Failure(step="read")`: a file that is not a MediaWiki dump (no `<mediawiki>` before
    the first page: one Failure, `NotAWikiDump`); a page that is not well-formed XML
    (location `path#page=ID` when its id can be found, else `path#offset=N`); a page over
    `max_record_bytes`; a page whose conversion raised (a bug, kept to that page); or the
    end of a truncated dump (ONE failure for the tail: location `path#offset=N`, the
    decompressed byte offset where the incomplete page starts, and the last complete page
    id in the error). A decompression error ends the unit with one Failure.

Work units (`splits`): the whole file, or, for a bz2 multistream dump with its index
(`*-multistream-index.txt.bz2` beside it, or `Config.index`), byte ranges of whole bz2
streams `path#streams=START-END` (END exclusive) of about `split_bytes` compressed bytes
each, so one dump is read in parallel. `read` accepts both.
"""

from __future__ import annotations

import bz2
import codecs
import io
import itertools
import lzma
import re
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Literal

from lxml import etree
from pydantic import Field

from corpusmill.pipelines.sources.base import (
    LimitExceeded,
    SourceConfig,
    describe_error,
    open_input,
    open_raw,
    sniff_compression,
)
from corpusmill.pipelines.sources.encoding import charset_codec
from corpusmill.pipelines.sources.wikitext import to_plain_text
from corpusmill.schemas.document import PREVIEW_CHARS, Document, Failure, Rejection, make_id

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SOURCE = "wiki"
READ_BYTES = 1 << 16  # one read of compressed input / one piece of decompressed output
MAX_HEADER_BYTES = 4 << 20  # a siteinfo larger than this is not a MediaWiki dump header


class Config(SourceConfig):
    """Options of the Wikipedia source."""

    kind: Literal["wiki"] = "wiki"
    namespaces: list[int] = Field(default=[0], description="namespaces kept (0 = articles)")
    skip_disambiguation: bool = Field(default=True, description="reject disambiguation pages")
    index: str | None = Field(
        default=None,
        description="multistream index (offset:page_id:title lines, bz2 or plain); default: "
        "the *-multistream-index*.txt*.bz2 beside each dump. Only meaningful with one dump.",
    )
    split_bytes: int = Field(
        default=64 * 1024**2, gt=0, description="target compressed bytes per multistream split"
    )


# --- disambiguation -----------------------------------------------------------------------

# Template names (lower case, `_` as space) that mark a disambiguation page: the main
# disambiguation template of the larger Wikipedias and common English redirects to it.
# Hatnotes ("for other uses see ...", e.g. uk {{Значення}}, fr {{Voir homonymes}}) and
# maintenance tags ({{Disambiguation needed}}) are deliberately absent: they sit on articles.
DISAMBIGUATION_TEMPLATES: frozenset[str] = frozenset(
    {
        # en
        "disambiguation", "disambig", "disamb", "dab", "disambiguation page", "hndis",
        "geodis", "numberdis", "letter disambiguation", "letter-numbercombdisambig",
        "given name disambiguation", "surname disambiguation", "place name disambiguation",
        "school disambiguation", "hospital disambiguation", "call sign disambiguation",
        "species latin name disambiguation", "mil-unit-dis", "roaddis", "genus disambiguation",
        "human name disambiguation", "disambiguation cleanup", "disambig-cleanup",
        # other languages
        "begriffsklärung", "bkl", "homonymie", "desambiguación", "desambig", "disambigua",
        "doorverwijspagina", "dp", "неоднозначность", "многозначность", "неоднозначність",
        "曖昧さ回避", "aimai", "消歧义", "消歧義", "định hướng", "trang định hướng",
        "ujednoznacznienie", "desambiguação", "anlam ayrımı", "täsmennyssivu", "förgrening",
        "flertydig", "pekerside", "rozcestník", "пояснение", "вишезначна одредница",
        "višeznačna odrednica", "توضيح", "ابهام‌زدایی", "פירושונים", "동음이의", "동음이의어",
        "disambiguasi", "egyért", "desambiguació", "dezambiguizare", "täpsustus",
        "nozīmju atdalīšana", "razločitev", "αποσαφήνιση", "แก้ความกำกวม", "बहुविकल्पी",
    }
)
# The name is bounded and lazy, and has no `\s*` around it: linear even on "{{" + spaces.
_TEMPLATE_NAME_RE = re.compile(r"\{\{([^{}|<]{1,100}?)(?:\||\}\})")
_REDIRECT_TEXT_RE = re.compile(r"\A\s*#[^\W\d_]{2,40}\s*:?\s*\[\[")  # "#REDIRECT [[", "#ПЕРЕНАПРАВЛЕНИЕ [["


def is_disambiguation(wikitext: str) -> bool:
    """True if the page transcludes a disambiguation template (`DISAMBIGUATION_TEMPLATES`,
    name compared case-insensitively, `_` = space, a `Template:`-style prefix ignored) or has
    the language-independent `__DISAMBIG__` switch."""
    if "__DISAMBIG__" in wikitext:
        return True
    for m in _TEMPLATE_NAME_RE.finditer(wikitext):
        name = " ".join(m.group(1).replace("_", " ").split()).lower()
        if name in DISAMBIGUATION_TEMPLATES:
            return True
        if ":" in name and name.split(":", 1)[1].strip() in DISAMBIGUATION_TEMPLATES:
            return True
    return False


# --- site info ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteInfo:
    """What a dump's `<siteinfo>` says (fallbacks when absent: dbname from the file name)."""

    dbname: str
    base: str | None = None  # e.g. https://en.wikipedia.org/wiki/ (page URLs = base + title)
    namespaces: dict[str, int] = field(default_factory=dict)  # name -> key


def _fallback_dbname(path: str) -> str:
    """`enwiki-20230501-pages-articles.xml.bz2` -> `enwiki`."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.split("-", 1)[0].split(".", 1)[0] or name


def parse_siteinfo(header: bytes, path: str) -> tuple[SiteInfo, str | None]:
    """SiteInfo from the bytes before the first page; (info, error) where error says why the
    siteinfo could not be used (then fallbacks are used)."""
    start = header.find(b"<siteinfo")
    end = header.find(b"</siteinfo>", start)
    if start < 0 or end < 0:
        return SiteInfo(_fallback_dbname(path)), None
    try:
        root = etree.fromstring(header[start : end + len(b"</siteinfo>")], _parser())
    except etree.XMLSyntaxError as exc:
        return SiteInfo(_fallback_dbname(path)), f"siteinfo: {describe_error(exc)}"
    strip_ns(root)
    dbname = (root.findtext("dbname") or "").strip() or _fallback_dbname(path)
    base_url = (root.findtext("base") or "").strip()
    base = base_url.rsplit("/", 1)[0] + "/" if "/" in base_url else None
    namespaces: dict[str, int] = {}
    for ns in root.iterfind("namespaces/namespace"):
        try:
            key = int(ns.get("key", ""))
        except ValueError:
            continue
        if ns.text and ns.text.strip():
            namespaces[ns.text.strip()] = key
    return SiteInfo(dbname, base, namespaces), None


def page_url(base: str | None, title: str) -> str | None:
    """Page URL as MediaWiki writes it: spaces -> `_`, percent-encoded except the
    characters `wfUrlencode` keeps (`;@$!*(),/~:`)."""
    if not base:
        return None
    return base + urllib.parse.quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


# --- XML ----------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    """A parser that never expands entities, never loads a DTD and never reaches a network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # text nodes > 10 MB (real long pages); size is bounded by the chunking
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def strip_ns(root: etree._Element) -> None:
    """Drop XML namespaces from tag names in place (export-0.10 vs 0.11 ... all alike)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]


# --- byte stream -> page chunks -----------------------------------------------------------

_PAGE_OPEN_RE = re.compile(rb"<page[\s>]")
_PAGE_CLOSE = b"</page>"
_ID_RE = re.compile(rb"<id>\s*(\d+)\s*</id>")
_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def decompressed_chunks(raw: BinaryIO, limit: int, what: str) -> Iterator[bytes]:
    """The decompressed bytes of `raw` (bz2, xz, gzip, by magic bytes; concatenated streams
    and members read through; anything else passed as is), in pieces of at most READ_BYTES,
    at most `limit` bytes in total (then LimitExceeded).

    Incremental decompressor objects rather than `open_input`'s file objects: a buffered
    `read(n)` that meets a truncated stream raises and discards what it had gathered, which
    would lose the last complete pages before the damage; here every byte decompressed
    before an error is yielded first. Each call's output is capped, so a compression bomb
    costs at most `limit` bytes of work."""
    head = raw.read(READ_BYTES)
    kind = sniff_compression(head[:8])
    total = 0

    def count(out: bytes) -> bytes:
        nonlocal total
        total += len(out)
        if total > limit:
            raise LimitExceeded(f"{what} exceeds {limit} decompressed bytes")
        return out

    if kind == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BufferedReader(_PrefixedReader(head, raw)), read_across_frames=True
        )
        while out := reader.read(READ_BYTES):
            yield count(out)
        return
    if kind not in ("bz2", "xz", "gzip"):
        data = head
        while data:
            yield count(data)
            data = raw.read(READ_BYTES)
        return
    decomp = _new_decompressor(kind)
    pending = head  # compressed bytes not yet given to the decompressor
    while True:
        if decomp.eof:
            pending = decomp.unused_data or raw.read(READ_BYTES)
            if not pending or not pending.strip(b"\x00"):
                return  # end of input (xz stream padding is zero bytes)
            decomp = _new_decompressor(kind)  # the next stream / member
            continue
        if isinstance(decomp, (bz2.BZ2Decompressor, lzma.LZMADecompressor)):
            if decomp.needs_input:
                data = pending or raw.read(READ_BYTES)
                pending = b""
                if not data:
                    raise EOFError(f"compressed input ends inside a {kind} stream")
            else:
                data = b""
            out = decomp.decompress(data, READ_BYTES)
        else:  # gzip (zlib)
            data = decomp.unconsumed_tail or pending or raw.read(READ_BYTES)
            pending = b""
            if not data:
                raise EOFError("compressed input ends inside a gzip member")
            out = decomp.decompress(data, READ_BYTES)
        if out:
            yield count(out)


def _new_decompressor(kind: str) -> bz2.BZ2Decompressor | lzma.LZMADecompressor | zlib._Decompress:
    """An incremental decompressor for `kind` ("bz2", "xz" or "gzip")."""
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor()
    return zlib.decompressobj(wbits=31)


class _PrefixedReader(io.RawIOBase):
    """`head` followed by the rest of `raw`."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._head[: len(view)] if self._head else self._raw.read(len(view))
        self._head = self._head[len(data) :] if self._head else b""
        view[: len(data)] = data
        return len(data)


def utf8_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The byte chunks as UTF-8: UTF-8 passes through (a BOM dropped); UTF-16 (BOM or NUL
    pattern) and other declared encodings are decoded (invalid bytes replaced) and
    re-encoded."""
    it = iter(chunks)
    head = b""
    for piece in it:  # enough bytes to see a BOM and the XML declaration
        head += piece
        if len(head) >= 256:
            break
    if not head:
        return
    encoding: str | None = None
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(b"<\x00"):
        encoding = "utf-16-le"
    elif head.startswith(b"\x00<"):
        encoding = "utf-16-be"
    else:
        m = _ENCODING_RE.match(head[:200])
        if m:
            declared = charset_codec(m.group(1).decode("ascii").lower())
            # UTF-16/32 text has a BOM or NULs (the ASCII markup), both handled above: a
            # declaration of it over bytes without NULs is false (and Python's "utf-16"
            # decoder raises on a missing BOM).
            wide = declared is not None and declared.startswith(("utf-16", "utf-32")) and b"\x00" not in head
            if declared not in (None, "utf-8", "ascii") and not wide:
                # no BOM here (handled above): Python's BOM-reading "utf-16"/"utf-32" would
                # raise; the little-endian form decodes whatever there is (bad parts replaced)
                encoding = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(declared, declared)
            # else UTF-8 (also for an unknown or non-charset codec): bad pages fail one by one
    if encoding is None:
        yield head
        yield from it
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    first = True
    for chunk in itertools.chain([head], it):
        text = decoder.decode(chunk)
        if first:
            text = _drop_xml_declaration(text.lstrip("\ufeff"))
            first = False
        yield text.encode("utf-8", "replace")  # lone surrogates (UTF-7, UTF-16 halves) -> "?"
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8", "replace")


def _drop_xml_declaration(text: str) -> str:
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end >= 0:
            return text[end + 2 :]
    return text


@dataclass(frozen=True)
class Chunk:
    """A piece of the decompressed stream: kind is `header`, `page`, `oversize`,
    `truncated` (input ended inside a page) or `unclosed` (ended without `</mediawiki>`);
    offset is its decompressed (UTF-8) byte offset."""

    kind: str
    data: bytes
    offset: int


def page_chunks(chunks: Iterable[bytes], max_record_bytes: int) -> Iterator[Chunk]:
    """Cut a byte stream into the header (bytes before the first page, capped at
    MAX_HEADER_BYTES) and `<page>...</page>` chunks, in memory bounded by max_record_bytes
    (plus one read). Ends with a `truncated` chunk (the incomplete page's first bytes) if
    the input ends inside a page, or `unclosed` if no `</mediawiki>` followed the last page.
    Work is linear: each byte is appended once and searched about once."""
    buf = bytearray()
    base = 0  # decompressed offset of buf[0]
    inside = False
    skipping = False  # inside an oversize page, discarding until its end
    scanned = 0  # bytes of buf already searched for the closing tag
    header_done = False
    header = bytearray()
    closed = False  # saw </mediawiki> after the last page
    for data in chunks:
        buf += data
        while True:
            if not inside:
                m = _PAGE_OPEN_RE.search(buf)
                if m is None:
                    if b"</mediawiki>" in buf:
                        closed = True
                    keep = max(0, len(buf) - 16)
                    if not header_done and len(header) < MAX_HEADER_BYTES:
                        header += buf[:keep]
                    base += keep
                    del buf[:keep]
                    break
                if not header_done:
                    header += buf[: m.start()]
                    header_done = True
                    yield Chunk("header", bytes(header[:MAX_HEADER_BYTES]), 0)
                    header = bytearray()
                base += m.start()
                del buf[: m.start()]
                inside, scanned, closed = True, 0, False
            end = buf.find(_PAGE_CLOSE, max(0, scanned - len(_PAGE_CLOSE)))
            if end < 0:
                scanned = len(buf)
                if len(buf) > max_record_bytes:
                    if not skipping:
                        yield Chunk("oversize", bytes(buf[:4096]), base)
                        skipping = True
                    keep = len(buf) - len(_PAGE_CLOSE)
                    base += keep
                    del buf[:keep]
                    scanned = len(buf)
                break
            end += len(_PAGE_CLOSE)
            if not skipping:
                reopen = _next_page_open(buf, end)
                if reopen > 0:  # a page without </page>: cut it off (it fails alone)
                    yield Chunk("page", bytes(buf[:reopen]), base)
                    base += reopen
                    del buf[:reopen]
                    scanned = 0
                    continue
                if end > max_record_bytes:
                    yield Chunk("oversize", bytes(buf[:4096]), base)
                else:
                    yield Chunk("page", bytes(buf[:end]), base)
            skipping = False
            base += end
            del buf[:end]
            inside = False
    if not header_done:
        header += buf
        yield Chunk("header", bytes(header[:MAX_HEADER_BYTES]), 0)
        return
    if inside:
        if not skipping:
            yield Chunk("truncated", bytes(buf[:4096]), base)
    elif not closed and b"</mediawiki>" not in buf:
        yield Chunk("unclosed", b"", base + len(buf))


def _next_page_open(buf: bytearray, end: int) -> int:
    """Position of a second `<page>` opening tag in buf[1:end], or -1."""
    pos = buf.find(b"<page", 1, end)
    while pos >= 0 and not buf.startswith((b">", b" ", b"\n", b"\t", b"\r"), pos + 5):
        pos = buf.find(b"<page", pos + 1, end)
    return pos


# --- units --------------------------------------------------------------------------------

_STREAMS_RE = re.compile(r"^(?P<path>.*)#streams=(?P<start>\d+)-(?P<end>\d+)$")


def parse_unit(unit: str) -> tuple[str, tuple[int, int] | None]:
    """`path` -> (path, None); `path#streams=A-B` -> (path, (A, B))."""
    m = _STREAMS_RE.match(unit)
    if m is None:
        return unit, None
    return m.group("path"), (int(m.group("start")), int(m.group("end")))


class _RangeReader(io.RawIOBase):
    """Bytes [start, end) of a raw stream."""

    def __init__(self, raw: BinaryIO, start: int, end: int) -> None:
        self._raw = raw
        raw.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        data = self._raw.read(min(len(view), self._left))
        n = len(data)
        view[:n] = data
        self._left -= n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _read_stream_header(path: str) -> bytes:
    """The dump header from the first bz2 stream of a multistream dump (capped)."""
    decomp = bz2.BZ2Decompressor()
    out = bytearray()
    with open_raw(path) as raw:
        while not decomp.eof and len(out) < MAX_HEADER_BYTES:
            data = raw.read(64 * 1024)
            if not data:
                break
            out += decomp.decompress(data, MAX_HEADER_BYTES - len(out))
            if b"</siteinfo>" in out or _PAGE_OPEN_RE.search(out):
                break
    page = _PAGE_OPEN_RE.search(out)
    return bytes(out[: page.start()] if page else out)


# --- read ---------------------------------------------------------------------------------


def read(unit: str, config: Config) -> Iterator[Document | Rejection | Failure]:
    """Documents, Rejections and Failures of one unit (a dump file or a `#streams=` split of
    a multistream dump). Never raises for bad input (see the module docstring)."""
    path, span = parse_unit(unit)
    info = SiteInfo(_fallback_dbname(path))
    last_id: int | None = None
    offset = 0
    try:
        if span is None:
            raw: BinaryIO = open_raw(path)
        else:
            header = _read_stream_header(path)
            info, error = parse_siteinfo(header, path)
            if error and span[0] == 0:
                yield Failure(SOURCE, "read", f"{path}#offset=0", error)
            raw = io.BufferedReader(_RangeReader(open_raw(path), span[0], span[1]))
        with raw:
            chunks = utf8_chunks(decompressed_chunks(raw, config.max_decompressed_bytes, unit))
            parser = _parser()
            namespace_names = list(info.namespaces)
            for chunk in page_chunks(chunks, config.max_record_bytes):
                offset = chunk.offset
                if chunk.kind == "header":
                    if span is None:
                        if b"<mediawiki" not in chunk.data:
                            yield Failure(SOURCE, "read", f"{path}#offset=0",
                                          "NotAWikiDump: no <mediawiki> element before the first page")
                            return
                        info, error = parse_siteinfo(chunk.data, path)
                        namespace_names = list(info.namespaces)
                        if error:
                            yield Failure(SOURCE, "read", f"{path}#offset=0", error)
                    continue
                if chunk.kind == "page":
                    record = _page_record(chunk, path, info, namespace_names, parser, config)
                    if isinstance(record, (Document, Rejection)):
                        last_id = _page_id_of(record)
                    yield record
                    continue
                if chunk.kind == "oversize":
                    m = _ID_RE.search(chunk.data)
                    where = f"{path}#page={int(m.group(1))}" if m else f"{path}#offset={chunk.offset}"
                    yield Failure(SOURCE, "read", where,
                                  f"PageTooLarge: page exceeds max_record_bytes={config.max_record_bytes}")
                    continue
                if span is not None and chunk.kind == "unclosed":
                    continue  # only the last split holds </mediawiki>
                what = "input ends inside a page" if chunk.kind == "truncated" else \
                    "input ends without </mediawiki>"
                yield Failure(
                    SOURCE, "read", _tail_location(path, span, chunk.offset),
                    f"TruncatedDump: {what} (last complete page id: {last_id})",
                )
    except Exception as exc:  # noqa: BLE001 - decompression/IO errors end the unit as a Failure
        yield Failure(
            SOURCE, "read", _tail_location(path, span, offset),
            f"{describe_error(exc)} (last complete page id: {last_id})",
        )


def _tail_location(path: str, span: tuple[int, int] | None, offset: int) -> str:
    """`path#offset=N` (decompressed byte N) for whole files; for a split, the split unit
    plus its decompressed offset: `path#streams=A-B&offset=N`."""
    if span is None:
        return f"{path}#offset={offset}"
    return f"{path}#streams={span[0]}-{span[1]}&offset={offset}"


def _page_id_of(record: Document | Rejection) -> int | None:
    loc = record.location.rsplit("#page=", 1)
    try:
        return int(loc[1]) if len(loc) == 2 else None
    except ValueError:
        return None


def _page_record(
    chunk: Chunk,
    path: str,
    info: SiteInfo,
    namespace_names: list[str],
    parser: etree.XMLParser,
    config: Config,
) -> Document | Rejection | Failure:
    """One `<page>` chunk -> Document, Rejection or Failure."""
    try:
        page = etree.fromstring(chunk.data, parser)
    except etree.XMLSyntaxError as exc:
        m = _ID_RE.search(chunk.data)
        if m:
            pid = int(m.group(1))
            return Failure(SOURCE, "read", f"{path}#page={pid}", describe_error(exc),
                           id=make_id("wiki", info.dbname, pid))
        return Failure(SOURCE, "read", f"{path}#offset={chunk.offset}", describe_error(exc))
    try:
        return _page_of(page, chunk, path, info, namespace_names, config)
    except Exception as exc:  # noqa: BLE001 - a bug on one page must not end the dump
        m = _ID_RE.search(chunk.data)
        where = f"{path}#page={int(m.group(1))}" if m else f"{path}#offset={chunk.offset}"
        return Failure(SOURCE, "read", where, describe_error(exc))


def _page_of(
    page: etree._Element,
    chunk: Chunk,
    path: str,
    info: SiteInfo,
    namespace_names: list[str],
    config: Config,
) -> Document | Rejection | Failure:
    """A parsed `<page>` -> Document, Rejection or Failure (see the module docstring)."""
    strip_ns(page)
    id_text = (page.findtext("id") or "").strip()
    title = (page.findtext("title") or "").strip()
    if not (id_text.isascii() and id_text.isdigit()):
        return Failure(SOURCE, "read", f"{path}#offset={chunk.offset}",
                       f"MissingPageId: page {title!r} has no numeric <id>")
    page_id = int(id_text)
    doc_id = make_id("wiki", info.dbname, page_id)
    location = f"{path}#page={page_id}"
    url = page_url(info.base, title)
    revisions = page.findall("revision")
    revision = revisions[-1] if revisions else None  # the latest (history dumps hold several)
    wikitext = (revision.findtext("text") or "") if revision is not None else ""

    def reject(reason: str, detail: str = "") -> Rejection:
        return Rejection(doc_id, SOURCE, "read", reason, location, url, detail,
                         wikitext[:PREVIEW_CHARS])

    ns = _namespace(page, title, info)
    if ns not in config.namespaces:
        return reject("wiki_namespace", f"ns={ns}")
    redirect = page.find("redirect")
    if redirect is not None:
        return reject("wiki_redirect", redirect.get("title", ""))
    if _REDIRECT_TEXT_RE.match(wikitext):
        return reject("wiki_redirect", wikitext.strip()[:200])
    model = ((revision.findtext("model") if revision is not None else None) or "wikitext").strip()
    if model != "wikitext":
        return reject("wiki_content_model", model)
    if config.skip_disambiguation and is_disambiguation(wikitext):
        return reject("wiki_disambiguation")
    text = to_plain_text(wikitext, namespace_names)
    if not text.strip():
        return reject("wiki_empty")
    return Document(id=doc_id, text=text, source=SOURCE, location=location, url=url,
                    title=title, page_id=page_id)


def _namespace(page: etree._Element, title: str, info: SiteInfo) -> int:
    """`<ns>`; for old dumps without it, the namespace named by the title's prefix."""
    ns_text = (page.findtext("ns") or "").strip()
    if re.fullmatch(r"-?[0-9]{1,9}", ns_text):  # "----1" and "²" are no namespace numbers
        return int(ns_text)
    prefix, colon, _ = title.partition(":")
    if colon and prefix in info.namespaces:
        return info.namespaces[prefix]
    return 0


# --- splits -------------------------------------------------------------------------------


_INDEX_NAME_RE = re.compile(r"-multistream-index\d*\.txt")


def index_path_for(path: str) -> str | None:
    """The index file name of a multistream dump, by Wikimedia's naming:
    `X-multistream.xml.bz2` -> `X-multistream-index.txt.bz2`,
    `X-multistream3.xml-p1p41242.bz2` -> `X-multistream-index3.txt-p1p41242.bz2`."""
    head, sep, name = path.rpartition("/")
    new, n = re.subn(r"multistream(\d*)\.xml(.*)\.bz2$", r"multistream-index\1.txt\2.bz2", name)
    return head + sep + new if n else None


def _file_size(path: str) -> int:
    from apache_beam.io.filesystems import FileSystems

    return int(FileSystems.match([path])[0].metadata_list[0].size_in_bytes)


def _exists(path: str) -> bool:
    from apache_beam.io.filesystems import FileSystems

    return bool(FileSystems.exists(path))


def read_index_offsets(index: str, max_bytes: int) -> list[int]:
    """Distinct stream offsets of a multistream index (`offset:page_id:title` lines), in
    file order. Raises ValueError for a malformed or unordered index."""
    offsets: list[int] = []
    with open_input(index, max_bytes) as stream:
        for raw_line in stream:
            line = raw_line.strip()
            if not line:
                continue
            head = line.split(b":", 1)[0]
            if not head.isdigit():
                raise ValueError(f"bad index line {line[:80]!r}")
            off = int(head)
            if offsets and off < offsets[-1]:
                raise ValueError(f"index offsets not ascending at {off}")
            if not offsets or off != offsets[-1]:
                offsets.append(off)
    return offsets


def splits(path: str, config: Config) -> Iterable[str]:
    """Work units of one dump: `path#streams=START-END` byte ranges (about `split_bytes`
    compressed bytes of whole bz2 streams each; the first starts at 0 with the header) when
    the file is a bz2 multistream dump with a usable index; `[]` for the index file itself
    (`*-multistream-index*.txt*`, which a glob like `dumps/*.bz2` also matches); otherwise
    `[path]`. An index
    that is missing, malformed, or whose split offsets do not start a bz2 stream, falls back
    to the whole file (reading is then sequential but still correct)."""
    if _INDEX_NAME_RE.search(path.rsplit("/", 1)[-1]):
        return []  # a multistream index matched by the same glob: not a dump
    index = config.index or index_path_for(path)
    if not index:
        return [path]
    try:
        if not _exists(index):
            return [path]
        size = _file_size(path)
        offsets = read_index_offsets(index, config.max_decompressed_bytes)
        if not offsets or offsets[0] <= 0 or offsets[-1] >= size:
            return [path]
        starts = [0]
        for off in offsets:
            if off - starts[-1] >= config.split_bytes:
                starts.append(off)
        bounds = starts + [size]
        with open_raw(path) as raw:
            for start in starts:
                raw.seek(start)
                if raw.read(3) != b"BZh":
                    return [path]
    except (OSError, ValueError, EOFError):
        return [path]
    return [f"{path}#streams={a}-{b}" for a, b in zip(bounds, bounds[1:])]


__all__ = [
    "Config",
    "DISAMBIGUATION_TEMPLATES",
    "SiteInfo",
    "index_path_for",
    "is_disambiguation",
    "page_chunks",
    "page_url",
    "parse_siteinfo",
    "read",
    "splits",
]
