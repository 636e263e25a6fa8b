"""The data: the DuckDB file (schema, handle, safe swap), every SQL statement, protection of counts, imports, the demo,
published DfE figures and the app's own records."""
