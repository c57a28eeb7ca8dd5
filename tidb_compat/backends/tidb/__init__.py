"""TiDB backend (self-hosted and TiDB Cloud), identified by ``TiDB`` in the version string."""
