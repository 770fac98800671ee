"""Landing as Dagster assets: one asset per source of the landing contract, with checks."""

import dagster as dg
import sqlalchemy as sa

from ingest.contract import SOURCES
from ingest.loader import load_inbox
from orchestration.resources import Dealer360

MAX_QUARANTINE_RATE = 0.05


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            raw_key(name),
            group_name="land",
            kinds={"postgres"},
            description=f"Rows of the inbox's {name}/ files, one per source_record_id, as the landing contract says.",
        )
        for name in SOURCES
    ],
    name="land_inbox",
)
def land_inbox(context: dg.AssetExecutionContext, dealer360: Dealer360):
    """Load every new or changed CSV of the inbox; bad files and rows are recorded, not raised.

    The five sources land together: a file's source is its sub-folder, and one pass over the
    inbox decides the order in which files load (which file is "newer").
    """
    summary = load_inbox(
        dealer360.engine(),
        dealer360.inbox_path(),
        progress=dealer360.progress,
        log_progress=context.log.info,
    )
    for name, totals in summary.by_source.items():
        metadata = {k: v for k, v in vars(totals).items() if k != "source"}
        metadata["rows_loaded"] = totals.rows_loaded
        rejected = [
            f"{f.file_name}: {f.message}"
            for f in summary.files
            if f.source == name and f.status == "rejected"
        ]
        if rejected:
            metadata["rejected_files"] = dg.MetadataValue.md("\n".join(f"- {r}" for r in rejected))
        yield dg.MaterializeResult(asset_key=raw_key(name), metadata=metadata)
    context.log.info(
        f"landed {len(summary.files)} file(s) from {summary.inbox} in {summary.seconds:.1f} s"
    )


def _quarantine_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(source),
        name="quarantine_rate_is_low",
        description=f"At most {MAX_QUARANTINE_RATE:.0%} of the {source} rows read were quarantined.",
    )
    def check(dealer360: Dealer360) -> dg.AssetCheckResult:
        with dealer360.engine().connect() as conn:
            loaded, quarantined = conn.execute(
                sa.text(
                    "select (select count(*) from raw." + source + "),"
                    " (select count(*) from raw.quarantine where source = :s)"
                ),
                {"s": source},
            ).one()
        total = loaded + quarantined
        rate = quarantined / total if total else 0.0
        return dg.AssetCheckResult(
            passed=rate <= MAX_QUARANTINE_RATE,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": loaded, "quarantined": quarantined, "rate": round(rate, 4)},
        )

    return check


def _dealer_codes_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(source),
        name="dealer_codes_are_known",
        additional_deps=[raw_key("dealers")],
        description=f"Every dealer_code in raw.{source} is in raw.dealers.",
    )
    def check(dealer360: Dealer360) -> dg.AssetCheckResult:
        with dealer360.engine().connect() as conn:
            unknown = conn.execute(
                sa.text(
                    f"select s.dealer_code, count(*) from raw.{source} s"
                    " left join raw.dealers d using (dealer_code)"
                    " where d.dealer_code is null group by s.dealer_code order by 2 desc limit 20"
                )
            ).all()
        return dg.AssetCheckResult(
            passed=not unknown,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"unknown_dealer_codes": {code: n for code, n in unknown}},
        )

    return check


landing_checks = [_quarantine_check(name) for name in SOURCES] + [
    _dealer_codes_check(name)
    for name, source in SOURCES.items()
    if name != "dealers" and "dealer_code" in source.column_names
]
