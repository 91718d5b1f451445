"""The total order that picks one survivor per duplicate cluster.

A node is `(tier, primary, id, weight)`: nodes compare by (tier, primary, id); ids are unique,
so the order is total and the survivor (the smallest node) is the same on every runner and
worker count. `tier` is 0 for documents from an earlier run's index (they always survive)
and 1 for this run's documents. `primary` is 0 for "smallest_id", minus the text length in
characters for "longest", minus the quality signal for "quality" (a missing or NaN signal
ranks after every scored document). `weight` (the number of input documents a document already
stands for: its `cluster_size`, 1 when unset) rides along and never decides the order.
"""

from __future__ import annotations

import math
from typing import Literal

from corpusmill.schemas.document import Document

Node = tuple[int, float, str, int]
NodeKey = tuple[int, str]  # (tier, id): see node_key
NEW_TIER = 1
INDEX_TIER = 0


def primary_key(
    doc: Document, survivor: Literal["longest", "smallest_id", "quality", "central"], quality_signal: str | None
) -> float:
    """The first sort key of `doc` under `survivor` (smaller survives). For "central" this is
    the tie-break after the degree (see `ranked`): the longest."""
    if survivor in ("longest", "central"):
        return -float(len(doc.text))
    if survivor == "quality":
        value = doc.signal(quality_signal or "")
        if value is None or math.isnan(value):
            return math.inf
        return -float(value)
    return 0.0


def weight(doc: Document) -> int:
    """How many input documents `doc` stands for (its cluster_size from an earlier stage, or 1)."""
    return int(doc.cluster_size) if doc.cluster_size and doc.cluster_size > 0 else 1


def node_of(
    doc: Document, survivor: Literal["longest", "smallest_id", "quality", "central"], quality_signal: str | None
) -> Node:
    return (NEW_TIER, primary_key(doc, survivor, quality_signal), doc.id, weight(doc))


def order(node: Node) -> tuple[int, float, str]:
    """The part of a node that orders it."""
    return node[0], node[1], node[2]


def node_key(node: Node) -> NodeKey:
    """The shuffle key of a node: (tier, id). An index entry (tier 0) may carry the same id as
    a document of this run (the same document processed again); the key keeps them apart."""
    return node[0], node[2]


def ranked(node: Node, degree: int) -> Node:
    """`node` ranked by its degree in the verified duplicate graph first ("central": the
    member most others were verified against, i.e. the cluster's centre, survives; a variant
    with boilerplate added or a truncated copy has fewer verified neighbours than the base it
    came from). The original primary key breaks ties; `unranked` restores the node."""
    # A ranked node carries (-degree, primary) in the float slot of `Node`: it sorts like a
    # node (tuples compare element-wise, all nodes of a component are ranked together) and
    # only lives between this call and `unranked`; a separate type would have to be threaded
    # through every connected-components function for that one stage.
    return (node[0], (-degree, node[1]), node[2], node[3])  # type: ignore[return-value]


def unranked(node: Node) -> Node:
    primary: object = node[1]  # a float, or (-degree, float) in a ranked node (see ranked)
    if isinstance(primary, tuple):
        return (node[0], primary[1], node[2], node[3])
    return node
