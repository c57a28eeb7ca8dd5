"""MariaDB backend (MySQL protocol; identified by ``MariaDB`` in the version string)."""
