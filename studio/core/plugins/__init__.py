"""Plugin contract (``api``) and discovery (``registry``)."""
