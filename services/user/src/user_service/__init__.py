"""DesignSynapse user service: users, organisations, memberships, API keys and sessions,
stored in ``design_synapse_user_db`` through tidb_compat."""
