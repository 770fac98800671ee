"""Everything Dagster loads: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.automation import inbox_sensor, nightly_schedule, pipeline_job
from orchestration.identity import identity_checks, resolve_identities
from orchestration.landing import land_inbox, landing_checks
from orchestration.modeling import dbt_models, dbt_resource
from orchestration.resources import Dealer360

defs = dg.Definitions(
    assets=[land_inbox, resolve_identities, dbt_models],
    asset_checks=[*landing_checks, *identity_checks],
    jobs=[pipeline_job],
    schedules=[nightly_schedule],
    sensors=[inbox_sensor],
    resources={"dealer360": Dealer360(), "dbt": dbt_resource},
)
