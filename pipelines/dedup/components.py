"""Connected components by alternating large-star / small-star (Kiveris et al., "Connected
Components in MapReduce and Beyond", SoCC 2014), as pure per-key reduce functions.

An edge is a pair of nodes (see survivor.py); nodes are ordered by `survivor.order`, so the
component's smallest node is its survivor. Each round is one shuffle: the caller groups the
emitted (key, neighbour) pairs by key and calls the reduce function per key. The algorithm
converges in O(log^2 n) rounds; at convergence every edge is (node, root) with the root the
smallest node of the component, which `star_violations` checks after the unrolled rounds.

Memory: one key's distinct neighbours (its degree), never the whole edge list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from corpusmill.pipelines.dedup.survivor import Node, NodeKey, node_key, order


def large_star_map(edge: tuple[Node, Node]) -> Iterator[tuple[Node, Node]]:
    u, v = edge
    yield u, v
    yield v, u


def large_star_reduce(u: Node, neighbours: Iterable[Node]) -> Iterator[tuple[Node, Node]]:
    """Link every larger neighbour of u to the smallest node of u's closed neighbourhood."""
    distinct = set(neighbours)
    m = min(distinct | {u}, key=order)
    ou = order(u)
    for v in sorted(distinct, key=order):
        if order(v) > ou:
            yield v, m


def small_star_map(edge: tuple[Node, Node]) -> Iterator[tuple[Node, Node]]:
    u, v = edge
    if order(u) < order(v):
        u, v = v, u
    if u != v:
        yield u, v  # key = the larger node, value = the smaller


def small_star_reduce(u: Node, smaller: Iterable[Node]) -> Iterator[tuple[Node, Node]]:
    """Link u and its smaller neighbours to the smallest of them."""
    distinct = set(smaller)
    m = min(distinct | {u}, key=order)
    for v in sorted(distinct | {u}, key=order):
        if v != m:
            yield v, m


def star_role_map(edge: tuple[Node, Node]) -> Iterator[tuple[NodeKey, tuple[str, Node, Node]]]:
    """For the final check/labelling: keyed by node (tier, id), the node's parent and its children."""
    v, m = edge
    yield node_key(v), ("parent", m, v)
    yield node_key(m), ("child", v, m)


def star_violations(roles: Iterable[tuple[str, Node, Node]]) -> bool:
    """True when a node (with these roles) breaks the star-forest shape: more than one
    distinct parent, or both a parent and a child."""
    parents: set[Node] = set()
    has_child = False
    for role, other, _ in roles:
        if role == "parent":
            parents.add(other)
        else:
            has_child = True
    return len(parents) > 1 or (bool(parents) and has_child)


def components_in_memory(edges: Iterable[tuple[Node, Node]], rounds: int) -> tuple[list[tuple[Node, Node]], bool]:
    """The same rounds without Beam (for tests and small inputs): (star edges, converged)."""
    current = list(edges)
    for _ in range(rounds):
        for map_fn, reduce_fn in ((large_star_map, large_star_reduce), (small_star_map, small_star_reduce)):
            groups: dict[Node, list[Node]] = {}
            for e in current:
                for k, v in map_fn(e):
                    groups.setdefault(k, []).append(v)
            current = sorted({out for k, vs in groups.items() for out in reduce_fn(k, vs)}, key=lambda e: (order(e[0]), order(e[1])))
    roles: dict[NodeKey, list[tuple[str, Node, Node]]] = {}
    for e in current:
        for key, r in star_role_map(e):
            roles.setdefault(key, []).append(r)
    return current, not any(star_violations(r) for r in roles.values())
