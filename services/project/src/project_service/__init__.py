"""DesignSynapse project service: projects, members, designs with versioned JSON documents
and comments, stored in ``design_synapse_project_db`` through tidb_compat."""
