"""Group linked records into people without chaining two people together.

Connected components of the confident links are right for almost every group. A
component is re-clustered when it holds a contradiction: two members that must not be
one person (a cannot-link pair: two birth dates, Jr and Sr, a reviewer's decision) or
two incompatible values of an exclusive field (birth date, suffix) anywhere inside it.
Those components are rebuilt greedily, strongest link first, refusing any merge that
would put a contradiction inside a cluster: father and son who share a landline, an
address and a name each keep their own records, and a record that fits both goes to
the one it is most strongly linked to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

IncompatibleFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Exclusive:
    """A field a cluster may hold only mutually compatible values of."""

    name: str
    codes: np.ndarray  # value code per node, -1 when unknown
    incompatible: IncompatibleFn  # vectorized over pairs of value codes


@dataclass
class Clusters:
    labels: np.ndarray  # cluster number per node, 0..k-1
    tree: np.ndarray  # indices of the links that hold each cluster together
    rebuilt_components: int  # components that held a contradiction


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _spanning_tree(n: int, left: np.ndarray, right: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Indices of the links of a maximum-strength spanning forest."""
    if left.size == 0:
        return np.empty(0, dtype=np.int64)
    cost = (strength.max() + 1.0) - strength  # positive: scipy drops explicit zeros
    order = np.lexsort((right, left))
    left_s, right_s, cost_s = left[order], right[order], cost[order]
    forest = minimum_spanning_tree(coo_matrix((cost_s, (left_s, right_s)), shape=(n, n))).tocoo()
    # Map the forest's (row, col) back to link indices.
    key_links = left_s.astype(np.int64) * n + right_s
    key_tree = forest.row.astype(np.int64) * n + forest.col
    pos = np.searchsorted(key_links, key_tree)
    return order[pos]


def _incompatible_value_pairs(
    component: np.ndarray, members: np.ndarray, exclusive: Exclusive
) -> set[tuple[int, int]]:
    """Value pairs of `exclusive` that may not share a cluster, among co-members."""
    codes = exclusive.codes[members]
    frame = pd.DataFrame({"c": component[members], "v": codes})
    frame = frame[frame["v"] >= 0].drop_duplicates()
    pairs = frame.merge(frame, on="c")
    pairs = pairs[pairs["v_x"] < pairs["v_y"]]
    if pairs.empty:
        return set()
    a, b = pairs["v_x"].to_numpy(), pairs["v_y"].to_numpy()
    bad = exclusive.incompatible(a, b)
    return {(int(x), int(y)) for x, y in zip(a[bad], b[bad], strict=True)} | {
        (int(y), int(x)) for x, y in zip(a[bad], b[bad], strict=True)
    }


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    cannot_left: np.ndarray,
    cannot_right: np.ndarray,
    exclusives: tuple[Exclusive, ...] = (),
) -> Clusters:
    """Cluster `n` nodes joined by links (left, right) of the given strength (log-odds).

    Links must already be the confident ones; cannot-link pairs may be any pairs.
    """
    component = _components(n, left, right)
    troubled = np.zeros(component.max() + 1 if n else 0, dtype=bool)
    same = component[cannot_left] == component[cannot_right]
    troubled[component[cannot_left[same]]] = True
    everyone = np.arange(n)
    for exclusive in exclusives:
        bad = _incompatible_value_pairs(component, everyone, exclusive)
        if bad:
            frame = pd.DataFrame({"c": component, "v": exclusive.codes})
            frame = frame[frame["v"] >= 0].drop_duplicates()
            pairs = frame.merge(frame, on="c")
            hit = [(x, y) in bad for x, y in zip(pairs["v_x"], pairs["v_y"], strict=True)]
            troubled[pairs.loc[hit, "c"].to_numpy()] = True

    calm_links = ~troubled[component[left]]
    tree = [
        np.flatnonzero(calm_links)[
            _spanning_tree(n, left[calm_links], right[calm_links], strength[calm_links])
        ]
    ]
    labels = component.copy()
    rebuilt = int(troubled.sum())
    if rebuilt:
        labels, greedy_tree = _rebuild(
            n, component, troubled, left, right, strength, cannot_left, cannot_right, exclusives
        )
        tree.append(greedy_tree)
    _, labels = np.unique(labels, return_inverse=True)
    return Clusters(labels=labels, tree=np.concatenate(tree), rebuilt_components=rebuilt)


def _rebuild(
    n: int,
    component: np.ndarray,
    troubled: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    cannot_left: np.ndarray,
    cannot_right: np.ndarray,
    exclusives: tuple[Exclusive, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy constrained agglomeration inside troubled components (strongest link first).

    Runs over the links of troubled components only, a small share of all links, which
    is why a plain loop with a union-find is affordable here.
    """
    members = np.flatnonzero(troubled[component])
    labels = component.copy()
    parent = {int(v): int(v) for v in members}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    cannot: dict[int, set[int]] = {int(v): set() for v in members}
    in_troubled = troubled[component[cannot_left]] & (
        component[cannot_left] == component[cannot_right]
    )
    for a, b in zip(cannot_left[in_troubled], cannot_right[in_troubled], strict=True):
        cannot[int(a)].add(int(b))
        cannot[int(b)].add(int(a))
    values: list[dict[int, set[int]]] = []
    incompatible: list[set[tuple[int, int]]] = []
    for exclusive in exclusives:
        values.append(
            {
                int(v): ({int(exclusive.codes[v])} if exclusive.codes[v] >= 0 else set())
                for v in members
            }
        )
        incompatible.append(_incompatible_value_pairs(component, members, exclusive))

    links = np.flatnonzero(troubled[component[left]])
    links = links[np.argsort(-strength[links], kind="stable")]
    accepted = []
    for idx in links.tolist():
        ra, rb = find(int(left[idx])), find(int(right[idx]))
        if ra == rb:
            continue
        if any(find(x) == rb for x in cannot[ra]):
            continue
        if any(
            (va, vb) in bad
            for vals, bad in zip(values, incompatible, strict=True)
            for va in vals[ra]
            for vb in vals[rb]
        ):
            continue
        if len(cannot[ra]) + sum(len(v[ra]) for v in values) < len(cannot[rb]) + sum(
            len(v[rb]) for v in values
        ):
            ra, rb = rb, ra
        parent[rb] = ra
        cannot[ra] |= cannot.pop(rb)
        for vals in values:
            vals[ra] |= vals.pop(rb)
        accepted.append(idx)
    roots = np.array([find(int(v)) for v in members], dtype=np.int64)
    labels[members] = component.max() + 1 + roots
    return labels, np.asarray(accepted, dtype=np.int64)
