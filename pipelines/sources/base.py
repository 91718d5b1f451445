"""What every source reader shares: its config base class, the reader contract, file opening.

A source module (`pipelines/sources/<kind>.py`) defines
  * `class Config(SourceConfig)` with `kind: Literal["<kind>"]` and its own options
    (pydantic, extra keys forbidden, so a typo in the YAML fails before the run starts);
  * `read(unit: str, config: Config) -> Iterator[Document | Rejection | Failure]`: a pure
    generator over one unit of work (a file path; or a `path#...` split of it). A bad record
    yields a `Failure` with its location and the reader goes on; pages that are not documents
    (a WARC request record, a wiki redirect) yield a `Rejection` with `step="read"`;
  * optionally `splits(path: str, config: Config) -> Iterable[str]`: the units of one file
    (default: the file itself), so big files (a multistream wiki dump) read in parallel.

Nothing here imports Beam except the filesystem layer, so paths may be local or on any
filesystem Beam knows (gs://, s3://, hdfs://).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
from typing import TYPE_CHECKING, BinaryIO, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Safe defaults; every one is configurable per source.
DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 1024**3  # per input file
DEFAULT_MAX_RECORD_BYTES = 64 * 1024**2  # per record / page / source file


class SourceConfig(BaseModel):
    """Keys every source accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    paths: list[str] = Field(min_length=1, description="glob patterns of input files")
    name: str | None = Field(default=None, description="label for reports (default: kind)")
    max_decompressed_bytes: int = Field(default=DEFAULT_MAX_DECOMPRESSED_BYTES, gt=0)
    max_record_bytes: int = Field(default=DEFAULT_MAX_RECORD_BYTES, gt=0)
    location_root: str | None = Field(
        default=None,
        description="absolute directory the recorded input paths (`location`, path-derived ids) "
        "are relative to; set by the workflow loader (the workflow's directory when every glob "
        "of the source is written relative), never by hand; None: absolute paths as matched",
    )

    @property
    def label(self) -> str:
        return self.name or self.kind

    def recorded(self, location: str) -> str:
        """`location` as this source's records store it (see `recorded_location`)."""
        return recorded_location(location, self.location_root)


def recorded_location(location: str, root: str | None) -> str:
    """The string records store for an input `location`: an absolute path, alone or followed by
    a position (`/data/a.txt#part=3`, `/data/r.tar.gz!src/x.py`), with that path written
    relative to the directory `root` (`../samples/books/a.txt#part=3`), "../" steps included;
    readers still open the absolute path. Unchanged: when `root` is None, for URLs (s3://,
    gs://, file://: anything not starting with "/"), and when `location` shares no directory
    but "/" with `root`.

    Purely textual on the leading directories, so whatever follows the path (an archive member
    named `../x`) is kept as it is. Distinct inputs keep distinct recorded paths within a run:
    every source's root is the same workflow directory or None, a relative path never starts
    with "/" as an absolute one does, and it never holds "://" as a URL does."""
    if root is None or not location.startswith("/"):
        return location
    ancestor, ups = root.rstrip("/"), 0
    while ancestor and ancestor != "/":
        if location.startswith(ancestor + "/"):
            return "../" * ups + location[len(ancestor) + 1 :]
        ancestor, ups = posixpath.dirname(ancestor), ups + 1
    return location


class LimitExceeded(IOError):
    """Raised when decompressed input exceeds its configured limit (bombs, runaway records)."""


class ByteStream(Protocol):
    """What `LimitedReader` needs of the stream it wraps (files, decompressors)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class LimitedReader(io.RawIOBase):
    """Wraps a binary stream; raises LimitExceeded once more than `limit` bytes were read."""

    def __init__(self, raw: ByteStream, limit: int, what: str = "input") -> None:
        self._raw = raw
        self._limit = limit
        self._count = 0
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        n = len(data)
        self._count += n
        if self._count > self._limit:
            raise LimitExceeded(f"{self._what} exceeds {self._limit} decompressed bytes")
        view[:n] = data
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def as_raw_io(stream: BinaryIO) -> io.RawIOBase:
    """`stream` typed as what `io.BufferedReader` wraps. Beam's `FileSystems.open` is annotated
    `BinaryIO`, which lacks `readinto`; the objects it returns (a local `io.BufferedReader`,
    the GCS/S3/HDFS downloaders' buffered readers) all have it, and `io.BufferedReader` only
    calls `readinto`, `readable`, `seekable`, `closed` and `close` on its raw stream."""
    return cast(io.RawIOBase, stream)


def open_raw(path: str) -> BinaryIO:
    """Open a local or remote file as bytes, without any decompression."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def sniff_compression(head: bytes) -> str | None:
    """The compression of a stream from its first bytes (never from the file name)."""
    for magic, name in MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def open_input(path: str, max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> BinaryIO:
    """Open `path` decompressed (gzip, bz2, xz, zstd detected by magic bytes), limited to
    `max_decompressed_bytes`. Concatenated gzip members (Common Crawl's per-record gzip) and
    multistream bz2 are read through."""
    raw = io.BufferedReader(as_raw_io(open_raw(path)))
    kind = sniff_compression(raw.peek(8)[:8])
    stream: ByteStream
    if kind == "gzip":
        stream = gzip.GzipFile(fileobj=raw)
    elif kind == "bz2":
        stream = bz2.BZ2File(raw)
    elif kind == "xz":
        stream = lzma.LZMAFile(raw)
    elif kind == "zstd":
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    else:
        return raw
    return io.BufferedReader(LimitedReader(stream, max_decompressed_bytes, path))


def describe_error(exc: BaseException) -> str:
    """One line: the exception class and message (what `failed/` rows carry)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
