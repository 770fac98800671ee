"""dealer360's matching engine against Splink 5 (DuckDB backend) on the same inbox.

    .venv/bin/python benchmarks/er_vs_splink.py --people 30000 --seed 42

Both start from the same standardized person records (`entity_resolution.records`, so
the columns are equally clean) and are timed from there to clusters: dealer360's
`engine.link` versus Splink's training (u by random sampling, m by EM on two blocking
rules, prior from deterministic rules), prediction and clustering at 0.95. Each system
runs in its own process so peak memory (max RSS) is its own. Quality is pairwise
precision/recall/F1 against the generator's truth.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from er_quality import generated, read_inbox  # noqa: E402

from entity_resolution.evaluation import quality  # noqa: E402
from entity_resolution.records import PERSON_SOURCES, person_records  # noqa: E402
from entity_resolution.settings import DEALER, DEALER_PREP  # noqa: E402

_COLUMNS = [
    "first_name",
    "last_name",
    "company",
    "birth_date",
    "phone",
    "email",
    "street",
    "postal_code",
    "fsa",
    "vin_epoch",
]


def _records(inbox: Path) -> tuple[pd.DataFrame, pd.Series]:
    raw = read_inbox(inbox)
    persons = {s: raw[s] for s in PERSON_SOURCES if s in raw}
    records = person_records(persons, raw.get("dealers"), DEALER_PREP)
    truth = pd.read_csv(inbox / "truth.csv", dtype="string")
    labelled = records[["source", "source_record_id"]].merge(
        truth, on=["source", "source_record_id"], how="left"
    )
    return records, labelled["person_id"]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dealer360(inbox: Path) -> dict:
    from entity_resolution.engine import link

    records, truth = _records(inbox)
    started = time.perf_counter()
    result = link(records, DEALER)
    seconds = time.perf_counter() - started
    q = quality(result.record_cluster, truth.to_numpy())
    return {
        "system": "dealer360",
        "seconds": round(seconds, 1),
        **_q(q),
        "peak_mib": round(_peak_mib()),
    }


def run_splink(inbox: Path) -> dict:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    records, truth = _records(inbox)
    frame = records[_COLUMNS].astype(object).where(records[_COLUMNS].notna(), None)
    frame.insert(0, "unique_id", range(len(frame)))
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("vin_epoch"),
            block_on("first_name", "last_name", "fsa"),
            block_on("last_name", "birth_date"),
            block_on("last_name", "street"),
            block_on("company"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("company"),
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.ExactMatch("street").configure(term_frequency_adjustments=True),
            cl.PostcodeComparison("postal_code"),
            cl.ExactMatch("vin_epoch"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "last_name"), block_on("email")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    label = clusters.set_index("unique_id")["cluster_id"].reindex(range(len(frame))).to_numpy()
    q = quality(label, truth.to_numpy())
    return {
        "system": "splink 5 (duckdb)",
        "seconds": round(seconds, 1),
        **_q(q),
        "peak_mib": round(_peak_mib()),
    }


def _q(q) -> dict:
    return {"precision": round(q.precision, 4), "recall": round(q.recall, 4), "f1": round(q.f1, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "er_quality")
    parser.add_argument("--only", choices=["dealer360", "splink"])
    parser.add_argument("--inbox", type=Path)
    args = parser.parse_args()
    if args.only:
        runner = run_dealer360 if args.only == "dealer360" else run_splink
        print(json.dumps(runner(args.inbox)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    inbox = generated(args.people, args.seed, 1.0, args.workdir)
    rows = []
    for system in ("dealer360", "splink"):
        out = subprocess.run(
            [sys.executable, __file__, "--only", system, "--inbox", str(inbox)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    ratio = rows[1]["seconds"] / rows[0]["seconds"] if rows[0]["seconds"] else float("nan")
    print(f"Splink / dealer360 wall-time ratio: {ratio:.1f}")


if __name__ == "__main__":
    main()
