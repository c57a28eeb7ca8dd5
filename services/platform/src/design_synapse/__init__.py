"""DesignSynapse platform: the three services brought up together (``design-synapse up``)."""

from __future__ import annotations

from knowledge_service.service import SPEC as KNOWLEDGE
from project_service.service import SPEC as PROJECT
from user_service.service import SPEC as USER

SERVICES = (USER, PROJECT, KNOWLEDGE)
"""The services in bring-up order."""
