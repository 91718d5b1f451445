"""The output directory of a run: its file names, and the only code that touches its files.

Every stage (corpus shards, stage counts, manifest, tokenizer, validation, report) reads and
writes through these functions, so how a file is made durable is decided once:
  * a file appears complete or not at all: it is written to a hidden temporary name in the
    same directory and renamed into place (`write_bytes`, `write_text`, `write_json`,
    `open_atomically` for writers that stream);
  * `sha256` is the checksum recorded in the manifest and checked by validation;
  * `shard_name(i, n)` is the name of shard i of n of any kind (corpus, rejected, failed, tokens).

Every function takes a path string. The implementation is local (os, shutil); the filesystem
assumptions live here only, so another filesystem (Beam's FileSystems for s3:// or gs://) is a
change to this module alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
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


def join(base: str, *parts: str) -> str:
    return os.path.join(base, *parts)


def exists(path: str) -> bool:
    return os.path.exists(path)


def is_file(path: str) -> bool:
    return os.path.isfile(path)


def size(path: str) -> int:
    return os.path.getsize(path)


def make_dirs(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def list_dir(path: str) -> list[str]:
    """Names in directory `path`, sorted; [] when it does not exist."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def remove(path: str) -> None:
    """Remove a file or a directory tree; nothing when it does not exist."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def temporary_path(path: str) -> str:
    """A hidden, unique temporary name next to `path` (same directory, so `commit` is a rename)."""
    directory, name = os.path.split(path)
    make_dirs(directory or ".")
    return os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")


def commit(tmp: str, path: str) -> None:
    """Put the finished temporary file `tmp` in place at `path` (atomic rename)."""
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path for a writer that wants a file name (Parquet, SentencePiece); renamed to
    `path` when the block succeeds, removed when it fails."""
    tmp = temporary_path(path)
    try:
        yield tmp
        commit(tmp, path)
    finally:
        remove(tmp)


@contextlib.contextmanager
def open_atomically(path: str) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` only once the block finished without error."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f


def write_bytes(path: str, data: bytes) -> None:
    with open_atomically(path) as f:
        f.write(data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, data: Any, *, indent: int | None = 2, sort_keys: bool = False) -> None:
    """JSON (UTF-8, not ASCII-escaped, newline-terminated), written atomically."""
    write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_json(path: str) -> Any:
    """The parsed JSON at `path`; raises OSError / ValueError."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_json_or_none(path: str) -> Any:
    """The parsed JSON at `path`, or None when it is missing or not JSON."""
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def write_parquet(path: str, table: pa.Table, *, row_group_size: int = PARQUET_ROW_GROUP_ROWS) -> None:
    """A Parquet file (zstd, column statistics), written atomically."""
    with open_atomically(path) as f:
        pq.write_table(table, f, compression=PARQUET_COMPRESSION, row_group_size=row_group_size, write_statistics=True)


def parquet_file(path: str) -> pq.ParquetFile:
    """A Parquet file opened for reading (footer, row groups, batches)."""
    return pq.ParquetFile(path)


def parquet_rows(path: str) -> int:
    return int(parquet_file(path).metadata.num_rows)


def tree_size(directory: str, skip: tuple[str, ...] = ()) -> int:
    """Bytes of every file under `directory`, except under its top-level folders in `skip`."""
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


def record_progress(progress_dir: str, worker: str, unit: str, documents: int) -> None:
    """Append `unit<TAB>documents` to this worker's progress file (best effort: never raises)."""
    try:
        make_dirs(progress_dir)
        with open(join(progress_dir, f"{worker}.tsv"), "a", encoding="utf-8") as f:
            f.write(f"{unit}\t{documents}\n")
    except OSError:
        pass


def read_progress(progress_dir: str) -> tuple[int, int]:
    """(units done, documents read) so far, summed over every worker's progress file."""
    units = documents = 0
    try:
        names = list_dir(progress_dir)
    except OSError:  # best effort, like record_progress: a path that is no folder has no progress
        return 0, 0
    for name in names:
        if not name.endswith(".tsv"):
            continue
        try:
            lines = read_text(join(progress_dir, name)).splitlines()
        except OSError:
            continue
        for line in lines:
            n = line.rpartition("\t")[2]
            if n.isdigit():
                units += 1
                documents += int(n)
    return units, documents


def record_stage(progress_dir: str, worker: str, stage: str, count: int) -> None:
    """Append `stage<TAB>count` to this worker's `.stages` file: progress of the stages after
    reading (documents through steps, dedup, shards written; best effort: never raises)."""
    try:
        make_dirs(progress_dir)
        with open(join(progress_dir, f"{worker}.stages"), "a", encoding="utf-8") as f:
            f.write(f"{stage}\t{count}\n")
    except OSError:
        pass


def read_stages(progress_dir: str) -> dict[str, int]:
    """{stage: count so far}, summed over every worker's `.stages` file."""
    totals: dict[str, int] = {}
    for name in list_dir(progress_dir):
        if not name.endswith(".stages"):
            continue
        try:
            lines = read_text(join(progress_dir, name)).splitlines()
        except OSError:
            continue
        for line in lines:
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
