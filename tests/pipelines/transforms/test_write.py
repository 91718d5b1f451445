"""WriteShards: deterministic shard assignment, rows in shard order, atomic files, readable Parquet."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from corpusmill.pipelines.transforms.write import WriteShards, group_of, key_rank, shard_of
from corpusmill.schemas.outputs import finalize_shards
from corpusmill.schemas.document import DOCUMENT_SCHEMA, Document, make_id
from corpusmill.workflows.runner import FN_API_RUNNER


def _docs(n: int) -> list[Document]:
    return [
        Document(id=make_id("t", i), text=f"document number {i} 文本", source="books", location=f"f#{i}", part=i)
        for i in range(n)
    ]


def _write(out: Path, docs: list[Document], args: list[str]) -> list[dict]:
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}", *args])) as p:
        _ = p | beam.Create(docs) | WriteShards(str(out), "corpus", 3)
    return finalize_shards(str(out), "corpus", 3)


def test_shards_are_deterministic_across_worker_counts(tmp_path: Path) -> None:
    docs = _docs(50)
    one = _write(tmp_path / "a", docs, [])
    many = _write(tmp_path / "b", list(reversed(docs)), ["--direct_num_workers=2", "--direct_running_mode=multi_threading"])
    assert [e["sha256"] for e in one] == [e["sha256"] for e in many]
    assert sum(e["rows"] for e in one) == 50
    for entry in one:
        table = pq.read_table(tmp_path / "a" / entry["path"])
        assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
        ids = table.column("id").to_pylist()
        assert ids == sorted(ids, key=lambda i: (key_rank(i), i)) != sorted(ids)
        index = int(entry["path"].split("-")[1])
        assert all(shard_of(i, 3) == index for i in ids)
    assert not [n for n in os.listdir(tmp_path / "a" / "corpus") if n.startswith(".")]


def test_finalize_writes_empty_shards(tmp_path: Path) -> None:
    entries = _write(tmp_path, _docs(1), [])
    assert len(entries) == 3 and sum(e["rows"] for e in entries) == 1
    assert all((tmp_path / e["path"]).is_file() for e in entries)


def test_groups_are_ranges_of_the_shard_order() -> None:
    """Groups split a shard by ranges of key_rank: in shard order, the group never goes down,
    so the runs concatenated in group order are in shard order; all groups are used."""
    keys = sorted((d.id for d in _docs(2000)), key=lambda i: (key_rank(i), i))
    for groups in (1, 2, 7, 64):
        seen = [group_of(k, groups) for k in keys]
        assert seen == sorted(seen) and set(seen) == set(range(groups))


def test_split_shards_are_byte_identical_to_whole_ones(tmp_path: Path) -> None:
    """A shard over max_group_rows is written as sorted runs concatenated into the shard: the
    same bytes as grouping it whole (here 15,000 rows in 3 shards of ~5,000, groups of at most
    700 rows: row groups of 4,096 rows span several runs, and the second row group starts in
    the middle of a run)."""
    docs = _docs(15000)
    whole = _write(tmp_path / "whole", docs, [])
    with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
        _ = p | beam.Create(docs) | WriteShards(str(tmp_path / "split"), "corpus", 3, max_group_rows=700)
    split = finalize_shards(str(tmp_path / "split"), "corpus", 3)
    assert [e["rows"] for e in split] == [e["rows"] for e in whole] and sum(e["rows"] for e in split) == 15000
    assert [e["sha256"] for e in split] == [e["sha256"] for e in whole]
    assert all(pq.ParquetFile(tmp_path / "split" / e["path"]).metadata.num_row_groups == 2 for e in split)
    assert not [n for n in os.listdir(tmp_path / "split" / "corpus") if n.startswith(".")], "runs left behind"


def test_verdicts_joined_at_the_grouping_write_what_a_prior_filter_would(tmp_path: Path) -> None:
    """WriteShards with `decide` groups documents with their verdicts: the kept ones give the
    same shard bytes as writing the kept documents alone (whole and split into runs), the
    removed ones come out as Rejections, and the outcomes count both per source."""
    from apache_beam.testing.util import assert_that, equal_to

    from corpusmill.pipelines.transforms.dedup import decide

    docs = _docs(3000)
    removed = {d.id: docs[0].id for d in docs[1::4]}  # every 4th removed as a copy of the first
    sizes = {docs[0].id: 1 + len(removed)}
    kept = [d for d in docs if d.id not in removed]
    whole = _write(tmp_path / "filtered", [dataclasses.replace(d, cluster_size=sizes.get(d.id, 1)) for d in kept], [])
    verdicts = [(i, ("exact_duplicate", s)) for i, s in removed.items()] + [(i, ("exact_cluster", n)) for i, n in sizes.items()]
    for name, cap in (("joined", 100_000), ("joined-split", 400)):
        with beam.Pipeline(options=PipelineOptions([f"--runner={FN_API_RUNNER}"])) as p:
            out = {
                "records": p | "Docs" >> beam.Create(docs),
                "verdicts": p | "Verdicts" >> beam.Create(verdicts),
            } | WriteShards(str(tmp_path / name), "corpus", 3, max_group_rows=cap, decide=decide)
            assert_that(out["rejected"] | beam.Map(lambda r: (r.id, r.step, r.detail)),
                        equal_to([(i, "exact_dedup", s) for i, s in removed.items()]), label="Rejected")
            assert_that(out["outcomes"] | beam.CombinePerKey(sum),
                        equal_to([(("kept", "books"), len(kept)), (("exact_dedup", "books"), len(removed))]), label="Outcomes")
        joined = finalize_shards(str(tmp_path / name), "corpus", 3)
        assert [e["sha256"] for e in joined] == [e["sha256"] for e in whole], name


def test_streamed_rows_are_byte_identical_to_one_table_write(tmp_path: Path) -> None:
    """write_rows (row group by row group, what the shard writers stream) lays out the file as
    one write of the whole table does, across a row-group boundary."""
    import pyarrow as pa

    from corpusmill.pipelines.transforms.write import write_rows
    from corpusmill.schemas import outputs
    from corpusmill.schemas.document import to_row

    n = outputs.PARQUET_ROW_GROUP_ROWS + 17
    rows = [to_row(d) for d in sorted(_docs(n), key=lambda d: d.id)]
    assert write_rows(str(tmp_path / "streamed.parquet"), "corpus", iter(rows)) == n
    outputs.write_parquet(str(tmp_path / "whole.parquet"), pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA))
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "streamed.parquet").metadata.num_row_groups == 2


def test_repeated_keys_fall_back_to_the_full_sort(tmp_path: Path) -> None:
    """Two records with one id (a rejected kind can hold them) still come out in shard order."""
    from corpusmill.pipelines.transforms.write import WriteShardFn, pack_record, shard_order
    from corpusmill.schemas.document import Drop, Rejection

    base = Rejection.of(_docs(1)[0], "s", Drop("r", "d"))
    twins = [dataclasses.replace(base, location="z"), dataclasses.replace(base, location="a"), dataclasses.replace(base, id="0")]
    fn = WriteShardFn(str(tmp_path), "rejected", 1)
    ordered = list(fn._in_order([pack_record(r) for r in twins]))
    assert ordered == sorted(twins, key=shard_order)
    assert [r.location for r in ordered if r.id == base.id] == ["a", "z"]
