"""DesignSynapse knowledge service: collections of documents split into chunks with JSON
metadata and embeddings, stored in ``design_synapse_knowledge_db`` through tidb_compat."""
