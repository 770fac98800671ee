"""Customer IDs that survive re-runs: clusters are recomputed, IDs are inherited.

Every run clusters all records afresh; this module decides which existing ID each new
cluster carries. An old ID goes to the cluster holding most of its records (so a split
leaves the ID on the larger part); a cluster offered several old IDs keeps the oldest
(the lowest number: IDs come from a sequence) and the others are recorded as merged
into it; a cluster offered none gets a new ID. Same data, same clusters → same IDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

ID_PREFIX = "C"
ID_DIGITS = 9


def format_customer_id(number: int) -> str:
    """`C000001234`: fixed width, so text order is issue order (older sorts first)."""
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


@dataclass
class Assignment:
    customer_of_cluster: pd.Series  # cluster label → customer_id
    history: pd.DataFrame  # old_customer_id, new_customer_id, reason, records_moved
    new_ids: list[str]


def assign_ids(
    clusters: pd.DataFrame,
    previous: pd.DataFrame,
    allocate: Callable[[int], list[str]],
) -> Assignment:
    """Customer ID per cluster, inheriting `previous` IDs where the records are the same.

    clusters: source, source_record_id, cluster (one row per record of this run).
    previous: source, source_record_id, customer_id (the map as the last run left it).
    allocate(k): k fresh IDs, in issue order.
    """
    keys = ["source", "source_record_id"]
    joined = clusters[[*keys, "cluster"]].merge(
        previous[[*keys, "customer_id"]], on=keys, how="left"
    )
    votes = (
        joined.dropna(subset=["customer_id"])
        .groupby(["customer_id", "cluster"], sort=False)
        .size()
        .rename("records")
        .reset_index()
    )
    # Each old ID goes to the cluster with most of its records (ties: lowest cluster).
    votes = votes.sort_values(
        ["customer_id", "records", "cluster"], ascending=[True, False, True], kind="stable"
    )
    owner = votes.drop_duplicates("customer_id")
    # Each cluster keeps the oldest of the IDs it was given.
    survivors = owner.sort_values(["cluster", "customer_id"]).drop_duplicates("cluster")
    customer_of_cluster = survivors.set_index("cluster")["customer_id"]

    all_clusters = pd.Index(clusters["cluster"].unique()).sort_values()
    orphans = all_clusters.difference(customer_of_cluster.index)
    new_ids = allocate(len(orphans))
    fresh = pd.Series(new_ids, index=orphans, dtype="string")
    customer_of_cluster = customer_of_cluster.astype("string")
    if len(fresh):
        customer_of_cluster = (
            fresh if customer_of_cluster.empty else pd.concat([customer_of_cluster, fresh])
        )

    # Every (old ID, cluster) whose records now carry another ID is a history row: the
    # old ID's main part joining an older customer is a merge, a minority part leaving
    # for another (new or existing) customer is a split.
    moves = votes.assign(new_customer_id=customer_of_cluster.reindex(votes["cluster"]).to_numpy())
    moves = moves[moves["customer_id"] != moves["new_customer_id"]]
    owner_cluster = owner.set_index("customer_id")["cluster"]
    is_main_part = (
        owner_cluster.reindex(moves["customer_id"]).to_numpy() == moves["cluster"].to_numpy()
    )
    history = pd.DataFrame(
        {
            "old_customer_id": moves["customer_id"].astype("string"),
            "new_customer_id": moves["new_customer_id"].astype("string"),
            "reason": pd.Series(is_main_part, index=moves.index).map(
                {True: "merge", False: "split"}
            ),
            "records_moved": moves["records"].astype("int64"),
        }
    ).reset_index(drop=True)
    return Assignment(
        customer_of_cluster=customer_of_cluster, history=history, new_ids=list(new_ids)
    )
