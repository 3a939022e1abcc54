"""The model session layer between plugins and panels (no Qt): typed adapters that let a panel use
any plugin's model through the documented plugin API, chosen from the plugin's declared capabilities.

So far: :class:`TokenStream` for text models (issue 18).
"""
from studio.core.session.text import NotATextModel, ScoringUnavailable, TokenStream

__all__ = ["NotATextModel", "ScoringUnavailable", "TokenStream"]
