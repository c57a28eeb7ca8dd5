"""The backend contract: every vendor package overrides these classes.

``base.DatabaseBackend`` wires one collaborator per concern, in the manner of Django's
``db/backends/base``: ``features`` (capability flags), ``driver`` (driver choice, pool
defaults, connect arguments), ``ops`` (per-connection session setup), ``errors`` (error
classification) and ``provisioning`` (SQL to create databases and accounts).
"""
