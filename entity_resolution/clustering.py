"""Group linked records into people without chaining two people together.

Connected components of the confident links are right for almost every group. A
component is re-clustered when it holds a contradiction: two members that must not be
one person (a cannot-link pair: two birth dates, Jr and Sr, a reviewer's decision) or
two incompatible values of an exclusive field (birth date, suffix) anywhere inside it.
Those components are rebuilt greedily, strongest link first, refusing any merge that
would put a contradiction inside a cluster: father and son who share a landline, an
address and a name each keep their own records, and a record that fits both goes to
the one it is most strongly linked to.

A component is also rebuilt when a link that rests on nothing but a name and an address
(`weak`) is all that joins two groups of records that each carry contacts (phones,
e-mails) of their own and share none: a father and his son of one name at one address,
chained through an OEM registration that carries only the name and the address. Inside
such a component the links with identifying evidence are tried first, so each person's
records gather around their own contacts, and a weak link may then not join two groups
whose contacts never meet; a contactless record goes to the group it is most strongly
linked to. People change phones and e-mails over the years: two of one person's groups
joined by a record that carries the old and the new contact share a value and stay one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

IncompatibleFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
# Connected components of n nodes joined by links (left, right): a label per node, numbered
# in the order of each component's smallest node (scipy's order; Spark computes the same).
ComponentsFn = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Exclusive:
    """A field a cluster may hold only mutually compatible values of."""

    name: str
    codes: np.ndarray  # value code per node, -1 when unknown
    incompatible: IncompatibleFn  # vectorized over pairs of value codes


@dataclass(frozen=True)
class Contacts:
    """How each node is reached (phone, e-mail), and which links are only name and place.

    `codes` holds one value-code array per kind of contact (-1 when unknown); `weak`
    marks, per link, those whose evidence is a name and an address alone. `marks` is a
    generation suffix's code per node (Jr, Sr; -1 when none): of two groups that each
    carry contacts and share none, one that writes a suffix and one that never does are
    two people even when their contacts are of different kinds (the son's phone, Jr on
    half his records; the father's e-mail), or when one is reached only through a
    household's mailbox (`reached`: nodes with any contact, not only their own).
    """

    codes: tuple[np.ndarray, ...]
    weak: np.ndarray
    marks: np.ndarray | None = None
    reached: np.ndarray | None = None  # per node: some contact, a household's mailbox too


@dataclass
class Clusters:
    labels: np.ndarray  # cluster number per node, 0..k-1
    tree: np.ndarray  # indices of the links that hold each cluster together
    rebuilt_components: int  # components that held a contradiction


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components in this process (SciPy)."""
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _spanning_tree(n: int, left: np.ndarray, right: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Indices of the links of a maximum-strength spanning forest."""
    if left.size == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((right, left))
    left_s, right_s = left[order], right[order]
    cost_s = (strength.max() + 1.0) - strength[order]  # positive: scipy drops explicit zeros
    forest = minimum_spanning_tree(coo_matrix((cost_s, (left_s, right_s)), shape=(n, n))).tocoo()
    # Map the forest's (row, col) back to link indices.
    key_links = left_s.astype(np.int64) * n + right_s
    key_tree = forest.row.astype(np.int64) * n + forest.col
    pos = np.searchsorted(key_links, key_tree)
    return order[pos]


_LINKS_PER_NODE = 12  # strongest links per record kept when rebuilding a component


@dataclass
class _Conflicts:
    """Incompatible value pairs of one exclusive field, as keys a * size + b (a < b)."""

    components: np.ndarray  # components holding at least one incompatible pair
    keys: np.ndarray
    size: int


def _conflicts(component: np.ndarray, exclusive: Exclusive) -> _Conflicts:
    """Which components hold two incompatible values of `exclusive`, and which values."""
    size = int(exclusive.codes.max()) + 1 if exclusive.codes.size else 1
    frame = pd.DataFrame({"c": component, "v": exclusive.codes})
    frame = frame[frame["v"] >= 0].drop_duplicates()
    several = frame.groupby("c")["v"].transform("size") > 1
    frame = frame[several]
    pairs = frame.merge(frame, on="c")
    pairs = pairs[pairs["v_x"] < pairs["v_y"]]
    keys = pairs["v_x"].to_numpy(np.int64) * size + pairs["v_y"].to_numpy(np.int64)
    unique_keys = np.unique(keys)
    bad = exclusive.incompatible(unique_keys // size, unique_keys % size)
    bad_keys = unique_keys[bad]
    hit = np.isin(keys, bad_keys)
    return _Conflicts(components=np.unique(pairs["c"].to_numpy()[hit]), keys=bad_keys, size=size)


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    cannot_left: np.ndarray,
    cannot_right: np.ndarray,
    exclusives: tuple[Exclusive, ...] = (),
    find_components: ComponentsFn = components,
    contacts: Contacts | None = None,
) -> Clusters:
    """Cluster `n` nodes joined by links (left, right) of the given strength (log-odds).

    Links must already be the confident ones; cannot-link pairs may be any pairs.
    `find_components` computes the connected components (in this process or on Spark).
    With `contacts`, weak links may not join two groups whose contacts never meet.
    """
    component = find_components(n, left, right)
    troubled = np.zeros(component.max() + 1 if n else 0, dtype=bool)
    same = component[cannot_left] == component[cannot_right]
    troubled[component[cannot_left[same]]] = True
    conflicts = [_conflicts(component, exclusive) for exclusive in exclusives]
    for found in conflicts:
        troubled[found.components] = True
    if contacts is not None and contacts.codes:
        strong = ~contacts.weak
        core = find_components(n, left[strong], right[strong])
        troubled[_strangers(component, core, contacts.codes, contacts.marks, contacts.reached)] = (
            True
        )

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
            component, troubled, left, right, strength, cannot_left, cannot_right,
            exclusives, conflicts, contacts,
        )  # fmt: skip
        tree.append(greedy_tree)
    _, labels = np.unique(labels, return_inverse=True)
    return Clusters(labels=labels, tree=np.concatenate(tree), rebuilt_components=rebuilt)


_MAX_CORES = 64  # contact-holding groups per component compared pairwise; more: rebuilt


def _strangers(
    component: np.ndarray,
    core: np.ndarray,
    codes: tuple[np.ndarray, ...],
    marks: np.ndarray | None = None,
    reached: np.ndarray | None = None,
) -> np.ndarray:
    """Components holding two cores (groups joined by identifying links) that each carry a
    contact and share none, with one kind of contact known on both sides, or a suffix
    (`marks`) written on one side only (each side `reached` by some contact).

    A phone-only group and an e-mail-only group cannot be told apart by their contacts
    alone; a group with one phone and one with another can, and so can a phone-only
    group that writes Jr and an e-mail-only group that never does.
    """
    frames = []
    for kind, values in enumerate(codes):
        known = np.flatnonzero(values >= 0)
        frames.append(
            pd.DataFrame({"c": component[known], "core": core[known], "kind": kind,
                          "v": values[known].astype(np.int64)})
        )  # fmt: skip
    held = pd.concat(frames, ignore_index=True).drop_duplicates()
    cores = held.drop_duplicates(["c", "core"])
    per_component = cores.groupby("c")["core"].size()
    several = per_component[per_component > 1]
    crowded = several.index[several > _MAX_CORES].to_numpy()
    held = held[held["c"].isin(several.index[several <= _MAX_CORES])]
    kinds = held.drop_duplicates(["c", "core", "kind"])
    # Pairs of cores with a kind of contact known on both …
    pairs = kinds.merge(kinds, on=["c", "kind"])
    pairs = [pairs.loc[pairs["core_x"] < pairs["core_y"], ["c", "core_x", "core_y"]]]
    if marks is not None:
        # … or each reached by some contact and a suffix written by one only.
        if reached is None:
            reached = np.zeros(component.size, dtype=bool)
            for values in codes:
                reached |= values >= 0
        nodes = np.flatnonzero(reached)
        bearers = pd.DataFrame({"c": component[nodes], "core": core[nodes]}).drop_duplicates()
        size = bearers.groupby("c")["core"].transform("size")
        bearers = bearers[((size > 1) & (size <= _MAX_CORES)).to_numpy()]
        marked = np.zeros(int(core.max()) + 1 if core.size else 0, dtype=bool)
        marked[core[marks >= 0]] = True
        bearers = bearers.assign(marked=marked[bearers["core"].to_numpy()])
        across = bearers.merge(bearers, on="c")
        across = across[
            (across["core_x"] < across["core_y"]) & (across["marked_x"] != across["marked_y"])
        ]
        pairs.append(across[["c", "core_x", "core_y"]])
    pairs = pd.concat(pairs).drop_duplicates()
    if pairs.empty:
        return crowded
    # … of which those sharing a value are no strangers.
    met = held.merge(held, on=["c", "kind", "v"])
    met = met.loc[met["core_x"] < met["core_y"], ["c", "core_x", "core_y"]].drop_duplicates()
    strangers = pairs.merge(met, how="left", indicator=True)
    strangers = strangers[strangers["_merge"] == "left_only"]
    return np.union1d(strangers["c"].unique(), crowded).astype(np.int64)


def _strongest_links(
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    links: np.ndarray,
    weak: np.ndarray | None = None,
) -> np.ndarray:
    """`links` sorted strongest first, keeping those among each end's strongest few; with
    `weak`, the links with identifying evidence come before the weak ones.

    A record's weaker links add nothing once its strongest ones are tried, and leaving
    them out keeps the greedy pass proportional to the number of records.
    """
    if weak is None:
        links = links[np.argsort(-strength[links], kind="stable")]
    else:
        links = links[np.lexsort((-strength[links], weak[links]))]
    ends = pd.DataFrame({"a": left[links], "b": right[links]})
    rank_a = ends.groupby("a").cumcount().to_numpy()
    rank_b = ends.groupby("b").cumcount().to_numpy()
    return links[(rank_a < _LINKS_PER_NODE) | (rank_b < _LINKS_PER_NODE)]


def _rebuild(
    component: np.ndarray,
    troubled: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    cannot_left: np.ndarray,
    cannot_right: np.ndarray,
    exclusives: tuple[Exclusive, ...],
    conflicts: list[_Conflicts],
    contacts: Contacts | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy constrained agglomeration inside troubled components (strongest link first).

    Runs over the links of troubled components only, a small share of all links, which
    is why a plain loop over a list-based union-find is affordable here.
    """
    members = np.flatnonzero(troubled[component])
    local = np.full(component.size, -1, dtype=np.int64)
    local[members] = np.arange(members.size)
    parent = list(range(members.size))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    cannot: list[set[int]] = [set() for _ in range(members.size)]
    inside = troubled[component[cannot_left]] & (component[cannot_left] == component[cannot_right])
    for a, b in zip(
        local[cannot_left[inside]].tolist(), local[cannot_right[inside]].tolist(), strict=True
    ):
        cannot[a].add(b)
        cannot[b].add(a)
    values: list[list[set[int]]] = []
    for exclusive in exclusives:
        codes = exclusive.codes[members].tolist()
        values.append([{c} if c >= 0 else set() for c in codes])
    bad_keys = [set(found.keys.tolist()) for found in conflicts]
    sizes = [found.size for found in conflicts]

    def clash(ra: int, rb: int) -> bool:
        for vals, bad, size in zip(values, bad_keys, sizes, strict=True):
            if not bad:
                continue
            for va in vals[ra]:
                for vb in vals[rb]:
                    if va != vb and (min(va, vb) * size + max(va, vb)) in bad:
                        return True
        return False

    reached: list[list[set[int]]] = []
    weak = None
    marked: list[bool] = [False] * members.size
    reachable: list[bool] = [False] * members.size
    if contacts is not None and contacts.codes:
        weak = contacts.weak
        for codes in contacts.codes:
            reached.append([{c} if c >= 0 else set() for c in codes[members].tolist()])
        if contacts.marks is not None:
            marked = (contacts.marks[members] >= 0).tolist()
        if contacts.reached is not None:
            reachable = contacts.reached[members].tolist()

    def strangers(ra: int, rb: int) -> bool:
        """Both groups reached by a kind of contact, and by no value in common; or each
        reached by some contact, none shared, and a suffix written by one only."""
        comparable = False
        reach_a, reach_b = reachable[ra], reachable[rb]
        for sets in reached:
            if sets[ra] and sets[rb]:
                if not sets[ra].isdisjoint(sets[rb]):
                    return False
                comparable = True
            reach_a |= bool(sets[ra])
            reach_b |= bool(sets[rb])
        return comparable or (reach_a and reach_b and marked[ra] != marked[rb])

    links = _strongest_links(left, right, strength, np.flatnonzero(troubled[component[left]]), weak)
    weak_link = (np.zeros(links.size, dtype=bool) if weak is None else weak[links]).tolist()
    accepted = []
    for idx, a, b, is_weak in zip(
        links.tolist(), local[left[links]].tolist(), local[right[links]].tolist(), weak_link,
        strict=True,
    ):  # fmt: skip
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if len(cannot[ra]) > len(cannot[rb]):
            ra, rb = rb, ra
        if any(find(x) == rb for x in cannot[ra]) or clash(ra, rb):
            continue
        if is_weak and strangers(ra, rb):
            continue
        parent[rb] = ra
        marked[ra] |= marked[rb]
        reachable[ra] |= reachable[rb]
        cannot[ra] |= cannot[rb]
        cannot[rb] = set()
        for vals in (*values, *reached):
            vals[ra] |= vals[rb]
            vals[rb] = set()
        accepted.append(idx)
    roots = np.array([find(v) for v in range(members.size)], dtype=np.int64)
    labels = component.copy()
    labels[members] = component.max() + 1 + roots
    return labels, np.asarray(accepted, dtype=np.int64)
