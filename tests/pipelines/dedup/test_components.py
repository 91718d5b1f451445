"""Large-star / small-star components and LSH bucket stars, without Beam."""

from __future__ import annotations

import random

import pytest

from corpusmill.pipelines.dedup.components import components_in_memory, star_violations
from corpusmill.pipelines.dedup.lsh import bucket_star
from corpusmill.pipelines.dedup.survivor import Node, order


def node(i: int, primary: float = 0.0) -> Node:
    return (1, primary, f"n{i:05d}", 1)


def union_find_roots(nodes: list[Node], edges: list[tuple[Node, Node]]) -> dict[Node, Node]:
    parent = {n: n for n in nodes}

    def find(x: Node) -> Node:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb), key=order)
            parent[hi] = lo
    return {n: find(n) for n in nodes}


@pytest.mark.parametrize("seed", range(5))
def test_components_equal_union_find(seed: int) -> None:
    rng = random.Random(seed)
    nodes = [node(i, rng.choice([0.0, -5.0, -9.0])) for i in range(300)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(250)]
    edges = [e for e in edges if e[0] != e[1]]
    stars, converged = components_in_memory(edges, rounds=12)
    assert converged
    expected = union_find_roots(nodes, edges)
    got = {n: n for n in nodes}
    for child, root in stars:
        got[child] = root
    assert got == expected


def test_long_shuffled_path_converges_and_check_catches_early_stop() -> None:
    rng = random.Random(3)
    ids = list(range(2000))
    rng.shuffle(ids)
    edges = [(node(a), node(b)) for a, b in zip(ids, ids[1:])]
    _, converged_early = components_in_memory(edges, rounds=1)
    assert not converged_early
    stars, converged = components_in_memory(edges, rounds=12)
    assert converged
    assert {root for _, root in stars} == {node(0)}


def test_star_violations() -> None:
    a, b, c = node(1), node(2), node(3)
    assert not star_violations([("parent", a, b)])
    assert star_violations([("parent", a, c), ("parent", b, c)])  # two parents
    assert star_violations([("parent", a, b), ("child", c, b)])  # parent and child


def test_bucket_star_is_linear_and_respects_max_size() -> None:
    members = [node(i, -float(i % 7)) for i in range(1000)]
    edges, oversized = bucket_star(members, None)
    head = min(members, key=order)
    assert not oversized and len(edges) == 999 and all(h == head for h, _ in edges)
    assert bucket_star(members, 500) == ([], True)
    assert bucket_star(members[:1], None) == ([], False)
