"""Direct linkage: split a connected component around survivors so that every removed document
is itself similar (>= threshold) to the survivor it is removed for.

Why: connected components are transitive. A chain A ~ B ~ C (B an edited copy of A, C an edited
copy of B) removes C for A even when A and C are far apart, and a component's single survivor
may be a grey-zone variant that none of the others is close to. Measured on the multilingual
near-duplicate set (benchmarks/results/dedup_quality.md), most false removals were of that kind.

The rule, per component (all pure, no Beam):
  1. similarity of every pair: the MinHash estimate (share of equal signature values) for all
     pairs; with `verify="exact"` and shingle sets present, the exact Jaccard for every pair
     whose estimate is >= threshold - EXACT_BELOW (a true Jaccard >= threshold estimated
     lower is a > 4.5 sigma event at 128 permutations). In components of more than
     EXACT_ALL_MEMBERS members only pairs estimated below threshold + EXACT_ABOVE are computed
     exactly; above, the estimate decides (a true Jaccard below the threshold is again a
     > 4 sigma event). This keeps a component of 512 near-identical long pages from costing
     130k exact comparisons, at the price of estimate noise (+-0.04) in the ranking;
  2. rank (survivor "central"): the summed similarity to the members at or above the
     threshold (a weighted degree: the base a set of variants was made from is closer to each
     of them than they are to one another), then the configured primary key (longest), then id;
     other survivor rules rank by their own total order (survivor.py);
  3. leader clustering in rank order: a member similar (>= threshold) to an earlier survivor is
     removed for the most similar one (ties: the better ranked); otherwise it survives. Index
     members (earlier runs) always survive.
Every step is a function of the member set alone (members are sorted by (tier, id) first, sums are
taken in that order), so the result does not depend on the runner or worker count.

Cost: O(n^2 * num_perm / vector width) for the estimates plus the exact pairs; components above
`max_direct_cluster` members are not split (transitive, as before) and counted in a metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from corpusmill.pipelines.dedup.lsh import Payload
from corpusmill.pipelines.dedup.minhash import exact_jaccard
from corpusmill.pipelines.dedup.survivor import INDEX_TIER, Node, order

# Which pairs get an exact Jaccard (module docstring, step 1).
EXACT_BELOW = 0.2
EXACT_ABOVE = 0.15
EXACT_ALL_MEMBERS = 64  # up to 2,016 pairs
# Rows of the pairwise estimate computed at once (bounds the n x rows x num_perm temporary).
_ROW_BLOCK = 64


@dataclass(frozen=True, slots=True)
class Decision:
    """One member's verdict: `survivor` is None when the member survives; `weight` is the
    number of input documents a survivor stands for (its own plus those removed for it)."""

    node: Node
    survivor: Node | None
    weight: int


def similarity_matrix(payloads: Sequence[Payload], threshold: float, verify: str) -> NDArray[Any]:
    """Symmetric (n, n) float64 similarity of the members, diagonal 1 (see module docstring)."""
    n = len(payloads)
    sigs = np.stack([np.frombuffer(p.signature, dtype="<u4") for p in payloads]) if n else np.zeros((0, 1), "<u4")
    sim = np.empty((n, n), dtype=np.float64)
    for lo in range(0, n, _ROW_BLOCK):
        block = sigs[lo : lo + _ROW_BLOCK]
        sim[lo : lo + _ROW_BLOCK] = (block[:, None, :] == sigs[None, :, :]).mean(axis=2)
    if verify == "exact" and n and all(p.shingles is not None for p in payloads):
        sets = [np.frombuffer(p.shingles, dtype="<u4") for p in payloads if p.shingles is not None]  # all of them
        unsure = sim >= threshold - EXACT_BELOW
        if n > EXACT_ALL_MEMBERS:
            unsure &= sim < threshold + EXACT_ABOVE
        rows, cols = np.nonzero(np.triu(unsure, k=1))
        for i, j in zip(rows.tolist(), cols.tolist()):
            sim[i, j] = sim[j, i] = exact_jaccard(sets[i], sets[j])
    np.fill_diagonal(sim, 1.0)
    return sim


def split_component(
    members: Sequence[tuple[Node, Payload]], threshold: float, verify: str, central: bool
) -> list[Decision]:
    """Survivors and removals of one connected component under direct linkage (module
    docstring). `members` are unranked nodes with their payloads; the output is in id order."""
    members = sorted(members, key=lambda m: (m[0][0], m[0][2]))
    nodes = [m[0] for m in members]
    n = len(nodes)
    sim = similarity_matrix([m[1] for m in members], threshold, verify)
    close = sim >= threshold
    np.fill_diagonal(close, False)
    strength = np.where(close, sim, 0.0).sum(axis=1) if central else np.zeros(n)

    def rank(i: int) -> tuple[int, float, float, str]:
        tier, primary, node_id = order(nodes[i])
        return (tier, -float(strength[i]), primary, node_id)

    survivors: list[int] = []
    assigned: dict[int, int] = {}
    for i in sorted(range(n), key=rank):
        if nodes[i][0] != INDEX_TIER:
            matches = [s for s in survivors if close[i, s]]
            if matches:
                # most similar survivor; max() keeps the first of equals, i.e. the better ranked
                assigned[i] = max(matches, key=lambda s: sim[i, s])
                continue
        survivors.append(i)
    weights = {s: nodes[s][3] for s in survivors}
    for i, s in assigned.items():
        weights[s] += nodes[i][3]
    return [
        Decision(nodes[i], nodes[assigned[i]] if i in assigned else None, 0 if i in assigned else weights[i])
        for i in range(n)
    ]
