"""The one place that wires sources -> steps -> dedup -> shards into a Beam pipeline.

    for each source:  ReadSource
    all sources:      UniqueIds (a repeated input record is rejected as duplicate_id)
    for each source:  ApplySteps(the source's steps)
    all sources:      Flatten -> ExactDedup -> MinHashDedup -> WriteShards(corpus)
    side outputs:     rejections and failures of every stage -> WriteShards(rejected|failed)
    stage counts:     records per stage and source -> _stats/stages.json (for the manifest)
"""

from __future__ import annotations

import apache_beam as beam

from corpusmill.pipelines.transforms.apply_steps import ApplySteps
from corpusmill.pipelines.transforms.ids import UniqueIds
from corpusmill.pipelines.transforms.read import ReadSource
from corpusmill.pipelines.transforms.stats import count_stage, write_stage_counts
from corpusmill.pipelines.transforms.write import WriteShards
from corpusmill.workflows.config import Workflow
from corpusmill.pipelines.transforms.progress import PROGRESS_DIR


def rejected_shard_count(workflow: Workflow) -> int:
    return workflow.output.rejected_shards or workflow.output.shards


def build_corpus(pipeline: beam.Pipeline, workflow: Workflow, source_paths: list[list[str]], out_dir: str) -> None:
    """Add the corpus stages to `pipeline`, writing under `out_dir`. `source_paths[i]` are the
    expanded input paths of `workflow.sources[i]`."""
    documents: list[beam.PCollection] = []
    rejected: list[beam.PCollection] = []
    failed: list[beam.PCollection] = []
    counts: list[beam.PCollection] = []

    read_docs: list[beam.PCollection] = []
    read_rejected: list[beam.PCollection] = []
    for i, source in enumerate(workflow.sources):
        name = f"{source.kind.capitalize()}{i}"
        read = pipeline | f"Read{name}" >> ReadSource(source, source_paths[i], f"{out_dir}/{PROGRESS_DIR}")
        counts.append(count_stage(read["documents"], "read", f"CountRead{name}"))
        read_docs.append(read["documents"] | f"Tag{name}" >> beam.Map(lambda d, i=i: (i, d)))
        read_rejected.append(read["rejected"])
        failed.append(read["failed"])

    # one id per output row, even when inputs repeat a record (pipelines/transforms/ids.py)
    unique = {
        "documents": tuple(read_docs) | "ReadDocuments" >> beam.Flatten(),
        "rejected": tuple(read_rejected) | "ReadRejections" >> beam.Flatten(),
    } | "UniqueIds" >> UniqueIds()
    rejected.extend([unique["rejected"], unique["duplicates"]])

    by_source = unique["documents"] | "BySource" >> beam.Partition(lambda item, n: item[0], len(workflow.sources))
    for i, source in enumerate(workflow.sources):
        name = f"{source.kind.capitalize()}{i}"
        mine = by_source[i] | f"Untag{name}" >> beam.Map(lambda item: item[1])
        stepped = mine | f"Steps{name}" >> ApplySteps(
            workflow.steps_for(source), namespace=f"steps.{source.kind}", batch_size=workflow.run.batch_size,
            progress_dir=f"{out_dir}/{PROGRESS_DIR}",
        )
        documents.append(stepped["documents"])
        rejected.append(stepped["rejected"])
        failed.append(stepped["failed"])

    docs = tuple(documents) | "AllSources" >> beam.Flatten()
    counts.append(count_stage(docs, "steps", "CountSteps"))

    exact = workflow.dedup.exact_config
    if exact is not None:
        from corpusmill.pipelines.transforms.dedup import ExactDedup

        result = docs | "ExactDedup" >> ExactDedup(exact, progress_dir=f"{out_dir}/{PROGRESS_DIR}")
        docs = result.kept
        rejected.append(result.rejected)
        counts.append(count_stage(docs, "exact_dedup", "CountExact"))

    if workflow.dedup.minhash is not None:
        from corpusmill.pipelines.transforms.dedup import MinHashDedup

        result = docs | "MinHashDedup" >> MinHashDedup(workflow.dedup.minhash, progress_dir=f"{out_dir}/{PROGRESS_DIR}")
        docs = result.kept
        rejected.append(result.rejected)
        counts.append(count_stage(docs, "minhash_dedup", "CountMinHash"))

    docs | "WriteCorpus" >> WriteShards(out_dir, "corpus", workflow.output.shards)
    (
        tuple(rejected)
        | "AllRejected" >> beam.Flatten()
        | "WriteRejected" >> WriteShards(out_dir, "rejected", rejected_shard_count(workflow))
    )
    (
        tuple(failed)
        | "AllFailed" >> beam.Flatten()
        | "WriteFailed" >> WriteShards(out_dir, "failed", workflow.output.failed_shards)
    )
    write_stage_counts(counts, out_dir)
