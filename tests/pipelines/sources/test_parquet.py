"""Parquet reader: files made in the test with pyarrow, including bad rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusmill.pipelines.sources import parquet
from corpusmill.schemas.document import Document, Failure


def write_table(path: Path, row_group_size: int = 3) -> Path:
    table = pa.table(
        {
            "id": pa.array([101, 102, 103, 104, 105, 106, 107], pa.int64()),
            "text": ["one", None, "three", "x" * 500, "five", "six", "seven"],
            "url": ["u1", "u2", None, "u4", "u5", "u6", "u7"],
            "meta": [{"lang": "en", "score": 0.9}, None, {"lang": "fr", "score": 0.5}, None, {"lang": "de", "score": 1.0}, None, None],
            "unused": ["a" * 100] * 7,
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def config(path: Path, **options: object) -> parquet.Config:
    return parquet.Config(
        paths=[str(path)], fields={"url": "url", "language": "meta.lang", "language_score": "meta.score"}, **options
    )


def test_rows_and_failures(tmp_path: Path) -> None:
    path = write_table(tmp_path / "docs.parquet")
    records = list(parquet.read(str(path), config(path, max_record_bytes=200)))
    docs = [r for r in records if isinstance(r, Document)]
    failures = [r for r in records if isinstance(r, Failure)]
    assert [d.id for d in docs] == ["101", "103", "105", "106", "107"]
    assert docs[0].text == "one" and docs[0].url == "u1" and docs[0].language == "en"
    assert docs[0].language_score == pytest.approx(0.9)
    assert docs[0].source == "parquet" and docs[0].location == f"{path}#row=0"
    assert docs[1].url is None and docs[1].location == f"{path}#row=2"
    assert docs[3].language is None
    assert [f.location for f in failures] == [f"{path}#row=1", f"{path}#row=3"]
    assert "missing text" in failures[0].error and failures[0].id == "102"
    assert "record_too_large" in failures[1].error and failures[1].id == "104"


def test_row_group_splits_cover_the_file(tmp_path: Path) -> None:
    path = write_table(tmp_path / "docs.parquet", row_group_size=2)
    units = list(parquet.splits(str(path), config(path, split_bytes=1)))
    assert units == [f"{path}#row_groups={i}-{i + 1}" for i in range(4)]
    by_units = [r for u in units for r in parquet.read(u, config(path))]
    whole = list(parquet.read(str(path), config(path)))
    assert by_units == whole
    assert [r.location for r in by_units][-1] == f"{path}#row=6"
    assert [r for u in (f"{path}#row_group={i}" for i in range(4)) for r in parquet.read(u, config(path))] == whole
    assert list(parquet.splits(str(path), config(path))) == [str(path)]  # 64 MiB default: one unit
    bad = list(parquet.read(f"{path}#row_groups=3-9", config(path)))
    assert len(bad) == 1 and isinstance(bad[0], Failure) and "no row groups 3-9" in bad[0].error


@pytest.mark.timeout(120)
def test_many_tiny_row_groups_make_few_units(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: one unit per row group made a file of 3,000
    one-row groups take 20 s (each unit parses the whole footer: units x row groups). Runs of
    row groups of at least split_bytes keep the unit count to the data size."""
    import time

    path = tmp_path / "tiny-groups.parquet"
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(5000)], "text": ["some text"] * 5000}), path, row_group_size=1)
    start = time.process_time()
    units = list(parquet.splits(str(path), parquet.Config(paths=[str(path)], split_bytes=20_000)))
    records = [r for u in units for r in parquet.read(u, parquet.Config(paths=[str(path)]))]
    assert time.process_time() - start < 30
    assert 2 <= len(units) <= 50
    assert [r.id for r in records] == [f"r{i}" for i in range(5000)]
    assert records[-1].location == f"{path}#row=4999"


def test_missing_columns_and_bad_files(tmp_path: Path) -> None:
    no_text = tmp_path / "no_text.parquet"
    pq.write_table(pa.table({"id": ["a"], "body": ["hello"]}), no_text)
    records = list(parquet.read(str(no_text), config(no_text)))
    assert len(records) == 1 and isinstance(records[0], Failure) and "text" in records[0].error
    renamed = list(parquet.read(str(no_text), parquet.Config(paths=["x"], text_field="body")))
    assert [(d.id, d.text) for d in renamed] == [("a", "hello")]  # absent mapped columns give None
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all" * 10)
    for path in (garbage, tmp_path / "missing.parquet"):
        records = list(parquet.read(str(path), config(path)))
        assert len(records) == 1 and isinstance(records[0], Failure) and records[0].location == str(path)
    assert list(parquet.splits(str(garbage), config(garbage))) == [str(garbage)]


def test_string_ids_and_non_string_text(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": ["x", None, "z"], "text": [1, 2, 3]}), path)
    records = list(parquet.read(str(path), parquet.Config(paths=["x"])))
    assert all(isinstance(r, Failure) for r in records)
    assert ["not a string" in r.error or "missing id" in r.error for r in records] == [True, True, True]


def test_bad_integer_strings_fail_one_row(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: an integer field given as "²" (isdigit() but not
    int()) or as 5,000 digits (over int()'s digit limit) raised ValueError, which ended the
    parquet unit; now that row is a Failure and the others are read."""
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c", "d"], "text": ["one", "two", "three", "four"],
                             "n": ["12", "\u00b2", "9" * 5000, " -3 "]}), path)
    records = list(parquet.read(str(path), parquet.Config(paths=[str(path)], fields={"page_id": "n"})))
    docs = [r for r in records if isinstance(r, Document)]
    failures = [r for r in records if isinstance(r, Failure)]
    assert [(d.id, d.page_id) for d in docs] == [("a", 12), ("d", -3)]
    assert [f.location for f in failures] == [f"{path}#row=1", f"{path}#row=2"]
    assert all("field 'page_id'" in f.error for f in failures)


def _dictionary_bomb(path: Path, rows: int = 3000, value_bytes: int = 1 << 20) -> Path:
    """One `value_bytes` string shared by every row through the dictionary: a few KB on disk."""
    text = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["a" * value_bytes]))
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(rows)], "text": text}), path, compression="zstd")
    return path


@pytest.mark.timeout(300)
def test_dictionary_bomb_is_bounded(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz_readers.py: a 7 KB file whose 3,000 rows share one 1 MB
    dictionary value decoded 1,024 rows (1 GB) per batch. Now the decoded bytes count against
    max_decompressed_bytes, and such a row group is read in batches of about max_record_bytes."""
    import subprocess
    import sys

    path = _dictionary_bomb(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 20_000
    records = list(parquet.read(str(path), parquet.Config(paths=[str(path)], max_decompressed_bytes=100 << 20)))
    docs = [r for r in records if isinstance(r, Document)]
    assert len(docs) <= 100  # the check is per batch: here the first batch is over the limit already
    assert isinstance(records[-1], Failure) and "exceed max_decompressed_bytes" in records[-1].error
    assert records[-1].location.startswith(f"{path}#row=")
    # With the defaults (8 GiB) all 3,000 rows are read, in bounded memory (measured in a fresh process).
    script = (
        "import resource, sys\n"
        "from pipelines.sources import parquet\n"
        "p = sys.argv[1]\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "n = sum(1 for r in parquet.read(p, parquet.Config(paths=[p])) if type(r).__name__ == 'Document')\n"
        "print(n, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=root, capture_output=True, text=True, check=True)
    n, growth_mb = map(int, out.stdout.split())
    assert n == 3000
    assert growth_mb < 400, growth_mb  # ~64 MiB batches; was ~1,000 MB


def test_footer_size_over_the_decompression_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["x" * 400_000] * 3}), path, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 50_000
    records = list(parquet.read(str(path), parquet.Config(paths=[str(path)], max_decompressed_bytes=1_000_000)))
    assert len(records) == 1 and isinstance(records[0], Failure) and records[0].location == str(path)
    assert "LimitExceeded" in records[0].error and "max_decompressed_bytes=1000000" in records[0].error
    assert len(list(parquet.read(str(path), parquet.Config(paths=[str(path)])))) == 3


@pytest.mark.timeout(300)
def test_damaged_column_footer_is_a_failure_not_an_abort(tmp_path: Path, shared_data: Path) -> None:
    """Found by benchmarks/fuzz_readers.py (its parquet seed, mutant 558: 64 bit flips): a
    damaged column-chunk footer makes pyarrow abort the whole process (C++ terminate) when
    Python reads that column's metadata, while reading the data reports it as an error. The
    reader uses row-group metadata only; this mutant must end as one Failure. Rebuilt here
    with the fuzzer's own deterministic mutation (needs its seed from ../shared/data)."""
    import random
    import subprocess
    import sys

    from benchmarks import fuzz_readers as fuzz

    seeds = [s for s in fuzz.build_seeds() if s.kind == "parquet"]
    seed = next(s for s in seeds if s.name == "parquet from dolma_ccnet[:4 lines]")
    rng = random.Random(f"{seed.name}#558")
    data, _, ops = fuzz.make_mutant(seed, [o for o in seeds if o is not seed], rng)
    path = tmp_path / "damaged.parquet"
    path.write_bytes(data)
    root = Path(__file__).resolve().parents[3]
    # The hazard is real for this file: touching its column metadata from Python aborts the process
    # (pyarrow 17 and later) or raises ArrowInvalid (pyarrow 16); either way it is not readable.
    probe = ("import pyarrow.parquet as pq, sys\nm = pq.ParquetFile(sys.argv[1]).metadata\n"
             "[m.row_group(i).column(j) for i in range(m.num_row_groups) for j in range(m.num_columns)]\n")
    hazard = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    assert hazard.returncode < 0 or "ArrowInvalid" in hazard.stderr, ("the fuzzer's mutation changed; pick another", ops)
    script = (
        "import sys\nfrom pipelines.sources import parquet\np = sys.argv[1]\n"
        "c = parquet.Config(paths=[p], id_field='text', text_field='id')\n"
        "print([type(r).__name__ for u in parquet.splits(p, c) for r in parquet.read(u, c)])\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-500:]
    assert "Failure" in out.stdout
