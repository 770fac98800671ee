"""Everything Dagster loads: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.automation import (
    inbox_sensor,
    nightly_schedule,
    pipeline_job,
    weekly_full_schedule,
)
from orchestration.identity import identity_checks, resolve_identities
from orchestration.landing import land_inbox, landing_checks
from orchestration.modeling import dbt_models, dbt_resource
from orchestration.resources import Dealer360, Spark

ASSETS = [land_inbox, resolve_identities, dbt_models]
CHECKS = [*landing_checks, *identity_checks]
RESOURCES = {"dealer360": Dealer360(), "spark": Spark(), "dbt": dbt_resource}

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[pipeline_job],
    schedules=[nightly_schedule, weekly_full_schedule],
    sensors=[inbox_sensor],
    resources=RESOURCES,
)
