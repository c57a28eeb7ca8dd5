"""MySQL (Oracle) backend; also the parent of the TiDB and MariaDB backends."""
