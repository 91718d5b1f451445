"""WARC/ARC framing of the web source: one file's bytes to `RawRecord`s (`iter_records`), and a
`Failure` for each damaged part. `web.py` turns the records into Documents.

Inputs: WARC and WET files and legacy ARC files (ARC v1 and v2 headers), per-record or
whole-file gzip, or plain, bz2, xz or zstd (`base.open_input`).

Damage (a corrupt or truncated gzip member, garbage between records, a record cut short, an
input that is no WARC/ARC at all, an empty file) becomes a
`Failure(source="web", step="read", location=path#offset=N)` and the reader goes on. Records
before the damage are kept; after it the reader resynchronises on the next gzip member that
starts a record (per-record gzip, as Common Crawl ships) or on the next `WARC/x.y` header
line (uncompressed files), so a damaged record costs only itself.

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
from typing import BinaryIO

from corpusmill.pipelines.sources.base import (
    LimitExceeded,
    as_raw_io,
    describe_error,
    open_input,
    open_raw,
    sniff_compression,
)
from corpusmill.schemas.document import Failure

SOURCE = "web"  # the source its Failures belong to


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


def parse_header_lines(lines: list[bytes]) -> dict[str, str]:
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
        headers = parse_header_lines(lines)
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
