"""Loading the data owner's files: read → normalise → validate (in DuckDB) → load whole or not at all."""
from stls.store.ingest.load import Report, import_file
from stls.store.ingest.schema import KINDS, detect_kind

__all__ = ["KINDS", "Report", "detect_kind", "import_file"]
