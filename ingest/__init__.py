"""Landing: CSV exports of the inbox into the raw schema, checked against the landing contract.

`ingest.loader` lands files (`load_inbox`, `load_file`). This package imports nothing else:
the modules that read the landing contract (entity resolution, the generator, the
suppression check the loader itself imports) import `ingest.contract`, which runs this
file first, so importing the loader here would be an import cycle.
"""

from ingest.summary import FileResult, LoadSummary, SourceTotals

__all__ = ["FileResult", "LoadSummary", "SourceTotals"]
