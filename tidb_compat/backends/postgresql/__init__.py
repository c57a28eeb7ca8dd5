"""PostgreSQL backend (psycopg 3, sync and async)."""
