"""The one place that wires sources -> steps -> dedup -> shards into a Beam pipeline.

    for each source:  ReadSource -> UniqueIds -> ApplySteps(the source's steps)
    all sources:      RepeatedIds (ids read more than once, a side input of every UniqueIds:
                      a repeated input record is rejected as duplicate_id)
                      Flatten -> DedupVerdicts (exact + MinHash on compact records: ids,
                      hashes, band keys, signatures; never the text)
                      -> WriteShards(corpus) joining documents with their verdicts: the
                      documents cross this one shuffle only; dedup's removed documents
                      leave it as rejections
    side outputs:     rejections and failures of every stage -> WriteShards(rejected|failed)
    stage counts:     records per stage and source -> _stats/stages.json (for the manifest)

Each source's documents stay in their own PCollection until its steps ran; only (id, location)
pairs of all sources meet, to find repeated ids.
"""

from __future__ import annotations

import apache_beam as beam

from corpusmill.pipelines.plan import RunPlan
from corpusmill.pipelines.transforms.apply_steps import ApplySteps
from corpusmill.pipelines.transforms.ids import RepeatedIds, UniqueIds
from corpusmill.pipelines.transforms.read import ReadSource, expand_paths
from corpusmill.pipelines.transforms.stats import count_stage, stage_from_outcomes, write_stage_counts
from corpusmill.pipelines.transforms.write import WriteShards, shard_of
from corpusmill.schemas.outputs import PROGRESS_DIR


def source_paths(plan: RunPlan) -> list[list[str]]:
    """The input files of each source (its globs expanded, through Beam's filesystems).
    Raises FileNotFoundError / ValueError when a source's globs match nothing."""
    return [expand_paths(s.source.paths) for s in plan.sources]


def build_corpus(pipeline: beam.Pipeline, plan: RunPlan, source_paths: list[list[str]], out_dir: str) -> None:
    """Add the corpus stages to `pipeline`, writing under `out_dir`. `source_paths[i]` are the
    expanded input paths of `plan.sources[i]`."""
    names = [f"{s.kind.capitalize()}{i}" for i, s in enumerate(plan.sources)]
    reads = [
        pipeline | f"Read{name}" >> ReadSource(s.source, paths, f"{out_dir}/{PROGRESS_DIR}")
        for name, s, paths in zip(names, plan.sources, source_paths)
    ]
    counts = [count_stage(read["documents"], "read", f"CountRead{name}") for name, read in zip(names, reads)]
    repeated = tuple(r[key] for r in reads for key in ("documents", "rejected")) | "RepeatedIds" >> RepeatedIds()
    # Rows per corpus shard, an upper bound known once reading is done (every document keeps
    # the id it was read with), so the corpus writer's split needs no count of its own input.
    shard_rows = (
        [r["documents"] | f"CorpusShardOf{name}" >> beam.Map(lambda d, n=plan.output.shards: shard_of(d.id, n)) for name, r in zip(names, reads)]
        | "AllCorpusShardKeys" >> beam.Flatten()
        | "ReadRowsPerCorpusShard" >> beam.combiners.Count.PerElement()
    )

    documents, rejected, failed = [], [], []
    for name, source, read in zip(names, plan.sources, reads):
        unique = {"documents": read["documents"], "rejected": read["rejected"]} | f"UniqueIds{name}" >> UniqueIds(repeated)
        stepped = unique["documents"] | f"Steps{name}" >> ApplySteps(
            list(source.steps), namespace=f"steps.{source.kind}", batch_size=plan.run.batch_size,
            progress_dir=f"{out_dir}/{PROGRESS_DIR}",
        )
        documents.append(stepped["documents"])
        rejected.extend([unique["rejected"], unique["duplicates"], stepped["rejected"]])
        failed.extend([read["failed"], stepped["failed"]])

    # Each source's documents go straight from its steps into the corpus writer's grouping
    # (a Flatten of all sources' documents would be one more copy of them in memory on a
    # runner that materialises Flattens, as FnApiRunner does); only compact records meet.
    counts.extend(count_stage(d, "steps", f"CountSteps{name}") for name, d in zip(names, documents))
    output = plan.output
    exact, minhash = plan.dedup.exact, plan.dedup.minhash
    if exact is None and minhash is None:
        docs = tuple(documents) | "AllSources" >> beam.Flatten()
        docs | "WriteCorpus" >> WriteShards(out_dir, "corpus", output.shards, shard_rows=shard_rows)
    else:
        from corpusmill.pipelines.transforms.dedup import MINHASH_STEP, DedupVerdicts, decide

        progress_dir = f"{out_dir}/{PROGRESS_DIR}"
        verdicts = tuple(documents) | "Dedup" >> DedupVerdicts(exact, minhash, progress_dir)
        written = {"records": tuple(documents), "verdicts": verdicts} | "WriteCorpus" >> WriteShards(
            out_dir, "corpus", output.shards, decide=decide,
            progress_stage="minhash dedup: kept" if minhash is not None else None, shard_rows=shard_rows,
        )
        rejected.append(written["rejected"])
        # Documents past each dedup stage: kept ones, and those a later stage removed.
        if exact is not None:
            counts.append(stage_from_outcomes(written["outcomes"], "exact_dedup", ("kept", MINHASH_STEP), "CountExact"))
        if minhash is not None:
            counts.append(stage_from_outcomes(written["outcomes"], "minhash_dedup", ("kept",), "CountMinHash"))

    tuple(rejected) | "AllRejected" >> beam.Flatten() | "WriteRejected" >> WriteShards(out_dir, "rejected", output.rejected_shards)
    tuple(failed) | "AllFailed" >> beam.Flatten() | "WriteFailed" >> WriteShards(out_dir, "failed", output.failed_shards)
    write_stage_counts(counts, out_dir)
