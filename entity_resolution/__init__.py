"""Entity resolution: one lifetime customer per real person across every dealer export.

Public API (the rest is internal):

- `resolve(engine) -> ResolveSummary`: read raw.*, write resolve.* (idempotent).
- `export_links(engine, out) -> int`: CSV `source,source_record_id,customer_id`.
- `check_cluster_sizes`, `share_linked`, `id_stability`: (passed, metadata) checks.

The matching rules live in `settings.py`; the stages in standardize → records →
blocking → comparisons → scoring → clustering → ids, wired by `engine.link` and
`pipeline.resolve`.
"""

from entity_resolution.checks import check_cluster_sizes, id_stability, share_linked
from entity_resolution.io import export_links
from entity_resolution.pipeline import RESOLVE_STEPS, ResolveSummary, resolve

__all__ = [
    "RESOLVE_STEPS",
    "ResolveSummary",
    "check_cluster_sizes",
    "export_links",
    "id_stability",
    "resolve",
    "share_linked",
]
