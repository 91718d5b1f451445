"""The one place that wires sources -> steps -> dedup -> shards into a Beam pipeline.

    for each source:  ReadSource (packed records + id facts) -> CheckIds -> ApplySteps(its steps)
                      -> packed and keyed by corpus shard
    all sources:      IdFacts: the id facts in one grouping -> ids read more than once (a side
                      input of every CheckIds: a repeated input record is rejected as
                      duplicate_id), rows per corpus shard (an upper bound, for the corpus
                      writer's split) and documents read per source (the "read" count)
                      DedupVerdicts on the keyed documents, unpacked in a stage of their own
                      (exact + MinHash on compact records: ids, hashes, band keys, signatures;
                      never the text)
                      -> WriteShards(corpus) joining documents with their verdicts: the
                      documents cross this one shuffle only; dedup's removed documents
                      leave it as rejections
    dead letters:     rejections and failures of every stage -> one Reshuffle -> split by type
                      -> WriteShards(rejected | failed)
    stage counts:     records per stage and source -> _stats/stages.json (for the manifest):
                      "read" from IdFacts, "steps" and the dedup stages from the corpus
                      writer's outcomes (without dedup: "steps" counted on the documents)

Each source's documents stay in their own PCollection until its steps ran; only id facts of
all sources meet, to find repeated ids.

Why this shape (Flink): Beam's Flink batch translation emits all outputs of a fused stage as
one tagged union and prunes it with one FlatMap per output PCollection; with blocking exchanges
each of those reads its own copy of the WHOLE union, and each pruned output is written once
more per consumer. So a stage's spill is (its output PCollections) x (all its output bytes)
+ each output x its consumers. The stages that carry documents or dedup payloads therefore
have few outputs, and documents and payloads are not produced in the same stage:
  * the read stage (after ReadSource's Reshuffle): two outputs, the packed records and the id
    facts (it had nine: counts, shard keys, id pairs, rejections, failures, ...);
  * the id check + steps stage: two, the keyed packed documents (two consumers: the corpus
    writer and dedup) and the dead letters; it had about nine (the corpus writer's keys,
    dedup's exact keys and payloads, the rejected and failed writers' keys and row counts,
    the "steps" count), then four at 92f939c, each a copy of the documents AND the payloads;
  * dedup's compact-record stage: its own outputs (exact keys, payloads; DedupVerdicts).
Measured (benchmarks/engine_scale.py, exact + MinHash dedup, Flink on 2 slots; exploratory
runs, same kept ids in all): spill peak at 100k 2,133 MB before (6f75ee0), 1,012 MB with the
read stage at two outputs (92f939c), 1,144 MB with this shape (3837b79; at 100k the peak
moves into dedup's payload join); at 300k 6,826 MB before, 5,423 MB at 92f939c, 3,170 MB with
this shape. The shuffle folder shows why: at 300k the steps' stage of 92f939c wrote 4 files
of ~660 MB per subtask (packed documents ~300 MB + payloads ~360 MB, once per output
PCollection); with this shape it writes ~300 MB files (documents only) and dedup's records
stage ~370 MB files (payloads only). Flink also keeps, per consumer, a pruned copy of each
output PCollection until that consumer has read it.
Without dedup, the steps' stage keeps three outputs (corpus writer, dead letters, "steps").
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from corpusmill.pipelines.plan import RunPlan
from corpusmill.pipelines.transforms.apply_steps import ApplySteps
from corpusmill.pipelines.transforms.ids import CheckIds, IdFacts
from corpusmill.pipelines.transforms.read import ReadSource, expand_paths
from corpusmill.pipelines.transforms.stats import count_stage, stage_from_outcomes, write_stage_counts
from corpusmill.pipelines.transforms.write import WriteShards, shard_record, unpack_record
from corpusmill.schemas.document import Failure, Rejection
from corpusmill.schemas.outputs import PROGRESS_DIR


def source_paths(plan: RunPlan) -> list[list[str]]:
    """The input files of each source (its globs expanded, through Beam's filesystems).
    Raises FileNotFoundError / ValueError when a source's globs match nothing."""
    return [expand_paths(s.source.paths) for s in plan.sources]


def _unfused(keyed: beam.PCollection[Any], fence: Any, label: str) -> beam.PCollection[Any]:
    """The Documents of `keyed` ((shard, packed record) pairs), unpacked in a stage of their own
    on Flink: a ParDo with a side input (`fence`, one None, unused) is never fused with the
    producer of its main input by Beam's GreedyPipelineFuser. So the steps' stage has one output
    of documents (read twice: by the corpus writer and here) instead of producing dedup's
    compact records and payloads (~2.8 KB a document with MinHash) next to them, which would put
    the payloads into every copy of that stage's output (module docstring)."""
    documents: beam.PCollection[Any] = keyed | label >> beam.Map(lambda item, _fence: unpack_record(item[1]), fence)
    return documents


def build_corpus(pipeline: beam.Pipeline, plan: RunPlan, source_paths: list[list[str]], out_dir: str) -> None:
    """Add the corpus stages to `pipeline`, writing under `out_dir`. `source_paths[i]` are the
    expanded input paths of `plan.sources[i]`."""
    names = [f"{s.kind.capitalize()}{i}" for i, s in enumerate(plan.sources)]
    progress_dir = f"{out_dir}/{PROGRESS_DIR}"
    reads = [
        pipeline | f"Read{name}" >> ReadSource(s.source, paths, progress_dir, packed=True)
        for name, s, paths in zip(names, plan.sources, source_paths)
    ]
    ids = tuple(r["facts"] for r in reads) | "IdFacts" >> IdFacts(plan.output.shards)
    counts = [ids["documents"] | "CountRead" >> beam.MapTuple(lambda source, n: (("read", source), n))]

    documents, dead = [], []
    for name, source, read in zip(names, plan.sources, reads):
        checked = read["records"] | f"CheckIds{name}" >> CheckIds(ids["repeated"])
        stepped = checked["documents"] | f"Steps{name}" >> ApplySteps(
            list(source.steps), namespace=f"steps.{source.kind}", batch_size=plan.run.batch_size,
            progress_dir=progress_dir,
        )
        documents.append(stepped["documents"])
        dead.extend([checked["rejected"], checked["failed"], stepped["rejected"], stepped["failed"]])

    # Each source's documents go straight from its steps into the corpus writer's grouping
    # (a Flatten of all sources' documents would be one more copy of them in memory on a
    # runner that materialises Flattens, as FnApiRunner does); only compact records meet.
    output = plan.output
    exact, minhash = plan.dedup.exact, plan.dedup.minhash
    if exact is None and minhash is None:
        counts.extend(count_stage(d, "steps", f"CountSteps{name}") for name, d in zip(names, documents))
        docs = tuple(documents) | "AllSources" >> beam.Flatten()
        docs | "WriteCorpus" >> WriteShards(out_dir, "corpus", output.shards, shard_rows=ids["shard_rows"])
    else:
        from corpusmill.pipelines.transforms.dedup import MINHASH_STEP, DedupVerdicts, decide

        # Each source's documents leave its steps' stage once, packed and keyed by corpus shard,
        # read by the corpus writer and, in a stage of its own, by dedup (see _unfused): its
        # compact records and payloads are not produced next to the documents.
        keyed = [d | f"KeyByShard{name}" >> beam.Map(shard_record, output.shards) for name, d in zip(names, documents)]
        fence = beam.pvalue.AsSingleton(pipeline | "Fence" >> beam.Create([None]))
        for_dedup = tuple(_unfused(k, fence, f"DedupInput{name}") for name, k in zip(names, keyed))
        verdicts = for_dedup | "Dedup" >> DedupVerdicts(exact, minhash, progress_dir)
        written = {"records": tuple(keyed), "verdicts": verdicts} | "WriteCorpus" >> WriteShards(
            out_dir, "corpus", output.shards, decide=decide,
            progress_stage="minhash dedup: kept" if minhash is not None else None, shard_rows=ids["shard_rows"],
            keyed=True,
        )
        dead.append(written["rejected"])
        # Every document past the steps reaches the writer and has one outcome there (kept,
        # or removed by a dedup stage); the documents past each dedup stage: kept ones, and
        # those a later stage removed.
        counts.append(stage_from_outcomes(written["outcomes"], "steps", None, "CountSteps"))
        if exact is not None:
            counts.append(stage_from_outcomes(written["outcomes"], "exact_dedup", ("kept", MINHASH_STEP), "CountExact"))
        if minhash is not None:
            counts.append(stage_from_outcomes(written["outcomes"], "minhash_dedup", ("kept",), "CountMinHash"))

    # Rejections and failures of every stage leave it as ONE PCollection, redistributed once
    # (a Reshuffle: on Flink a rebalance), and are split by type only behind it: each writer
    # keys its records and counts its rows per shard, two consumers each, which in the steps'
    # stage would have been four more copies of the documents and payloads on Flink.
    letters = tuple(dead) | "AllDeadLetters" >> beam.Flatten() | "SpreadDeadLetters" >> beam.Reshuffle()
    rejected = letters | "Rejections" >> beam.Filter(lambda r: isinstance(r, Rejection))
    failed = letters | "Failures" >> beam.Filter(lambda r: isinstance(r, Failure))
    rejected | "WriteRejected" >> WriteShards(out_dir, "rejected", output.rejected_shards)
    failed | "WriteFailed" >> WriteShards(out_dir, "failed", output.failed_shards)
    write_stage_counts(counts, out_dir)
