"""Texts that must fit a narrow place (the status bar, a combo box in a laptop-sized dock)."""
from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the full text belongs in a tooltip)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,(") + "…"
