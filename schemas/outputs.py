"""The output directory of a run: its file names, and the only code that touches its files.

Every stage (corpus shards, stage counts, manifest, tokenizer, validation, report) reads and
writes through these functions, so how a file is made durable is decided once:
  * a file appears complete or not at all: it is written to a hidden temporary name in the
    same directory and renamed into place (`write_bytes`, `write_text`, `write_json`,
    `open_atomically` for writers that stream);
  * `sha256` is the checksum recorded in the manifest and checked by validation;
  * `shard_name(i, n)` is the name of shard i of n of any kind (corpus, rejected, failed, tokens).

Every function takes a path string and dispatches on it: a local path is handled with os and
shutil (atomic temporary file + rename); a `scheme://` path (s3://, gs://, any filesystem Beam
registers) goes through `apache_beam.io.filesystems.FileSystems`, configured from the run's
pipeline options (`set_filesystem_options`). On an object store, a file is streamed to a hidden
temporary object and renamed (copy + delete) into place, so a reader never sees a half-written
object under its final name (see `open_atomically`); there are no directories, so `make_dirs`
does nothing and `list_dir` lists the names under a prefix.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "manifest.json"
RUN_INFO = "run_info.json"
STATS_DIR = "_stats"
STAGE_COUNTS = "_stats/stages.json"  # records per stage and source, written by the corpus pipeline
PROGRESS_DIR = "_stats/progress"  # one `<worker>.tsv` per reader process: `unit<TAB>documents` lines
KINDS = ("corpus", "rejected", "failed")  # the record shards every run writes
CHUNK = 1 << 20
PARQUET_COMPRESSION = "zstd"
PARQUET_ROW_GROUP_ROWS = 4096


class NotARun(ValueError):
    """A directory that is not the output of `corpusmill run` (no manifest.json)."""


def shard_name(index: int, count: int) -> str:
    """`part-IIIII-of-NNNNN.parquet`: shard `index` of `count` (zero-based)."""
    return f"part-{index:05d}-of-{count:05d}.parquet"


def is_shard_name(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".parquet")


def is_remote(path: str) -> bool:
    """True for a `scheme://` path (s3://, gs://, ...) other than file://: Beam's FileSystems
    handles it; everything else is a local path handled with os."""
    scheme, sep, _ = os.fspath(path).partition("://")  # (a local pathlib.Path is accepted too)
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def _fs() -> Any:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


# S3 pipeline options -> the environment variables boto3 reads when a client gets no value
S3_ENVIRONMENT = {
    "s3_endpoint_url": "AWS_ENDPOINT_URL_S3",
    "s3_access_key_id": "AWS_ACCESS_KEY_ID",
    "s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "s3_session_token": "AWS_SESSION_TOKEN",
    "s3_region_name": "AWS_DEFAULT_REGION",
}


def set_filesystem_options(args: list[str]) -> None:
    """Give Beam's FileSystems the pipeline options in `args` (`--s3_endpoint_url`, credentials,
    `--project` for gs://, ...) for the files this process reads and writes outside a pipeline.

    Workers of a portable runner (Flink, Spark, Dataflow) receive the options with the job. The
    local FnApiRunner's multi-process workers do not (Beam provisions them with empty
    pipeline options), so the S3 options given are also exported as boto3's standard
    environment variables, which those worker processes inherit."""
    from apache_beam.options.pipeline_options import PipelineOptions, S3Options

    options = PipelineOptions(args)
    _fs().set_options(options)
    s3 = options.view_as(S3Options).get_all_options()
    for option, variable in S3_ENVIRONMENT.items():
        if s3.get(option):
            os.environ[variable] = str(s3[option])


def absolute(path: str) -> str:
    """`path` made absolute (local) or as given without a trailing slash (remote)."""
    return path.rstrip("/") if is_remote(path) else os.path.abspath(path)


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])
    return os.path.join(base, *parts)


def dirname(path: str) -> str:
    return path.rstrip("/").rpartition("/")[0] if is_remote(path) else os.path.dirname(path)


def basename(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2] if is_remote(path) else os.path.basename(path)


def _remote_files(prefix: str) -> list[tuple[str, int]]:
    """(path, bytes) of every object whose name starts with `prefix`, sorted."""
    from apache_beam.io.filesystem import BeamIOError

    try:
        results = _fs().match([prefix + "**"])
    except BeamIOError:
        return []
    return sorted((m.path, m.size_in_bytes) for r in results for m in r.metadata_list)


def exists(path: str) -> bool:
    """A file, or (local) a directory, at `path`. Remote: an object named `path`."""
    return _fs().exists(path) if is_remote(path) else os.path.exists(path)


def is_file(path: str) -> bool:
    return _fs().exists(path) if is_remote(path) else os.path.isfile(path)


def size(path: str) -> int:
    if is_remote(path):
        return int(_fs().match([path])[0].metadata_list[0].size_in_bytes)
    return os.path.getsize(path)


def make_dirs(path: str) -> None:
    """Local: create the directory. Remote: nothing (object stores have no directories)."""
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def list_dir(path: str) -> list[str]:
    """Names in directory `path`, sorted; [] when it does not exist. Remote: the first name
    component of every object under `path/` (so sub-folders are listed too, like os.listdir)."""
    if is_remote(path):
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix):].split("/", 1)[0] for p, _ in _remote_files(prefix)} - {""})
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def remove(path: str) -> None:
    """Remove a file or a directory tree; nothing when it does not exist. Remote: the object
    `path` and every object under `path/`."""
    if is_remote(path):
        doomed = [p for p, _ in _remote_files(path.rstrip("/") + "/")]
        if _fs().exists(path):
            doomed.append(path)
        if doomed:
            _fs().delete(doomed)
        return
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def temporary_path(path: str) -> str:
    """A hidden, unique temporary name next to `path` (same directory, so `commit` is a rename)."""
    directory, name = dirname(path), basename(path)
    make_dirs(directory or ".")
    return join(directory, f".{name}.{uuid.uuid4().hex}.tmp") if directory else f".{name}.{uuid.uuid4().hex}.tmp"


def commit(tmp: str, path: str) -> None:
    """Put the finished temporary file `tmp` in place at `path`: an atomic rename locally; on
    an object store Beam's rename (a server-side copy, then the delete of `tmp`), so the final
    name only ever holds a complete object."""
    if is_remote(path):
        _fs().rename([tmp], [path])
    else:
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A local temporary path for a writer that wants a file name (Parquet, SentencePiece);
    put in place at `path` when the block succeeds (remote: uploaded through
    `open_atomically`), removed when it fails."""
    if is_remote(path):
        with tempfile.TemporaryDirectory(prefix="corpusmill-") as scratch:
            local = os.path.join(scratch, basename(path))
            yield local
            upload(local, path)
        return
    tmp = temporary_path(path)
    try:
        yield tmp
        commit(tmp, path)
    finally:
        remove(tmp)


@contextlib.contextmanager
def open_atomically(path: str) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` only once the block finished without error.

    Remote paths: the bytes stream to a hidden temporary object next to `path` (Beam's
    FileSystems.create: a multipart upload), which is renamed to `path` once complete. A direct
    upload to `path` would also appear atomically, but Beam's writer has no abort: closing it
    after an error would publish a truncated object under the final name. With the temporary
    name, a failed write leaves nothing under `path` and its temporary object is deleted."""
    if not is_remote(path):
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            yield f
        return
    from apache_beam.io.filesystem import CompressionTypes

    tmp = temporary_path(path)
    f = _fs().create(tmp, compression_type=CompressionTypes.UNCOMPRESSED)
    try:
        yield f
    except BaseException:
        with contextlib.suppress(Exception):
            f.close()  # completes the upload of the temporary object, which is then deleted
            _fs().delete([tmp])
        raise
    f.close()
    commit(tmp, path)  # a server-side copy, then the temporary object's delete


def open_read(path: str) -> IO[bytes]:
    """A binary file open for reading (remote: Beam's seekable reader)."""
    if is_remote(path):
        from apache_beam.io.filesystem import CompressionTypes

        reader: IO[bytes] = _fs().open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        return reader
    return open(path, "rb")


def upload(local: str, path: str) -> None:
    """Copy the local file `local` to `path` (any filesystem), atomically."""
    with open(local, "rb") as src, open_atomically(path) as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def upload_tree(local_dir: str, directory: str) -> None:
    """Copy every file under the local `local_dir` to the same relative path under `directory`."""
    for root, _dirs, files in os.walk(local_dir):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), local_dir)
            upload(os.path.join(root, name), join(directory, *rel.split(os.sep)))


@contextlib.contextmanager
def local_copy(path: str) -> Iterator[str]:
    """A local file name holding the file at `path` (itself when local; remote: a downloaded
    temporary copy, removed after the block), for readers that need a file name."""
    if not is_remote(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="corpusmill-") as scratch:
        local = os.path.join(scratch, basename(path))
        with open_read(path) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        yield local


def write_bytes(path: str, data: bytes) -> None:
    with open_atomically(path) as f:
        f.write(data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
    """JSON (UTF-8, not ASCII-escaped, newline-terminated), written atomically."""
    write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def read_json(path: str) -> Any:
    """The parsed JSON at `path`; raises OSError / ValueError."""
    return json.loads(read_text(path))


def read_json_or_none(path: str) -> Any:
    """The parsed JSON at `path`, or None when it is missing or not JSON."""
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open_read(path) as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def write_parquet(path: str, table: pa.Table, *, row_group_size: int = PARQUET_ROW_GROUP_ROWS) -> None:
    """A Parquet file (zstd, column statistics), written atomically."""
    with open_atomically(path) as f:
        pq.write_table(table, f, compression=PARQUET_COMPRESSION, row_group_size=row_group_size, write_statistics=True)


def parquet_file(path: str) -> pq.ParquetFile:
    """A Parquet file opened for reading (footer, row groups, batches); remote files are read
    through Beam's seekable reader (ranged GETs)."""
    return pq.ParquetFile(open_read(path) if is_remote(path) else path)


def parquet_rows(path: str) -> int:
    return int(parquet_file(path).metadata.num_rows)


def tree_size(directory: str, skip: tuple[str, ...] = ()) -> int:
    """Bytes of every file under `directory`, except under its top-level folders in `skip`."""
    if is_remote(directory):
        prefix = directory.rstrip("/") + "/"
        return sum(n for p, n in _remote_files(prefix) if p[len(prefix):].split("/", 1)[0] not in skip)
    total = 0
    for root, dirs, files in os.walk(directory):
        if root == directory:
            dirs[:] = [d for d in dirs if d not in skip]
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def describe_file(out_dir: str, relative: str) -> dict[str, Any]:
    """A shard as the manifest lists it: path relative to `out_dir`, rows, bytes, sha256."""
    path = join(out_dir, relative)
    return {"path": relative, "rows": parquet_rows(path), "bytes": size(path), "sha256": sha256(path)}


def finalize_shards(out_dir: str, kind: str, count: int) -> list[dict[str, Any]]:
    """After the pipeline: write the shards of `kind` that received no rows (empty, with the
    kind's schema), remove stale shards of another count, and describe every shard."""
    from corpusmill.schemas.document import SCHEMAS

    folder = join(out_dir, kind)
    make_dirs(folder)
    expected = [shard_name(i, count) for i in range(count)]
    for name in list_dir(folder):
        if is_shard_name(name) and name not in expected:
            remove(join(folder, name))
    for name in expected:
        if not exists(join(folder, name)):
            write_parquet(join(folder, name), SCHEMAS[kind].empty_table())
    return [describe_file(out_dir, f"{kind}/{name}") for name in expected]


REMOTE_PROGRESS_SECONDS = 20.0  # an object store gets a process's progress lines at most this often
_pending: dict[str, list[str]] = {}  # remote progress objects not yet written: path stem -> lines
_flushed: dict[str, float] = {}


def _append_line(progress_dir: str, name: str, line: str) -> None:
    """Append `line` to `progress_dir/name` (best effort: never raises). Object stores cannot
    append: there a process gathers its lines and writes them as one new small object
    `<stem>.<unique><suffix>` at most every REMOTE_PROGRESS_SECONDS (and at exit), so progress
    costs a few requests per worker and minute rather than one upload per batch; the readers
    sum every file with the suffix, so they read both layouts the same way."""
    if is_remote(progress_dir):
        key = join(progress_dir, name)
        _pending.setdefault(key, []).append(line)
        if key not in _flushed or time.monotonic() - _flushed[key] >= REMOTE_PROGRESS_SECONDS:
            _flush_progress(key)
        return
    try:
        make_dirs(progress_dir)
        with open(join(progress_dir, name), "a", encoding="utf-8") as f:
            f.write(line)
    except OSError:
        pass


def _flush_progress(key: str) -> None:
    lines = _pending.pop(key, [])
    _flushed[key] = time.monotonic()
    if not lines:
        return
    stem, dot, suffix = key.rpartition(".")
    try:  # written directly (one PUT): a lost or partial progress object only delays the display
        with _fs().create(f"{stem}.{uuid.uuid4().hex}{dot}{suffix}") as f:
            f.write("".join(lines).encode("utf-8"))
    except Exception:  # progress is a convenience: a failed upload must not fail the run
        pass


@atexit.register
def flush_progress() -> None:
    """Write every gathered remote progress line now (also done at exit)."""
    for key in list(_pending):
        _flush_progress(key)


def record_progress(progress_dir: str, worker: str, unit: str, documents: int) -> None:
    """Append `unit<TAB>documents` to this worker's progress file (best effort: never raises)."""
    _append_line(progress_dir, f"{worker}.tsv", f"{unit}\t{documents}\n")


def read_progress(progress_dir: str) -> tuple[int, int]:
    """(units done, documents read) so far, summed over every worker's progress file."""
    units = documents = 0
    try:
        lines = list(_worker_lines(progress_dir, ".tsv"))
    except OSError:  # best effort, like record_progress: a path that is no folder has no progress
        return 0, 0
    for line in lines:
        n = line.rpartition("\t")[2]
        if n.isdigit():
            units += 1
            documents += int(n)
    return units, documents


def _worker_lines(progress_dir: str, suffix: str) -> Iterator[str]:
    """The lines of every worker's `*<suffix>` file in `progress_dir` (an unreadable file is
    skipped: progress is best effort)."""
    for name in list_dir(progress_dir):
        if not name.endswith(suffix):
            continue
        try:
            lines = read_text(join(progress_dir, name)).splitlines()
        except OSError:
            continue
        yield from lines


def record_stage(progress_dir: str, worker: str, stage: str, count: int) -> None:
    """Append `stage<TAB>count` to this worker's `.stages` file: progress of the stages after
    reading (documents through steps, dedup, shards written; best effort: never raises)."""
    _append_line(progress_dir, f"{worker}.stages", f"{stage}\t{count}\n")


def read_stages(progress_dir: str) -> dict[str, int]:
    """{stage: count so far}, summed over every worker's `.stages` file."""
    totals: dict[str, int] = {}
    for line in _worker_lines(progress_dir, ".stages"):
        stage, _, n = line.rpartition("\t")
        if stage and n.isdigit():
            totals[stage] = totals.get(stage, 0) + int(n)
    return totals


def require_run(out_dir: str) -> None:
    """Raise NotARun unless `out_dir` holds a run's manifest.json."""
    if not is_file(join(out_dir, MANIFEST)):
        raise NotARun(f"{out_dir}: not a corpusmill output directory (no {MANIFEST})")


def read_manifest(out_dir: str) -> dict[str, Any]:
    require_run(out_dir)
    data = read_json(join(out_dir, MANIFEST))
    if not isinstance(data, dict):
        raise NotARun(f"{out_dir}: {MANIFEST} is not a JSON object")
    return data


def write_manifest(out_dir: str, manifest: dict[str, Any]) -> None:
    write_json(join(out_dir, MANIFEST), manifest)
