"""The tape in DuckDB: the validated tape, one bank's classified loans and originations, SQL helpers."""
