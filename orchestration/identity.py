"""Identity resolution as Dagster assets: landed person records → one customer per person."""

import dagster as dg

import entity_resolution
from ingest.contract import SOURCES
from orchestration.automation import FULL_TAG
from orchestration.landing import raw_key
from orchestration.progress import stage_progress
from orchestration.resources import Dealer360, Spark

RESOLVE_TABLES = ("customer_source_map", "customer_id_history", "match_evidence", "review_queue")


def resolve_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["resolve", table])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            resolve_key(table),
            group_name="resolve",
            kinds={"python", "postgres"},
            deps=[raw_key(name) for name in SOURCES],
        )
        for table in RESOLVE_TABLES
    ],
    name="resolve_identities",
)
def resolve_identities(context: dg.AssetExecutionContext, dealer360: Dealer360, spark: Spark):
    """Standardize, block, score and cluster the landed person records into stable customers:
    the customers that new and changed records touch, or every record in a full run (a run
    tagged dealer360/full, or when the model must be learnt again). A full run's blocking,
    comparing and components run on the `spark` resource when the engine is spark."""
    steps = entity_resolution.RESOLVE_STEPS
    with (
        spark.match_backend(dealer360.matching(), context.log) as backend,
        stage_progress("resolving", len(steps), context.log, bar=dealer360.progress) as advance,
    ):
        started: list[str] = []

        def on_step(name: str) -> None:
            if started:  # the previous step is done
                advance(name)
            started.append(name)

        summary = entity_resolution.resolve(
            dealer360.engine(),
            on_step=on_step,
            backend=backend,
            full=context.run.tags.get(FULL_TAG) == "true",
        )
        advance(None)
    context.log.info(f"Resolve: {summary.mode} run, {summary.reason}.")
    context.log.info(str(summary))
    metadata = summary.as_metadata()
    for table in RESOLVE_TABLES:
        yield dg.MaterializeResult(asset_key=resolve_key(table), metadata=metadata)


def _as_check(name: str, description: str, function) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=resolve_key("customer_source_map"), name=name, description=description)
    def check(dealer360: Dealer360) -> dg.AssetCheckResult:
        passed, metadata = function(dealer360.engine())
        return dg.AssetCheckResult(passed=passed, metadata=metadata)

    return check


identity_checks = [
    _as_check(
        "no_giant_clusters",
        "No customer gathers implausibly many person records (a sign of chaining).",
        entity_resolution.check_cluster_sizes,
    ),
    _as_check(
        "share_of_records_linked",
        "The share of person records that share a customer with another record is plausible.",
        entity_resolution.share_linked,
    ),
    _as_check(
        "customer_ids_are_stable",
        "Records keep the customer ID they had on the previous run.",
        entity_resolution.id_stability,
    ),
]
