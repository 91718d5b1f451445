"""Web source: WARC, WET and legacy ARC files (per-record or whole-file gzip) to Documents.

What is read:
  * `response` and `resource` records whose payload is HTML or plain text: HTML is decoded
    (charset from the HTTP header, then `<meta>`, then detection: `html.decode_body`) and
    reduced to its main text (`html.extract_main_text`); plain text is decoded and kept;
  * `conversion` records (Common Crawl WET) as they are (their text/plain payload);
  * legacy ARC records (ARC v1 and v2 headers), handled like WARC responses.

Ids: `make_id("web", url, warc_record_id)` (ARC records, which have no record id:
`make_id("web", url, "ARC:" + date)`).

Every other record becomes a `Rejection(step="read")` (same id), so it is counted:
  warc_request, warc_metadata, warc_revisit, warc_warcinfo (also the ARC `filedesc://`
  header; `metadata://` and `dns:` resources about the crawl itself), warc_continuation,
  warc_other (unknown WARC-Type), http_redirect (HTTP 3xx),
  http_error (HTTP 4xx/5xx), non_text_content (images, CSS, JS, PDF, feeds...),
  page_too_large (record or decoded payload above `max_page_bytes`/`max_record_bytes`),
  empty_text (nothing left after extraction), too_little_text (fewer than
  `min_text_chars` characters).

Anything broken becomes a `Failure(source="web", step="read", location=path#offset=N)` and
the reader goes on: a corrupt or truncated gzip member, garbage between records, a record
cut short, an input that is no WARC/ARC at all, an empty file, an extraction that raised or
ran out of time. Records before the damage are kept; after it the reader resynchronises on
the next gzip member that starts a record (per-record gzip, as Common Crawl ships) or on the
next `WARC/x.y` header line (uncompressed files), so a damaged record costs only itself.

Limits per page: `max_page_bytes` (after HTTP content decoding; larger -> page_too_large,
never inflated beyond it) and `page_timeout_s` (extraction time; -> Failure). The time
limit works in any thread (Beam worker threads included; `html.call_with_time_limit`) and
interrupts Python code (trafilatura); one long call into C (an lxml parse, resiliparse's
C++ extractor) runs to its end, which `max_page_bytes` bounds.

Offsets (`location = f"{path}#offset={offset}"`): for a gzip file, the compressed offset of
the gzip member the record starts (for Common Crawl's per-record gzip this is the offset of
the CC index, usable for a range request); for a record inside a member (whole-file gzip) and
for other inputs, the offset in the decompressed stream.

The WARC framing is parsed here (not by warcio/FastWARC) so that every limit and every
recovery is under our control: decompression is bounded per file (`max_decompressed_bytes`)
and per record, a gzip bomb in a record is skipped without being inflated, and a broken
member does not end the file. `tests/pipelines/sources/test_web.py` checks the record counts
against warcio on the real files.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from pydantic import Field

from corpusmill.pipelines.sources import html as htmlx
from corpusmill.pipelines.sources.base import (
    LimitExceeded,
    SourceConfig,
    as_raw_io,
    describe_error,
    open_input,
    open_raw,
    sniff_compression,
)
from corpusmill.schemas.document import Document, Failure, Rejection, make_id

SOURCE = "web"

# Default per-page limits. 4 MiB of HTML is far above real article pages (the 346 pages of
# the extraction benchmark: median 100 KB, largest 1.27 MB); bigger payloads are data dumps
# or traps. 10 s is ~100x the slowest page's trafilatura time there.
DEFAULT_MAX_PAGE_BYTES = 4 * 1024**2
DEFAULT_PAGE_TIMEOUT_S = 10.0


class Config(SourceConfig):
    """Options of the web source (all keys of `SourceConfig` plus these)."""

    kind: Literal["web"] = "web"
    extractor: Literal["routed", "hybrid", "resiliparse_clean", "resiliparse", "trafilatura", "trafilatura_fast"] = Field(
        default="routed",
        description="HTML main-text extractor; see pipelines/sources/html.py and benchmarks/results/extraction.md",
    )
    max_page_bytes: int = Field(
        default=DEFAULT_MAX_PAGE_BYTES,
        gt=0,
        description="larger payloads (after HTTP content decoding) are rejected as page_too_large",
    )
    page_timeout_s: float = Field(
        default=DEFAULT_PAGE_TIMEOUT_S,
        ge=0,
        description="time limit of one page's extraction (0 = none); see html.extract_main_text",
    )
    min_text_chars: int = Field(default=1, ge=1, description="fewer extracted characters -> too_little_text")


# ---------------------------------------------------------------------------------------
# Decompressed byte stream with member offsets and resynchronisation


class _Broken(Exception):
    """The byte stream is damaged at `offset` (compressed offset for gzip input)."""

    def __init__(self, offset: int, message: str, compressed: bool = False) -> None:
        super().__init__(message)
        self.offset = offset
        self.compressed = compressed  # damage in the gzip layer (vs. in the record framing)


_GZIP_MAGIC = b"\x1f\x8b\x08"
_RAW_CHUNK = 1 << 20
_OUT_CHUNK = 1 << 20
_RECORD_START = re.compile(rb"WARC/\d+\.\d+\r?\n")


def _looks_like_record_start(head: bytes) -> bool:
    """True if decompressed bytes start a WARC record or an ARC header line."""
    head = head.lstrip(b"\r\n")
    if _RECORD_START.match(head):
        return True
    return _ARC_HEADER.match(head.split(b"\n", 1)[0]) is not None


class _GzipSource:
    """Decompressed chunks of a multi-member gzip file; remembers where members start.

    `chunk()` returns the next decompressed bytes of the current member (b"" at the end of
    the file) and raises `_Broken` on a corrupt or truncated member or on bytes that are no
    gzip member. `resync()` then moves to the next member whose first bytes start a record.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buf = b""  # compressed bytes not yet fed to the decompressor
        self._buf_offset = 0  # compressed offset of _buf[0]
        self._eof = False
        self._d: zlib._Decompress | None = None
        self.member_offset = 0  # compressed offset of the current member
        self.new_member = False  # set when the chunk returned last began a member

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._raw.read(_RAW_CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def chunk(self) -> bytes:
        self.new_member = False
        while True:
            if self._d is None:
                while len(self._buf) < 3 and self._fill():
                    pass
                if not self._buf:
                    return b""
                if not self._buf.startswith(_GZIP_MAGIC):
                    raise _Broken(self._buf_offset, "bytes that are not a gzip member", True)
                self._d = zlib.decompressobj(31)
                self.member_offset = self._buf_offset
                self.new_member = True
            d = self._d
            if not self._buf and not self._fill():
                raise _Broken(self.member_offset, "truncated gzip member (unexpected end of file)", True)
            before = len(self._buf)
            try:
                out = d.decompress(self._buf, _OUT_CHUNK)
            except zlib.error as e:
                raise _Broken(self.member_offset, f"corrupt gzip member: {e}", True) from None
            if d.eof:
                rest = d.unused_data
                self._buf_offset += before - len(rest)
                self._buf = rest
                self._d = None
            else:
                rest = d.unconsumed_tail
                self._buf_offset += before - len(rest)
                self._buf = rest
            if out:
                return out
            if self._d is None:
                continue  # an empty member; go on with the next one

    def resync(self, after: int) -> bool:
        """Drop everything up to compressed offset `after` and find the next gzip member
        whose decompressed start is a WARC/ARC record. False if there is none."""
        self._d = None
        pos = max(after + 1, self._buf_offset)  # bytes before _buf_offset are gone already
        while self._buf_offset + len(self._buf) < pos and self._fill():
            pass
        cut = min(len(self._buf), pos - self._buf_offset)
        self._buf = self._buf[cut:]
        self._buf_offset += cut
        start = 0
        while True:
            i = self._buf.find(_GZIP_MAGIC, start)
            if i < 0:
                keep = self._buf[-2:]
                self._buf_offset += len(self._buf) - len(keep)
                self._buf = keep
                start = 0
                if not self._fill():
                    self._buf_offset += len(self._buf)
                    self._buf = b""
                    return False
                continue
            while len(self._buf) - i < 4096 and self._fill():
                pass
            try:
                probe = zlib.decompressobj(31).decompress(self._buf[i : i + 4096], 64)
            except zlib.error:
                probe = b""
            if _looks_like_record_start(probe):
                self._buf = self._buf[i:]
                self._buf_offset += i
                return True
            start = i + 1


class _PlainSource:
    """Chunks of an already decompressed stream (plain, bz2, xz, zstd via `open_input`)."""

    def __init__(self, stream: BinaryIO, chunk_size: int = _OUT_CHUNK) -> None:
        self._stream = stream
        self._chunk = chunk_size  # small for bz2/xz/zstd: a truncated stream loses one chunk
        self._pos = 0
        self.new_member = False
        self.member_offset = 0

    def chunk(self) -> bytes:
        try:
            data = self._stream.read(self._chunk)
        except LimitExceeded:
            raise
        except (OSError, EOFError, ValueError) as e:  # corrupt bz2/xz/zstd stream
            raise _Broken(self._pos, describe_error(e), True) from None
        self._pos += len(data)
        return data

    def resync(self, after: int) -> bool:  # resynchronisation happens in _Records
        return False


class _Records:
    """A buffered, position-tracking view of the decompressed bytes."""

    def __init__(self, source: _GzipSource | _PlainSource, gzip: bool, max_bytes: int) -> None:
        self.src = source
        self.gzip = gzip
        self.buf = bytearray()
        self.base = 0  # decompressed position of buf[0]
        self.total = 0  # decompressed bytes produced so far
        self.max_bytes = max_bytes
        self.member_starts: dict[int, int] = {}  # decompressed pos -> compressed offset
        self.eof = False

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.src.chunk()
        if not data:
            self.eof = True
            return False
        if self.src.new_member:
            self.member_starts[self.total] = self.src.member_offset
        self.total += len(data)
        if self.total > self.max_bytes:
            raise LimitExceeded(f"input exceeds {self.max_bytes} decompressed bytes")
        self.buf += data
        return True

    def pos(self) -> int:
        return self.base

    def offset_of(self, pos: int) -> int:
        """Reported offset of a record starting at decompressed `pos`."""
        return self.member_starts.get(pos, pos)

    def _consume(self, n: int) -> bytes:
        out = bytes(self.buf[:n])
        del self.buf[:n]
        self.base += n
        # forget member marks behind us
        if len(self.member_starts) > 64:
            self.member_starts = {p: o for p, o in self.member_starts.items() if p >= self.base}
        return out

    def skip_blank(self) -> bool:
        """Skip CR/LF between records; False at end of input."""
        while True:
            i = 0
            n = len(self.buf)
            while i < n and self.buf[i] in (10, 13):
                i += 1
            if i:
                self._consume(i)
            if self.buf:
                return True
            if not self._more():
                return False

    def readline(self, limit: int = 1 << 16) -> bytes:
        """One line including its LF (or up to `limit` bytes, or what is left)."""
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0 and i < limit:
                return self._consume(i + 1)
            if len(self.buf) >= limit:
                return self._consume(limit)
            start = len(self.buf)
            if not self._more():
                return self._consume(len(self.buf))

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._more():
                break
        return self._consume(min(n, len(self.buf)))

    def member_record_inside(self, n: int) -> int | None:
        """Within the next `n` bytes, the offset (from here) of a gzip member that starts a
        WARC record, if any: in a per-record gzip file the record we are reading must then
        be shorter than its Content-Length says (a damaged header)."""
        if not self.gzip:
            return None
        while len(self.buf) < n and self._more():
            pass
        for pos in sorted(self.member_starts):
            rel = pos - self.base
            if 0 < rel < min(n, len(self.buf)) and _RECORD_START.match(self.buf, rel):
                return rel
        return None

    def skip(self, n: int) -> int:
        """Discard n bytes (streaming); returns how many were there."""
        done = 0
        while done < n:
            if not self.buf and not self._more():
                break
            k = min(n - done, len(self.buf))
            self._consume(k)
            done += k
        return done

    def skip_member(self, offset: int) -> bool:
        """Gzip damage (or a record too large to inflate) in the member at compressed
        `offset`: drop what is buffered and go on at the next gzip member that starts a
        record. False if there is none (or the input is not gzip)."""
        self.buf.clear()
        self.base = self.total
        if not self.gzip or not self.src.resync(offset):
            self.eof = True
            return False
        self.eof = False
        return True

    def scan_to_record(self) -> bool:
        """Damage in the record framing: go on at the next `WARC/x.y` (or ARC header) line.
        The caller has consumed at least one byte of the damaged record. Raises `_Broken`
        if the gzip layer breaks while scanning."""
        if _RECORD_START.match(self.buf) and self.base > 0:
            return True
        while True:
            m = _RESYNC.search(self.buf)
            if m:
                self._consume(m.start() + 1)  # drop up to the newline before the record
                return True
            keep = 128
            if len(self.buf) > keep:
                self._consume(len(self.buf) - keep)
            if not self._more():
                self._consume(len(self.buf))
                return False


_RESYNC = re.compile(rb"\n(?:WARC/\d+\.\d+\r?\n|\S+://\S* \S+ \d{14} \S+ \d+\r?\n)")
# ARC v1: URL IP DATE MIME LENGTH; ARC v2: URL IP DATE MIME CODE CHECKSUM LOCATION OFFSET FILE LENGTH
_ARC_HEADER = re.compile(rb"^(\S+) (\S+) (\d{14}) (\S*)(?: .*)? (\d+)\r?$")


# ---------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One WARC/ARC record: its headers (names lower-cased, first value wins), where it starts
    and its block, or `block=None` with `length` when the block was skipped as too large."""

    offset: int
    version: str
    headers: dict[str, str]
    length: int
    block: bytes | None


def _parse_header_lines(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = None
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line[:1] in (" ", "\t") and last is not None:  # folded continuation
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        if key and key not in headers:
            headers[key] = value.strip()
            last = key
    return headers


def iter_records(path: str, max_decompressed_bytes: int, max_block_bytes: int) -> Iterator[RawRecord | Failure]:
    """The records of one WARC/ARC file in order, and a `Failure` for each damaged part.

    Blocks longer than `max_block_bytes` are skipped without being kept (`block=None`);
    when such a record starts its own gzip member, the member is not even inflated (the
    reader jumps to the next member that starts a record), which defuses gzip bombs.
    Never raises for bad input."""
    try:
        raw = open_raw(path)
    except Exception as e:  # missing file, permission, bad filesystem URL
        yield Failure(SOURCE, "read", f"{path}#offset=0", describe_error(e))
        return
    try:
        yield from _iter_open(path, raw, max_decompressed_bytes, max_block_bytes)
    finally:
        try:
            raw.close()
        except Exception:
            pass


def _iter_open(path: str, raw: BinaryIO, max_decompressed: int, max_block: int) -> Iterator[RawRecord | Failure]:
    import io

    buffered = io.BufferedReader(as_raw_io(raw))
    head = buffered.peek(8)[:8]
    if not head:
        yield Failure(SOURCE, "read", f"{path}#offset=0", "empty file: no WARC/ARC records")
        return
    kind = sniff_compression(head)
    source: _GzipSource | _PlainSource
    if kind == "gzip":
        source = _GzipSource(buffered)
    elif kind is None:
        source = _PlainSource(buffered)
    else:
        buffered.close()
        source = _PlainSource(open_input(path, max_decompressed), 1 << 16)
    stream = _Records(source, kind == "gzip", max_decompressed)
    seen_any = False
    broken: _Broken | None = None
    while True:
        if broken is not None:
            seen_any = True
            yield Failure(SOURCE, "read", f"{path}#offset={broken.offset}", str(broken))
            damage, broken = broken, None
            try:
                if damage.compressed:
                    ok = stream.skip_member(damage.offset)
                else:
                    ok = stream.scan_to_record()
            except _Broken as e:
                broken = e
                continue
            except LimitExceeded as e:
                yield Failure(SOURCE, "read", f"{path}#offset={damage.offset}", describe_error(e))
                break
            if not ok:
                break
        record_start = stream.pos()
        offset = stream.offset_of(record_start)
        try:
            if not stream.skip_blank():
                break
            record_start = stream.pos()
            offset = stream.offset_of(record_start)
            at_member_start = stream.gzip and record_start in stream.member_starts
            item = _read_record(stream, offset, at_member_start, max_block, seen_any)
            seen_any = True
            if item is None:
                continue
            yield item
            if item.block is None and at_member_start:
                # too large: jump over its gzip member without inflating it (gzip bombs)
                if not stream.skip_member(offset):
                    break
        except _Broken as e:
            broken = e
        except LimitExceeded as e:
            yield Failure(SOURCE, "read", f"{path}#offset={offset}", describe_error(e))
            break
        except Exception as e:  # anything unexpected in one file must not end the run
            yield Failure(SOURCE, "read", f"{path}#offset={offset}", describe_error(e))
            break
    if not seen_any:
        yield Failure(SOURCE, "read", f"{path}#offset=0", "no WARC/ARC records in input")


def _read_record(stream: _Records, offset: int, at_member_start: bool, max_block: int, seen_any: bool) -> RawRecord | None:
    """Parse one record at the current position; raises `_Broken` on damage."""
    first = stream.readline()
    if _RECORD_START.match(first):
        version = first.decode("ascii", "replace").strip()
        lines = []
        while True:
            line = stream.readline()
            if not line:
                raise _Broken(offset, f"record at offset {offset}: truncated headers")
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
            if len(lines) > 1000:
                raise _Broken(offset, f"record at offset {offset}: header too long")
        headers = _parse_header_lines(lines)
        length_text = headers.get("content-length", "")
        if not (length_text.isascii() and length_text.isdigit()):  # "²" and "٣" are isdigit() too
            raise _Broken(offset, f"record at offset {offset}: bad Content-Length {length_text!r}")
        length = int(length_text)
    else:
        m = _ARC_HEADER.match(first.rstrip(b"\n"))
        if not m:
            what = "garbage between records" if seen_any else "no WARC/ARC record"
            raise _Broken(offset, f"{what} at offset {offset}: {first[:40]!r}")
        version = "ARC"
        url = m.group(1).decode("utf-8", "replace")
        length = int(m.group(5))
        headers = {
            "warc-type": "warcinfo" if url.startswith("filedesc:") else "response",
            "warc-target-uri": url,
            "warc-date": _arc_date(m.group(3).decode()),
            "content-type": m.group(4).decode("ascii", "replace"),
            "content-length": str(length),
        }
    if length > max_block:
        if at_member_start:
            return RawRecord(offset, version, headers, length, None)  # caller skips the member
        got = stream.skip(length)
        if got < length:
            raise _Broken(offset, f"record at offset {offset}: truncated block ({got} of {length} bytes)")
        return RawRecord(offset, version, headers, length, None)
    if at_member_start:
        inside = stream.member_record_inside(length)
        if inside is not None:
            stream.read(inside)  # drop this record; the loop goes on at the next one
            raise _Broken(offset, f"record at offset {offset}: Content-Length {length} runs into the next record")
    block = stream.read(length)
    if len(block) < length:
        raise _Broken(offset, f"record at offset {offset}: truncated block ({len(block)} of {length} bytes)")
    return RawRecord(offset, version, headers, length, block)


def _arc_date(d: str) -> str:
    """ARC's 14-digit date as an ISO 8601 UTC timestamp (like WARC-Date)."""
    return f"{d[0:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}Z"


# ---------------------------------------------------------------------------------------
# HTTP payloads


def split_http(block: bytes) -> tuple[int | None, dict[str, str], bytes]:
    """(status, headers, body) of an HTTP response block; (None, {}, block) if the block
    does not start with an HTTP status line. Accepts bare-LF header lines (ClueWeb09)."""
    if not block.startswith(b"HTTP/"):
        return None, {}, block
    head_end = len(block)
    body_start = len(block)
    for sep in (b"\r\n\r\n", b"\n\n", b"\n\r\n"):
        i = block.find(sep, 0, 1 << 17)
        if 0 <= i < head_end:
            head_end, body_start = i, i + len(sep)
    lines = block[:head_end].split(b"\n")
    status: int | None = None
    parts = lines[0].split(None, 2)
    if len(parts) >= 2 and parts[1][:3].isdigit():
        status = int(parts[1][:3])
    return status, _parse_header_lines([line + b"\n" for line in lines[1:]]), block[body_start:]


class PayloadTooLarge(Exception):
    pass


def _dechunk(body: bytes) -> bytes | None:
    """Undo HTTP chunked transfer coding; None if the body is not validly chunked."""
    out = bytearray()
    pos = 0
    n = len(body)
    while pos < n:
        eol = body.find(b"\n", pos, pos + 1024)
        if eol < 0:
            return None
        size_text = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        start = eol + 1
        if start + size > n:
            out += body[start:]  # cut short: keep what is there
            return bytes(out)
        out += body[start : start + size]
        pos = start + size
        while pos < n and body[pos] in (10, 13):
            pos += 1
    return bytes(out)


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(body, limit + 1)
    if len(out) > limit:
        raise PayloadTooLarge(f"content decodes to more than {limit} bytes")
    return out


def decode_content(body: bytes, headers: dict[str, str], limit: int) -> bytes:
    """Undo HTTP Transfer-Encoding: chunked and Content-Encoding: gzip/deflate/br, with the
    decoded size bounded by `limit` (a compressed bomb raises PayloadTooLarge after at most
    `limit` bytes were inflated). A body that is not actually encoded as declared (crawlers
    often store it decoded but keep the header) is returned unchanged. Raises zlib.error /
    ValueError on a body that is encoded but corrupt."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        dechunked = _dechunk(body)
        if dechunked is not None:
            body = dechunked
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip") and body.startswith(b"\x1f\x8b"):
        return _inflate(body, 31, limit)
    if encoding == "deflate" and not _looks_textual(body):
        try:
            return _inflate(body, 15, limit)
        except zlib.error:
            return _inflate(body, -15, limit)
    if encoding == "br" and not _looks_textual(body):
        try:
            import brotli  # optional: not a dependency; without it br bodies are non-text
        except ImportError:
            raise ValueError("brotli content encoding and no brotli module") from None
        try:
            out: bytes = brotli.Decompressor().process(body, output_buffer_limit=limit + 1)
        except TypeError:  # brotli < 1.2: no output limit
            out = brotli.decompress(body)
        if len(out) > limit:
            raise PayloadTooLarge(f"content decodes to more than {limit} bytes")
        return out
    return body


def _looks_textual(body: bytes) -> bool:
    head = body[:512]
    return bool(head) and head.count(0) == 0 and sum(b < 9 or 13 < b < 32 for b in head) < 8


# ---------------------------------------------------------------------------------------
# Records to documents

_NOT_DOCUMENTS = {
    "request": "warc_request",
    "metadata": "warc_metadata",
    "revisit": "warc_revisit",
    "warcinfo": "warc_warcinfo",
    "continuation": "warc_continuation",
}
_DOCUMENT_TYPES = {"response", "resource", "conversion"}
# Records about the crawl itself (wget's `metadata://` log resources, Heritrix `dns:` lookups).
_CRAWLER_SCHEMES = {"metadata", "dns", "whois", "filedesc"}
HTML_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "application/xhtml",
    "text/xhtml",
    "application/vnd.wap.xhtml+xml",
}
TEXT_TYPES = {"text/plain"}
_UNKNOWN_TYPES = {"", "application/octet-stream", "unknown/unknown", "unk", "no-type", "application/unknown", "*/*"}
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"RIFF", b"\x00\x00\x01\x00", b"wOFF", b"wOF2", b"OggS", b"ID3", b"\x1f\x8b")
_HTML_SNIFF = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<title[\s>]", re.I)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def classify_payload(mime: str, identified: str, body: bytes) -> str | None:
    """`html`, `text`, or None (not a text document). `mime` comes from the HTTP header (or
    the WARC/ARC header for resources), `identified` from WARC-Identified-Payload-Type (the
    crawler's own detection, trusted when it says the payload is not text). Payloads with a
    binary signature are never text, whatever their header claims."""
    if body[:64].lstrip().startswith(_BINARY_MAGIC):
        return None
    if identified and identified not in _UNKNOWN_TYPES and identified not in HTML_TYPES and identified not in TEXT_TYPES:
        return None
    if mime in HTML_TYPES:
        return "html"
    if mime in TEXT_TYPES:
        return "html" if _HTML_SNIFF.search(body[:1024]) else "text"
    if mime in _UNKNOWN_TYPES or mime in ("text/x-server-parsed-html", "text/x-html", "application/html"):
        if identified in HTML_TYPES or _HTML_SNIFF.search(body[:2048]):
            return "html"
        if identified in TEXT_TYPES and _looks_textual(body):
            return "text"
    return None


def _strip_uri(uri: str | None) -> str | None:
    if not uri:
        return None
    uri = uri.strip()
    if uri.startswith("<") and uri.endswith(">"):  # WARC/0.17-0.18 style
        uri = uri[1:-1]
    return uri or None


def record_to_item(path: str, rec: RawRecord, config: Config) -> Document | Rejection | Failure:
    """One record to a Document, or the Rejection/Failure saying why it is none."""
    h = rec.headers
    rtype = h.get("warc-type", "").strip().lower()
    url = _strip_uri(h.get("warc-target-uri"))
    record_id = h.get("warc-record-id") or None
    crawl_date = h.get("warc-date") or None
    location = f"{path}#offset={rec.offset}"
    doc_id = make_id(SOURCE, url or "", record_id or f"{rec.version}:{crawl_date or rec.offset}")

    def reject(reason: str, detail: str = "") -> Rejection:
        return Rejection(id=doc_id, source=SOURCE, step="read", reason=reason, location=location, url=url, detail=detail)

    if rtype not in _DOCUMENT_TYPES:
        return reject(_NOT_DOCUMENTS.get(rtype, "warc_other"), rtype)
    if url and url.split(":", 1)[0].lower() in _CRAWLER_SCHEMES:
        return reject("warc_metadata", url.split(":", 1)[0].lower())  # e.g. wget's log as a resource
    if rec.block is None:
        return reject("page_too_large", f"record of {rec.length} bytes")
    block = rec.block
    warc_type = h.get("content-type")
    http_headers: dict[str, str]
    content_type: str | None
    if rtype == "conversion":
        status, http_headers, body = None, {}, block
        content_type = warc_type or "text/plain"
    elif block.startswith(b"HTTP/"):
        status, http_headers, body = split_http(block)
        content_type = http_headers.get("content-type") or ""
    else:
        status, http_headers, body = None, {}, block
        content_type = warc_type if _mime(warc_type) != "application/http" else ""
    if status is not None and 300 <= status < 400:
        return reject("http_redirect", str(status))
    if status is not None and (status >= 400 or status < 200):
        return reject("http_error", str(status))
    try:
        body = decode_content(body, http_headers, config.max_page_bytes)
    except PayloadTooLarge as e:
        return reject("page_too_large", str(e))
    except Exception as e:  # corrupt gzip/deflate/br body
        return Failure(SOURCE, "read", location, f"content decoding: {describe_error(e)}", id=doc_id)
    if len(body) > config.max_page_bytes:
        return reject("page_too_large", f"{len(body)} bytes")
    identified = _mime(h.get("warc-identified-payload-type"))
    kind = "text" if rtype == "conversion" else classify_payload(_mime(content_type), identified, body)
    if kind is None:
        return reject("non_text_content", _mime(content_type) or identified or "unknown")
    title = None
    if kind == "html":
        html_text, codec = htmlx.decode_body(body, content_type, is_html=True)
        try:
            text, title = htmlx.extract_main_text(html_text, config.extractor, config.page_timeout_s)
        except htmlx.ExtractionTimeout as e:
            return Failure(SOURCE, "read", location, f"extraction: {e}", id=doc_id)
        except Exception as e:  # the extractor broke on this page
            return Failure(SOURCE, "read", location, f"extraction: {describe_error(e)}", id=doc_id)
    else:
        text, codec = htmlx.decode_body(body, content_type, is_html=False)
        text = text.strip() if rtype == "conversion" else htmlx.tidy_text(text)
    if not text.strip():
        return reject("empty_text", kind)
    if len(text) < config.min_text_chars:
        return reject("too_little_text", f"{len(text)} chars")
    return Document(
        id=doc_id,
        text=text,
        source=SOURCE,
        location=location,
        url=url,
        title=title,
        warc_record_id=record_id,
        crawl_date=crawl_date,
        content_language=(http_headers.get("content-language") or h.get("warc-identified-content-language-hint") or None),
        crawl_language=h.get("warc-identified-content-language") or None,
    )


def read(unit: str, config: Config) -> Iterator[Document | Rejection | Failure]:
    """All records of one WARC/WET/ARC file as Documents, Rejections and Failures, in file
    order. Never raises for bad input (see the module docstring for every outcome)."""
    max_block = min(config.max_record_bytes, config.max_page_bytes + (1 << 16))
    for item in iter_records(unit, config.max_decompressed_bytes, max_block):
        if isinstance(item, Failure):
            yield item
            continue
        try:
            yield record_to_item(unit, item, config)
        except Exception as e:  # a bug or an input nobody foresaw: one record, not the file
            yield Failure(SOURCE, "read", f"{unit}#offset={item.offset}", describe_error(e))
