"""ExactDedup and MinHashDedup: composite Beam transforms over PCollection[Document].

Both return `DedupResult(kept, rejected)`: `kept` holds one survivor per duplicate cluster
(and every unique document); `rejected` holds a `Rejection` per removed document with step
"exact_dedup" / reason "exact_duplicate", or step "minhash_dedup" / reason "near_duplicate",
and detail = the survivor's id.

cluster_size: each stage sets a survivor's `cluster_size` to the number of input documents
it stands for: the sum over its cluster of the members' `cluster_size` (1 when unset). So
after ExactDedup -> MinHashDedup, a survivor's cluster_size counts every exact and near
duplicate it replaced, plus itself; a unique document has 1.

Survivors follow a total order (pipelines/dedup/survivor.py), so they are the same on any
runner and worker count. Per-key memory is one duplicate group (exact) or one node's
neighbours (MinHash); no worker holds all signatures or all edges.

MinHashDedup, stage by stage (each arrow into a Group is one shuffle):
  documents --BatchElements--> SignFn (numpy per batch) --> signature records
  band keys --GroupByKey--> star edges per bucket (to the bucket's smallest node)
  edges --Distinct--> [verify: join member payloads, join head payloads, keep sim >= threshold]
  --> max_rounds x (large-star, small-star) --> star check per node (GroupByKey)
  --> [linkage "direct": members joined with their payloads (CoGroupByKey), grouped by
      component (GroupByKey), each component split around survivors (dedup/refine.py);
      components over max_direct_cluster members keep their transitive verdicts]
  --> labels joined with documents (CoGroupByKey) --> kept / rejected [+ index rows]
Convergence: the unrolled rounds end with a check of the star-forest shape; nodes still
not in a star (counter `cc_unconverged_nodes`, should be 0: raise max_rounds) degrade safely:
a node with a smaller verified neighbour is rejected in favour of the smallest one, a node
without one survives, so an unconverged run can only keep too many documents, never remove
a document that has no verified duplicate path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from corpusmill.pipelines.dedup import components as cc
from corpusmill.pipelines.dedup.config import ExactConfig, MinHashConfig
from corpusmill.pipelines.dedup.exact import exact_key
from corpusmill.pipelines.dedup.lsh import (
    INDEX_SCHEMA,
    Payload,
    SigRecord,
    bucket_star,
    index_row,
    record_from_index_row,
    sign_batch,
    similarity,
)
from corpusmill.pipelines.dedup.refine import split_component
from corpusmill.pipelines.transforms.progress import count_progress
from corpusmill.pipelines.dedup.survivor import NEW_TIER, Node, NodeKey, node_key, node_of, order, ranked, unranked, weight
from corpusmill.schemas.document import Document, Drop, Rejection

EXACT_STEP = "exact_dedup"
MINHASH_STEP = "minhash_dedup"
REJECTED = "rejected"
NAMESPACE = "dedup"
# Created once: Metrics.counter() per element cost ~10 us each (160k buckets at 30k documents).
COUNTERS = {
    name: Metrics.counter(NAMESPACE, name)
    for name in (
        "exact_rejected",
        "minhash_documents",
        "oversized_buckets",
        "candidate_edges",
        "verified_edges",
        "unverified_edges",
        "cc_unconverged_nodes",
        "direct_extra_survivors",
        "transitive_clusters",
        "minhash_rejected",
    )
}


class DedupResult(NamedTuple):
    kept: beam.PCollection
    rejected: beam.PCollection


# ---------------------------------------------------------------- exact


def _exact_group(
    item: tuple[bytes, Iterable[Document]], config: ExactConfig
) -> Iterator[Document | TaggedOutput]:
    """One exact-duplicate group -> its survivor (main) and rejections (tagged)."""
    _, docs = item
    best: Node | None = None
    total = 0
    for doc in docs:
        node = node_of(doc, config.survivor, config.quality_signal)
        total += node[3]
        if best is None or order(node) < order(best):
            best = node
    if best is None:  # an empty group
        return
    rejected = 0
    survived = False
    for doc in docs:
        if not survived and node_of(doc, config.survivor, config.quality_signal) == best:
            survived = True
            yield dataclasses.replace(doc, cluster_size=total)
        else:
            rejected += 1
            yield TaggedOutput(REJECTED, Rejection.of(doc, EXACT_STEP, Drop("exact_duplicate", best[2])))
    if rejected:
        COUNTERS["exact_rejected"].inc(rejected)


class ExactDedup(beam.PTransform):
    """Remove exact duplicates (equal normalised text): one shuffle on a 128-bit text hash."""

    def __init__(self, config: ExactConfig | None = None, progress_dir: str | None = None) -> None:
        super().__init__()
        self._config = config or ExactConfig()
        self._progress_dir = progress_dir

    def expand(self, docs: beam.PCollection) -> DedupResult:
        config = self._config
        out = (
            docs
            | "KeyByTextHash" >> beam.Map(lambda d: (exact_key(d.text, config.normalization), d))
            | "GroupByTextHash" >> beam.GroupByKey()
            | "PickSurvivor" >> beam.FlatMap(_exact_group, config).with_outputs(REJECTED, main="kept")
        )
        kept = count_progress(out.kept, self._progress_dir, "exact dedup: kept", "Progress")
        return DedupResult(kept=kept, rejected=out[REJECTED])


# ---------------------------------------------------------------- minhash

BANDS = "bands"


class SignFn(beam.DoFn):
    """A batch of documents -> (node, payload) per document (main) and (band key, node) per
    band (tagged "bands")."""

    def __init__(self, config: MinHashConfig) -> None:
        self._config = config

    def process(self, batch: list[Document]) -> Iterator[Any]:
        COUNTERS["minhash_documents"].inc(len(batch))
        for rec in sign_batch(batch, self._config):
            yield rec.node, rec.payload
            for key in rec.keys:
                yield TaggedOutput(BANDS, (key, rec.node))


def _index_records(row: dict, config: MinHashConfig) -> Iterator[Any]:
    rec: SigRecord = record_from_index_row(row, config)
    yield rec.node, rec.payload
    for key in rec.keys:
        yield TaggedOutput(BANDS, (key, rec.node))


def _bucket_edges(item: tuple[bytes, Iterable[Node]], max_bucket_size: int | None) -> Iterator[tuple[Node, Node]]:
    _, members = item
    edges, oversized = bucket_star(members, max_bucket_size)
    if oversized:
        COUNTERS["oversized_buckets"].inc()
    if edges:
        COUNTERS["candidate_edges"].inc(len(edges))
    yield from edges


def _attach_member_payload(item: tuple[Node, dict[str, Iterable[Any]]]) -> Iterator[tuple[Node, tuple[Node, Payload]]]:
    member, groups = item
    payloads = list(groups["payload"])
    for head in groups["heads"] if payloads else ():
        yield head, (member, payloads[0])


def _verify_at_head(
    item: tuple[Node, dict[str, Iterable[Any]]], threshold: float, verify: str
) -> Iterator[tuple[Node, Node]]:
    head, groups = item
    payloads = list(groups["payload"])
    kept = dropped = 0
    for member, member_payload in groups["members"] if payloads else ():
        if similarity(payloads[0], member_payload, verify) >= threshold:
            kept += 1
            yield head, member
        else:
            dropped += 1
    COUNTERS["verified_edges"].inc(kept)
    COUNTERS["unverified_edges"].inc(dropped)


class VerifyEdges(beam.PTransform):
    """Keep candidate edges whose similarity (estimated or exact Jaccard) >= threshold.
    Two joins on node: the member's payload travels to the head, where the pair is scored."""

    def __init__(self, threshold: float, verify: str) -> None:
        super().__init__()
        self._threshold = threshold
        self._verify = verify

    def expand(self, pcolls: dict[str, beam.PCollection]) -> beam.PCollection:
        edges, payloads = pcolls["edges"], pcolls["payloads"]
        by_member = edges | "KeyByMember" >> beam.Map(lambda e: (e[1], e[0]))
        with_member = (
            {"payload": payloads, "heads": by_member}
            | "JoinMemberPayload" >> beam.CoGroupByKey()
            | "AttachMemberPayload" >> beam.FlatMap(_attach_member_payload)
        )
        return (
            {"payload": payloads, "members": with_member}
            | "JoinHeadPayload" >> beam.CoGroupByKey()
            | "ScorePairs" >> beam.FlatMap(_verify_at_head, self._threshold, self._verify)
        )


def _rank_endpoint(item: tuple[NodeKey, dict[str, Iterable[Any]]], end: int) -> Iterator[tuple[NodeKey, tuple[Node, Node]]]:
    """Replace endpoint `end` of every edge of one node by the node ranked by its degree;
    key the edge by the other endpoint's id for the next pass."""
    _key, groups = item
    degree = sum(groups["degree"])
    for edge in groups["edge"]:
        nodes = list(edge)
        nodes[end] = ranked(nodes[end], degree)
        yield node_key(nodes[1 - end]), (nodes[0], nodes[1])


class RankByDegree(beam.PTransform):
    """Verified edges -> the same edges with both endpoints ranked by their degree (the
    "central" survivor). Two joins keyed by node id; no worker holds more than one node's
    edges."""

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        degrees = (
            edges
            | "Endpoints" >> beam.FlatMap(lambda e: [node_key(e[0]), node_key(e[1])])
            | "Degree" >> beam.combiners.Count.PerElement()
        )
        first = (
            {"edge": edges | "ByFirst" >> beam.Map(lambda e: (node_key(e[0]), e)), "degree": degrees}
            | "JoinFirst" >> beam.CoGroupByKey()
            | "RankFirst" >> beam.FlatMap(_rank_endpoint, 0)
        )
        return (
            {"edge": first, "degree": degrees}
            | "JoinSecond" >> beam.CoGroupByKey()
            | "RankSecond" >> beam.FlatMap(_rank_endpoint, 1)
            | "DropKey" >> beam.Values()
        )


class ConnectedComponents(beam.PTransform):
    """Edges (node, node) -> per-node verdicts keyed by id, after `rounds` unrolled rounds of
    large-star + small-star (pipelines/dedup/components.py):
      (id, ("child", node, parent))  the node is not its component's smallest: parent survives
      (id, ("root", node, size))     the node survives; size = summed weights of its cluster
    """

    def __init__(self, rounds: int, progress_dir: str | None = None) -> None:
        super().__init__()
        self._rounds = rounds
        self._progress_dir = progress_dir

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        current = edges
        for i in range(self._rounds):
            current = (
                current
                | f"LargeStarMap{i}" >> beam.FlatMap(cc.large_star_map)
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStarReduce{i}" >> beam.FlatMapTuple(cc.large_star_reduce)
                | f"SmallStarMap{i}" >> beam.FlatMap(cc.small_star_map)
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStarReduce{i}" >> beam.FlatMapTuple(cc.small_star_reduce)
            )
            current = count_progress(current, self._progress_dir, f"minhash: edges after round {i + 1}/{self._rounds}", f"Progress{i}")
        return (
            current
            | "StarRoles" >> beam.FlatMap(cc.star_role_map)
            | "GroupRoles" >> beam.GroupByKey()
            | "Verdicts" >> beam.FlatMapTuple(_verdicts)
        )


def _verdicts(key: NodeKey, roles: Iterable[tuple[str, Node, Node]]) -> Iterator[tuple[NodeKey, tuple[str, Node, Any]]]:
    roles = list(roles)
    if cc.star_violations(roles):
        COUNTERS["cc_unconverged_nodes"].inc()
    parents = sorted({other for role, other, _ in roles if role == "parent"}, key=order)
    if parents:
        me = next(self_node for role, _, self_node in roles if role == "parent")
        yield key, ("child", me, parents[0])
    else:
        me = next(self_node for _, _, self_node in roles)
        children = {other for role, other, _ in roles if role == "child"}
        yield key, ("root", me, me[3] + sum(c[3] for c in children))


def _cluster_entry(item: tuple[NodeKey, tuple[str, Node, Any]]) -> tuple[NodeKey, Node]:
    """A node's verdict -> (its component's root key, the node unranked)."""
    _id, verdict = item
    role, node, other = verdict
    return node_key(other if role == "child" else node), unranked(node)


def _attach_payload(item: tuple[Node, dict[str, Iterable[Any]]]) -> Iterator[tuple[NodeKey, tuple[Node, Payload]]]:
    node, groups = item
    payloads = list(groups["payload"])
    for root_id in groups["root"] if payloads else ():
        yield root_id, (node, payloads[0])


def _split(
    item: tuple[NodeKey, Iterable[tuple[Node, Payload]]], threshold: float, verify: str, central: bool
) -> Iterator[tuple[NodeKey, tuple[str, Node, Any]]]:
    _root, members = item
    decisions = split_component(list(members), threshold, verify, central)
    survivors = sum(1 for d in decisions if d.survivor is None)
    COUNTERS["direct_extra_survivors"].inc(survivors - 1)
    for d in decisions:
        if d.survivor is None:
            yield node_key(d.node), ("root", d.node, d.weight)
        else:
            yield node_key(d.node), ("child", d.node, d.survivor)


def _count_transitive(root: NodeKey) -> NodeKey:
    COUNTERS["transitive_clusters"].inc()
    return root


class DirectLinkage(beam.PTransform):
    """Component verdicts -> verdicts in which every removed document is similar to its own
    survivor (pipelines/dedup/refine.py). Components are grouped by root with their members'
    payloads (two shuffles: payload join by node, group by root); components larger than
    `max_direct_cluster` keep their transitive verdicts and are never grouped, so per-key
    memory is bounded by max_direct_cluster payloads."""

    def __init__(self, config: MinHashConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, pcolls: dict[str, beam.PCollection]) -> beam.PCollection:
        config = self._config
        verdicts, payloads = pcolls["verdicts"], pcolls["payloads"]
        entries = verdicts | "ClusterEntry" >> beam.Map(_cluster_entry)
        large = beam.pvalue.AsDict(
            entries
            | "CountMembers" >> beam.combiners.Count.PerKey()
            | "Large" >> beam.Filter(lambda kv, cap: kv[1] > cap, config.max_direct_cluster)
            | "CountTransitive" >> beam.MapTuple(lambda root, n: (_count_transitive(root), n))
        )
        kept_transitive = (
            verdicts
            | "KeyByRoot" >> beam.Map(lambda item: (_cluster_entry(item)[0], item))
            | "InLarge" >> beam.Filter(lambda kv, big: kv[0] in big, large)
            | "DropRoot" >> beam.Values()
        )
        roots_by_node = (
            entries
            | "InSmall" >> beam.Filter(lambda kv, big: kv[0] not in big, large)
            | "ByNode" >> beam.KvSwap()
        )
        split = (
            {"payload": payloads, "root": roots_by_node}
            | "JoinPayloads" >> beam.CoGroupByKey()
            | "AttachPayload" >> beam.FlatMap(_attach_payload)
            | "GroupByRoot" >> beam.GroupByKey()
            | "Split" >> beam.FlatMap(_split, config.threshold, config.verify, config.survivor == "central")
        )
        return (kept_transitive, split) | "MergeVerdicts" >> beam.Flatten()


def _emit_final(
    item: tuple[Node, dict[str, Iterable[Any]]], config: MinHashConfig
) -> Iterator[Any]:
    node, groups = item
    docs = list(groups["doc"])  # empty for index entries (they are never output)
    verdicts = list(groups["verdict"])
    payloads = list(groups["payload"]) if "payload" in groups else []
    child = [v for v in verdicts if v[0] == "child"]
    for doc in docs[:1]:
        if child:
            COUNTERS["minhash_rejected"].inc()
            yield TaggedOutput(REJECTED, Rejection.of(doc, MINHASH_STEP, Drop("near_duplicate", child[0][2][2])))
        else:
            size = verdicts[0][2] if verdicts else weight(doc)
            yield dataclasses.replace(doc, cluster_size=int(size))
            if payloads and config.index_out:
                yield TaggedOutput("index", index_row(node, payloads[0], config))


class MinHashDedup(beam.PTransform):
    """Remove near duplicates by MinHash + LSH + verification + connected components
    (see the module docstring). With `config.index_in`, documents of earlier runs' indexes
    join the graph as nodes that always survive; with `config.index_out`, this run's
    survivors' signatures are written there as Parquet."""

    def __init__(self, config: MinHashConfig | None = None, progress_dir: str | None = None) -> None:
        super().__init__()
        self._config = config or MinHashConfig()
        self._progress_dir = progress_dir

    def expand(self, docs: beam.PCollection) -> DedupResult:
        config = self._config
        signed = (
            docs
            | "BatchForSignatures" >> beam.BatchElements(min_batch_size=1, max_batch_size=config.batch_size)
            | "Sign" >> beam.ParDo(SignFn(config)).with_outputs(BANDS, main="payloads")
        )
        payloads, band_entries = signed.payloads, signed[BANDS]
        payloads = count_progress(payloads, self._progress_dir, "minhash: documents signed", "ProgressSigned")
        if config.index_in:
            old = (
                docs.pipeline
                | "IndexPaths" >> beam.Create([f"{p.rstrip('/')}/*.parquet" for p in config.index_in])
                | "ReadIndex" >> beam.io.ReadAllFromParquet()
                | "IndexRecords" >> beam.FlatMap(_index_records, config).with_outputs(BANDS, main="payloads")
            )
            payloads = (payloads, old.payloads) | "MergePayloads" >> beam.Flatten()
            band_entries = (band_entries, old[BANDS]) | "MergeBands" >> beam.Flatten()
        edges = (
            band_entries
            | "GroupBands" >> beam.GroupByKey()
            | "BucketStars" >> beam.FlatMap(_bucket_edges, config.max_bucket_size)
            | "DistinctEdges" >> beam.Distinct()
        )
        if config.verify != "none":
            edges = {"edges": edges, "payloads": payloads} | "Verify" >> VerifyEdges(config.threshold, config.verify)
        if config.survivor == "central":
            edges = edges | "RankByDegree" >> RankByDegree()
        verdicts = edges | "Components" >> ConnectedComponents(config.max_rounds, self._progress_dir)
        if config.linkage == "direct" and config.verify != "none":
            verdicts = {"verdicts": verdicts, "payloads": payloads} | "DirectLinkage" >> DirectLinkage(config)
        verdicts = verdicts | "VerdictByNode" >> beam.MapTuple(lambda _id, v: (unranked(v[1]), v))
        joined: dict[str, beam.PCollection] = {
            "doc": docs | "KeyByNode" >> beam.Map(lambda d: (node_of(d, config.survivor, config.quality_signal), d)),
            "verdict": verdicts,
        }
        if config.index_out:
            joined["payload"] = payloads
        outputs = (
            joined
            | "JoinVerdicts" >> beam.CoGroupByKey()
            | "Decide" >> beam.FlatMap(_emit_final, config).with_outputs(REJECTED, "index", main="kept")
        )
        if config.index_out:
            _ = outputs["index"] | "WriteIndex" >> beam.io.WriteToParquet(
                f"{config.index_out.rstrip('/')}/index",
                INDEX_SCHEMA,
                file_name_suffix=".parquet",
            )
        kept = count_progress(outputs.kept, self._progress_dir, "minhash dedup: kept", "Progress")
        return DedupResult(kept=kept, rejected=outputs[REJECTED])


__all__ = ["DedupResult", "ExactDedup", "MinHashDedup", "NEW_TIER"]
