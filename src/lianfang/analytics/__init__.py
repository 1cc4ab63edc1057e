"""Analytics over Apache Arrow tables with DuckDB; nothing here imports Django."""
