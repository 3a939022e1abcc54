"""Why a session cannot give what was asked of it, in words that name the run and the capability."""
from __future__ import annotations


class MissingCapability(ValueError):
    """The run's plugin does not declare (or its model does not implement) a capability that was asked for."""

    def __init__(self, message: str, capability: str = ""):
        super().__init__(message)
        self.capability = capability
