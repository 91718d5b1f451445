"""The one place that wires sources -> steps -> dedup -> shards into a Beam pipeline.

    for each source:  ReadSource -> ApplySteps(the source's steps)
    all sources:      RepeatedIds ((id, location) pairs of every read record -> ids read more
                      than once, with the location that keeps them: usually none)
                      DedupVerdicts (exact + MinHash on compact records: ids, hashes, band
                      keys, signatures; never the text; later copies of a repeated id dropped
                      at its first grouping)
                      -> WriteShards(corpus) joining documents with their id and dedup
                      verdicts: the documents cross this one shuffle only; later copies of a
                      repeated id (duplicate_id) and dedup's removed documents leave it as
                      rejections
    side outputs:     rejections (reader and step ones checked against the repeated ids) and
                      failures of every stage -> WriteShards(rejected|failed)
    stage counts:     records per stage and source -> _stats/stages.json (for the manifest):
                      read, steps, unique_ids, exact_dedup, minhash_dedup

Each source's documents stay in their own PCollection from its reader through its steps into
the corpus writer's grouping; no document waits for a side input (pipelines/transforms/ids.py).
"""

from __future__ import annotations

import apache_beam as beam

from corpusmill.pipelines.plan import RunPlan
from corpusmill.pipelines.transforms.apply_steps import ApplySteps
from corpusmill.pipelines.transforms.ids import STEP as IDS_STEP
from corpusmill.pipelines.transforms.ids import RepeatedIds, check_rejection_in, decide_document, id_verdicts
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

    documents, checked, rejected, failed = [], [], [], []
    for name, source, read in zip(names, plan.sources, reads):
        stepped = read["documents"] | f"Steps{name}" >> ApplySteps(
            list(source.steps), namespace=f"steps.{source.kind}", batch_size=plan.run.batch_size,
            progress_dir=f"{out_dir}/{PROGRESS_DIR}",
        )
        documents.append(stepped["documents"])
        checked.extend([read["rejected"], stepped["rejected"]])
        failed.extend([read["failed"], stepped["failed"]])
    # Reader and step rejections of a later copy of a repeated id get their final id here
    # (small records; they wait for the repeated ids, documents do not).
    rejected.append(
        tuple(checked)
        | "AllCheckedRejections" >> beam.Flatten()
        | "CheckRejectedIds" >> beam.Map(check_rejection_in, beam.pvalue.AsDict(repeated))
    )

    # Each source's documents go straight from its steps into the corpus writer's grouping
    # (a Flatten of all sources' documents would be one more copy of them in memory on a
    # runner that materialises Flattens, as FnApiRunner does); only compact records meet.
    counts.extend(count_stage(d, "steps", f"CountSteps{name}") for name, d in zip(names, documents))
    output = plan.output
    exact, minhash = plan.dedup.exact, plan.dedup.minhash
    progress_dir = f"{out_dir}/{PROGRESS_DIR}"
    verdicts = [id_verdicts(repeated)]
    decide = decide_document
    progress_stage = None
    if exact is not None or minhash is not None:
        from corpusmill.pipelines.transforms.dedup import DedupVerdicts, decide_unique_then_dedup

        verdicts.append(tuple(documents) | "Dedup" >> DedupVerdicts(exact, minhash, progress_dir, repeated=repeated))
        decide = decide_unique_then_dedup
        progress_stage = "minhash dedup: kept" if minhash is not None else None
    written = {
        "records": tuple(documents),
        "verdicts": tuple(verdicts) | "AllVerdicts" >> beam.Flatten(),
    } | "WriteCorpus" >> WriteShards(
        out_dir, "corpus", output.shards, decide=decide, progress_stage=progress_stage, shard_rows=shard_rows,
    )
    rejected.append(written["rejected"])
    # Documents past each stage of the writer's decision: kept ones, and those a later stage removed.
    from corpusmill.pipelines.transforms.dedup import EXACT_STEP, MINHASH_STEP

    counts.append(stage_from_outcomes(written["outcomes"], IDS_STEP, ("kept", EXACT_STEP, MINHASH_STEP), "CountUniqueIds"))
    if exact is not None:
        counts.append(stage_from_outcomes(written["outcomes"], "exact_dedup", ("kept", MINHASH_STEP), "CountExact"))
    if minhash is not None:
        counts.append(stage_from_outcomes(written["outcomes"], "minhash_dedup", ("kept",), "CountMinHash"))

    tuple(rejected) | "AllRejected" >> beam.Flatten() | "WriteRejected" >> WriteShards(out_dir, "rejected", output.rejected_shards)
    tuple(failed) | "AllFailed" >> beam.Flatten() | "WriteFailed" >> WriteShards(out_dir, "failed", output.failed_shards)
    write_stage_counts(counts, out_dir)
