"""Landing: CSV exports of the inbox into the raw schema, checked against the landing contract."""

from ingest.loader import load_file, load_inbox
from ingest.summary import FileResult, LoadSummary, SourceTotals

__all__ = ["FileResult", "LoadSummary", "SourceTotals", "load_file", "load_inbox"]
