"""Direct linkage: splitting one connected component around survivors (pure, no Beam)."""

from __future__ import annotations

import random

import numpy as np

from corpusmill.pipelines.dedup.config import MinHashConfig
from corpusmill.pipelines.dedup.lsh import Payload
from corpusmill.pipelines.dedup.minhash import signatures
from corpusmill.pipelines.dedup.refine import split_component
from corpusmill.pipelines.dedup.shingles import shingle_hashes
from corpusmill.pipelines.dedup.survivor import INDEX_TIER, NEW_TIER, Node

CONFIG = MinHashConfig()
WORDS = [f"w{i}" for i in range(5000)]


def member(doc_id: str, text: str, tier: int = NEW_TIER, weight: int = 1) -> tuple[Node, Payload]:
    hashes = np.unique(shingle_hashes(text, mode="word", n=2, norm=CONFIG.normalization, hash_name="poly"))
    sig = signatures([hashes], CONFIG.num_perm, CONFIG.seed)[0]
    node: Node = (tier, -float(len(text)), doc_id, weight)
    return node, Payload(sig.astype("<u4").tobytes(), hashes.astype("<u4").tobytes())


def edited(words: list[str], rng: random.Random, k: int) -> list[str]:
    out = list(words)
    for _ in range(k):
        out[rng.randrange(len(out))] = rng.choice(WORDS)
    return out


def test_base_of_two_variants_survives_and_far_ends_of_a_chain_are_kept() -> None:
    rng = random.Random(1)
    base = [rng.choice(WORDS) for _ in range(300)]
    v1, v2 = edited(base, rng, 6), edited(base, rng, 6)
    # a copy of v1 edited again: close to v1, further from the base
    far = edited(edited(v1, rng, 12), rng, 12)
    members = [member("a", " ".join(v1)), member("b", " ".join(v2)), member("c", " ".join(base)), member("d", " ".join(far))]
    decisions = {d.node[2]: d for d in split_component(members, 0.8, "exact", central=True)}
    assert decisions["c"].survivor is None  # the base: closest to both variants
    assert decisions["a"].survivor and decisions["a"].survivor[2] == "c"
    assert decisions["b"].survivor and decisions["b"].survivor[2] == "c"
    # d is a near duplicate of a (removed) but not of the base: it survives on its own
    assert decisions["d"].survivor is None and decisions["d"].weight == 1
    assert decisions["c"].weight == 3


def test_result_does_not_depend_on_member_order_and_index_members_always_survive() -> None:
    rng = random.Random(2)
    base = [rng.choice(WORDS) for _ in range(200)]
    members = [member(f"n{i}", " ".join(edited(base, rng, 3)), weight=i + 1) for i in range(6)]
    members.append(member("old", " ".join(base), tier=INDEX_TIER))
    members.append(member("old2", " ".join(edited(base, rng, 2)), tier=INDEX_TIER))
    first = split_component(members, 0.8, "exact", central=True)
    shuffled = list(members)
    rng.shuffle(shuffled)
    assert split_component(shuffled, 0.8, "exact", central=True) == first
    by_id = {d.node[2]: d for d in first}
    assert by_id["old"].survivor is None and by_id["old2"].survivor is None
    assert all(by_id[f"n{i}"].survivor is not None for i in range(6))
    assert sum(d.weight for d in first if d.survivor is None) == sum(m[0][3] for m in members)


def test_estimated_similarity_is_used_without_shingle_sets() -> None:
    rng = random.Random(3)
    base = [rng.choice(WORDS) for _ in range(300)]
    members = [member("x", " ".join(base)), member("y", " ".join(edited(base, rng, 3)))]
    unrelated = member("z", " ".join(rng.choice(WORDS) for _ in range(300)))
    no_sets = [(n, Payload(p.signature)) for n, p in members + [unrelated]]
    decisions = {d.node[2]: d for d in split_component(no_sets, 0.8, "estimated", central=False)}
    assert decisions["x"].survivor is None  # longest first (central off), then id
    assert decisions["y"].survivor is not None and decisions["y"].survivor[2] == "x"
    assert decisions["z"].survivor is None


def test_large_component_of_near_identical_members_keeps_one() -> None:
    """Above EXACT_ALL_MEMBERS members, pairs estimated far above the threshold are not
    computed exactly; every removal is still a true (exact) near duplicate of its survivor."""
    from corpusmill.pipelines.dedup.minhash import exact_jaccard
    from corpusmill.pipelines.dedup.refine import EXACT_ALL_MEMBERS

    rng = random.Random(6)
    base = [rng.choice(WORDS) for _ in range(400)]
    members = [member(f"m{i:03d}", " ".join(edited(base, rng, 2))) for i in range(EXACT_ALL_MEMBERS + 36)]
    decisions = split_component(members, 0.8, "exact", central=True)
    survivors = [d for d in decisions if d.survivor is None]
    assert len(survivors) == 1 and survivors[0].weight == len(members)
    sets = {node[2]: np.frombuffer(p.shingles, dtype="<u4") for node, p in members}  # type: ignore[arg-type]
    for d in decisions:
        if d.survivor is not None:
            assert exact_jaccard(sets[d.node[2]], sets[d.survivor[2]]) >= 0.8
