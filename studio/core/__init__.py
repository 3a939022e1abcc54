"""The studio's engine. Nothing below this package may import Qt (see pyproject's import-linter contract)."""
