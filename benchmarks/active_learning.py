"""Reviewers teach the model: pairwise F1 after 50, 200 and 500 verdicts, the generator's
truth playing the reviewer.

    .venv/bin/python benchmarks/active_learning.py                      # 3k people, seed 42
    .venv/bin/python benchmarks/active_learning.py --seeds 42 7 --mess 1 2
    .venv/bin/python benchmarks/active_learning.py --forget   # no memory between rounds

Each round matches the whole inbox (`engine.link`, as a full `resolve` does; the pipeline
runs in full once verdicts teach), takes the review queue as the pipeline writes it (the
undecided pairs of `LinkResult.review`, a signature shown through its first record),
has the truth decide the next pairs in the queue's order (same person or not, as a
careful reviewer would), and matches again with every verdict so far, and with the
classifier of the round before (what a full run reads from the stored model: the patterns
it held linked or dismissed stay so unless their own verdicts turn). Three ways:

- `constraints`: verdicts only bind the pairs decided (learning off), queue in today's
  order (Fellegi–Sunter probability nearest one half first);
- `learnt, FS order`: the classifier re-scores the band, queue in today's order;
- `learnt, learnt order`: the classifier, queue by `learning.priority` (what the pipeline
  writes to review_priority and the review page reads).

F1 counts record pairs against truth.csv, as benchmarks/er_quality.py does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from er_quality import generated, read_inbox  # noqa: E402

from entity_resolution import learning  # noqa: E402
from entity_resolution.engine import LinkResult, link  # noqa: E402
from entity_resolution.evaluation import quality  # noqa: E402
from entity_resolution.records import PERSON_SOURCES, person_records  # noqa: E402
from entity_resolution.settings import DEALER, DEALER_PREP, LinkSettings  # noqa: E402

STEPS = (50, 200, 500)
WAYS = {
    "constraints": (False, "fs"),
    "learnt, FS order": (True, "fs"),
    "learnt, learnt order": (True, "learnt"),
}


def _queue(
    records: pd.DataFrame, result: LinkResult, decided: set[tuple[int, int]], order: str
) -> pd.DataFrame:
    """The review queue as record pairs, in the order the reviewer sees it."""
    pairs = np.flatnonzero(result.review)
    first = (
        pd.Series(np.arange(result.record_signature.size))
        .groupby(result.record_signature)
        .first()
        .to_numpy()
    )
    a = first[result.candidates.left[pairs]]
    b = first[result.candidates.right[pairs]]
    pending = np.array(
        [(x, y) not in decided and (y, x) not in decided for x, y in zip(a, b, strict=True)],
        dtype=bool,
    )
    pairs, a, b = pairs[pending], a[pending], b[pending]
    fs = result.scored.probability[pairs]
    if order == "fs":
        rank = np.lexsort((pairs, np.abs(fs - 0.5)))
    else:
        learnt = result.learnt_probability(pairs)
        probability = np.where(np.isnan(learnt), fs, learnt)
        found = result.verdicts
        taught = pd.Series(learning.pattern_keys(found.levels), dtype=object).value_counts()
        patterns = learning.pattern_keys(result.compared.levels[pairs])
        keys = ["source", "source_record_id"]
        shown = pd.concat(
            [
                records[keys].iloc[a].reset_index(drop=True).add_suffix("_a"),
                records[keys].iloc[b].reset_index(drop=True).add_suffix("_b"),
            ],
            axis=1,
        )
        tie = learning.pair_hash(shown)
        rank = np.lexsort((pairs, -learning.priority(patterns, probability, taught, tie)))
    return pd.DataFrame({"a": a[rank], "b": b[rank]})


def run(
    records: pd.DataFrame,
    persons: np.ndarray,
    settings: LinkSettings,
    order: str,
    forget: bool = False,
) -> list:
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    rows = []
    before = None  # the classifier of the round before, as the pipeline stores it
    for target in (0, *STEPS):
        started = time.perf_counter()
        result = link(
            records,
            settings,
            (np.array([p[0] for p in must], int), np.array([p[1] for p in must], int)),
            (np.array([p[0] for p in cannot], int), np.array([p[1] for p in cannot], int)),
            before=before,
        )
        before = None if forget else result.learnt
        q = quality(result.record_cluster, persons)
        queue = _queue(records, result, set(must) | set(cannot), order)
        learnt = result.learnt
        rows.append(
            {
                "verdicts": len(must) + len(cannot),
                "same_person": len(must),
                "classifier": learnt is not None,
                "held": 0 if learnt is None else len(learnt.held),
                "queue": len(queue),
                "precision": round(q.precision, 4),
                "recall": round(q.recall, 4),
                "f1": round(q.f1, 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        for a, b in queue.head(target_next(target) - len(must) - len(cannot)).itertuples(
            index=False
        ):
            (must if persons[a] == persons[b] else cannot).append((int(a), int(b)))
    return rows


def target_next(target: int) -> int:
    later = [s for s in STEPS if s > target]
    return later[0] if later else target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--mess", type=float, nargs="+", default=[1.0])
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    parser.add_argument(
        "--forget",
        action="store_true",
        help="each round learns afresh, holding nothing from the round before (as before"
        " 2026-12-07's held patterns)",
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "er_quality")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    table = []
    for mess in args.mess:
        for seed in args.seeds:
            inbox = generated(args.people, seed, mess, args.workdir)
            raw = read_inbox(inbox)
            records = person_records(
                {s: raw[s] for s in PERSON_SOURCES if s in raw}, raw.get("dealers"), DEALER_PREP
            )
            truth = pd.read_csv(inbox / "truth.csv", dtype="string")
            persons = (
                records[["source", "source_record_id"]]
                .merge(truth, on=["source", "source_record_id"], how="left", validate="1:1")[
                    "person_id"
                ]
                .to_numpy()
            )
            for way in args.ways:
                enabled, order = WAYS[way]
                settings = dataclasses.replace(
                    DEALER, learning=dataclasses.replace(DEALER.learning, enabled=enabled)
                )
                print(f"# seed {seed}, mess {mess}: {way}", flush=True)
                for row in run(records, persons, settings, order, args.forget):
                    table.append({"seed": seed, "mess": mess, "way": way, **row})
    frame = pd.DataFrame(table)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
