"""Landing, raw loading, publication and rollback of the DuckDB warehouse."""
