"""SQLite backend (embedded files; pysqlite sync, aiosqlite async)."""
