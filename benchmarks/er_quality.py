"""Entity-resolution quality against known truth: the generator's truth.csv and FEBRL.

    .venv/bin/python benchmarks/er_quality.py                  # 3 seeds x 3k, mess 1 and 2, FEBRL
    .venv/bin/python benchmarks/er_quality.py --people 30000 --seeds 42
    .venv/bin/python benchmarks/er_quality.py --febrl-only
    .venv/bin/python benchmarks/er_quality.py --seeds 42 --mess 1 --no-febrl --missed

The engine runs on the inbox CSVs read straight with pandas (the same standardization
and matching as `resolve(engine)`, without the database round trip), so the numbers
measure matching, not loading. Pairwise precision/recall/F1 count record pairs;
B-cubed averages per record; blocking recall is the share of true record pairs that
were compared at all (or share a signature).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from entity_resolution.engine import LinkResult, link  # noqa: E402
from entity_resolution.evaluation import blocking_recall, febrl, quality  # noqa: E402
from entity_resolution.records import PERSON_SOURCES, person_records  # noqa: E402
from entity_resolution.settings import DEALER, DEALER_PREP  # noqa: E402

_KEYS = {
    "dealers": ("dealer_code",),
    "dealer_sales": ("dealer_code", "deal_id"),
    "service_orders": ("dealer_code", "ro_number"),
    "oem_registrations": ("registration_id",),
    "crm_leads": ("dealer_code", "lead_id"),
}


def read_inbox(inbox: Path) -> dict[str, pd.DataFrame]:
    """Every source's CSV files as text frames keyed by source_record_id (last file wins)."""
    frames = {}
    for source, key in _KEYS.items():
        parts = [
            pd.read_csv(f, dtype="string", keep_default_na=False, na_values=[""])
            for f in sorted((inbox / source).glob("*.csv"))
        ]
        if not parts:
            continue
        frame = pd.concat(parts, ignore_index=True)
        for col in frame.columns:
            frame[col] = frame[col].str.strip().replace("", pd.NA)
        srid = frame[key[0]].astype("string")
        for col in key[1:]:
            srid = srid + ":" + frame[col].astype("string")
        frame["source_record_id"] = srid
        frames[source] = frame.drop_duplicates("source_record_id", keep="last")
    return frames


def run_generator(inbox: Path) -> tuple[dict, LinkResult, pd.DataFrame]:
    raw = read_inbox(inbox)
    started = time.perf_counter()
    records = person_records(
        {s: raw[s] for s in PERSON_SOURCES if s in raw}, raw.get("dealers"), DEALER_PREP
    )
    prep_seconds = time.perf_counter() - started
    result = link(records, DEALER)
    seconds = time.perf_counter() - started
    truth = pd.read_csv(inbox / "truth.csv", dtype="string")
    labelled = records[["source", "source_record_id"]].merge(
        truth, on=["source", "source_record_id"], how="left", validate="one_to_one"
    )
    missing = labelled["person_id"].isna()
    if missing.any():
        raise SystemExit(f"{int(missing.sum())} records have no truth row")
    persons = labelled["person_id"].to_numpy()
    q = quality(result.record_cluster, persons)
    br = blocking_recall(
        result.record_signature,
        persons,
        result.candidates.left,
        result.candidates.right,
        len(result.signatures),
    )
    reach = blocking_recall(
        result.record_signature,
        persons,
        result.candidates.left,
        result.candidates.right,
        len(result.signatures),
        connected=True,
    )
    row = {
        "records": len(records),
        "signatures": len(result.signatures),
        "candidate_pairs": int(result.candidates.left.size),
        "blocking_recall": round(br, 5),
        "connected_recall": round(reach, 5),
        **q.as_dict(),
        "clusters": int(result.record_cluster.max() + 1),
        "disjoint_contact_clusters": disjoint_contact_clusters(records, result, persons),
        "persons": int(pd.Series(persons).nunique()),
        "seconds": round(seconds, 1),
        "prep_seconds": round(prep_seconds, 1),
    }
    return row, result, labelled


def disjoint_contact_clusters(
    records: pd.DataFrame, result: LinkResult, persons: np.ndarray
) -> int:
    """Customers holding two real people whose contacts never meet: within the customer,
    each holds a phone or e-mail and the two share none (the father and son chained
    through contactless records that the identity issue is about)."""
    contacts = pd.concat(
        [
            pd.DataFrame({"cluster": result.record_cluster, "person": persons, "value": records[c]})
            for c in ("phone", "email")
        ]
    ).dropna(subset=["value"])
    several = contacts.groupby("cluster")["person"].transform("nunique") > 1
    contacts = contacts[several.to_numpy()].drop_duplicates()
    count = 0
    for _, group in contacts.groupby("cluster"):
        held = [set(values) for _, values in group.groupby("person")["value"]]
        if any(not (a & b) for i, a in enumerate(held) for b in held[i + 1 :]):
            count += 1
    return count


_SHARED_FIELDS = ("first_name", "first_name_key", "last_name", "company", "phone", "email",
                  "street", "postal_code", "vin", "birth_date")  # fmt: skip


def missed_pairs(result: LinkResult, persons: np.ndarray) -> dict:
    """True record pairs that blocking never compared directly, as shares of their weight
    (record pairs): by the two sources, and by which fields the two records share exactly."""
    sigs, n = result.signatures, len(result.signatures)
    cells = (
        pd.DataFrame({"t": persons, "s": result.record_signature})
        .value_counts()
        .rename("n")
        .reset_index()
    )
    pairs = cells.merge(cells, on="t")
    pairs = pairs[pairs["s_x"] < pairs["s_y"]]
    keys = pairs["s_x"].to_numpy(np.int64) * n + pairs["s_y"].to_numpy(np.int64)
    compared = result.candidates.left * n + result.candidates.right
    missed = pairs[~np.isin(keys, compared)]
    weight = (missed["n_x"] * missed["n_y"]).to_numpy(np.float64)
    a = sigs.iloc[missed["s_x"].to_numpy()].reset_index(drop=True)
    b = sigs.iloc[missed["s_y"].to_numpy()].reset_index(drop=True)
    sources = np.where(a["source"] < b["source"], a["source"] + " / " + b["source"],
                       b["source"] + " / " + a["source"])  # fmt: skip
    shared = pd.Series("", index=a.index)
    for field in _SHARED_FIELDS:
        same = (a[field] == b[field]).fillna(False).to_numpy(bool)
        shared = shared.where(~same, shared + "," + field)
    total = weight.sum() or 1.0

    def shares(labels) -> dict:
        out = pd.Series(weight).groupby(np.asarray(labels)).sum() / total
        return {k: round(float(v), 4) for k, v in out.sort_values(ascending=False).items()}

    return {
        "missed_record_pairs": int(total),
        "by_sources": shares(sources),
        "by_shared_fields": shares(shared.str.lstrip(",").replace("", "nothing")),
    }


_DATE_COLUMN = {
    "dealer_sales": "deal_date",
    "service_orders": "open_date",
    "oem_registrations": "registration_date",
    "crm_leads": "created_at",
}


def _clusters(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    persons = {s: raw[s] for s in PERSON_SOURCES if s in raw}
    records = person_records(persons, raw.get("dealers"), DEALER_PREP)
    result = link(records, DEALER)
    return records[["source", "source_record_id"]].assign(cluster=result.record_cluster)


def run_stability(inbox: Path, new_share: float = 0.10) -> dict:
    """IDs after a first run on the older 90 % of records, then a run on everything.

    Same code path as resolve() minus the database: each run standardizes and matches
    from scratch and `assign_ids` inherits the first run's IDs. Also reruns the full
    data once more, which must change no ID at all.
    """
    import itertools

    from entity_resolution.ids import assign_ids, format_customer_id

    counter = itertools.count(1)

    def allocate(k: int) -> list[str]:
        return [format_customer_id(next(counter)) for _ in range(k)]

    raw = read_inbox(inbox)
    dates = pd.concat(
        [raw[s][c].str[:10] for s, c in _DATE_COLUMN.items() if s in raw], ignore_index=True
    )
    cutoff = dates.quantile(1 - new_share, interpolation="nearest")
    older = {
        s: (f[f[_DATE_COLUMN[s]].str[:10] <= cutoff] if s in _DATE_COLUMN else f)
        for s, f in raw.items()
    }
    empty = pd.DataFrame(columns=["source", "source_record_id", "customer_id"], dtype="string")

    def with_ids(clusters: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
        assignment = assign_ids(clusters, previous, allocate)
        return clusters.assign(
            customer_id=assignment.customer_of_cluster.reindex(clusters["cluster"]).to_numpy()
        )

    first = with_ids(_clusters(older), empty)
    second = with_ids(_clusters(raw), first)
    third = with_ids(_clusters(raw), second)
    keys = ["source", "source_record_id"]
    kept = first.merge(second, on=keys, suffixes=("_1", "_2"))
    rerun = second.merge(third, on=keys, suffixes=("_2", "_3"))
    return {
        "records_first_run": len(first),
        "records_added": len(second) - len(first),
        "kept_id_after_adding": round(
            float((kept["customer_id_1"] == kept["customer_id_2"]).mean()), 5
        ),
        "kept_id_on_rerun": round(
            float((rerun["customer_id_2"] == rerun["customer_id_3"]).mean()), 5
        ),
    }


def run_febrl(which: str) -> dict:
    records, settings = febrl(which)
    started = time.perf_counter()
    result = link(records, settings)
    seconds = time.perf_counter() - started
    truth = records["truth"].to_numpy()
    br = blocking_recall(
        result.record_signature,
        truth,
        result.candidates.left,
        result.candidates.right,
        len(result.signatures),
    )
    return {
        "records": len(records),
        "candidate_pairs": int(result.candidates.left.size),
        "blocking_recall": round(br, 5),
        **quality(result.record_cluster, truth).as_dict(),
        "seconds": round(seconds, 2),
    }


def generated(people: int, seed: int, mess: float, workdir: Path) -> Path:
    from generator import generate_inbox

    inbox = workdir / f"inbox_{people}_{seed}_{mess}"
    if not (inbox / "truth.csv").exists():
        generate_inbox(inbox, people=people, seed=seed, mess=mess)
    return inbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 2026])
    parser.add_argument("--mess", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "er_quality")
    parser.add_argument("--febrl-only", action="store_true")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--stability", action="store_true", help="only the ID stability run")
    parser.add_argument(
        "--missed", action="store_true", help="also break down the true pairs never compared"
    )
    args = parser.parse_args()
    if args.stability:
        args.workdir.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            inbox = generated(args.people, seed, 1.0, args.workdir)
            print(json.dumps({"people": args.people, "seed": seed, **run_stability(inbox)}))
        return
    rows = []
    if not args.febrl_only:
        args.workdir.mkdir(parents=True, exist_ok=True)
        for mess in args.mess:
            for seed in args.seeds:
                inbox = generated(args.people, seed, mess, args.workdir)
                row, result, labelled = run_generator(inbox)
                if args.missed:
                    row["missed"] = missed_pairs(result, labelled["person_id"].to_numpy())
                rows.append(
                    {"data": f"generator {args.people} people", "seed": seed, "mess": mess, **row}
                )
                print(json.dumps(rows[-1]), flush=True)
    if not args.no_febrl:
        for which in ("febrl3", "febrl4"):
            rows.append({"data": which, **run_febrl(which)})
            print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    cols = [
        c
        for c in (
            "data", "seed", "mess", "records", "candidate_pairs", "blocking_recall",
            "precision", "recall", "f1", "bcubed_f1", "disjoint_contact_clusters", "seconds",
        )
        if c in table.columns
    ]  # fmt: skip
    print(
        table[cols].to_markdown(index=False)
        if _has_tabulate()
        else table[cols].to_string(index=False)
    )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
