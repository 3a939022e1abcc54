"""Generative Studio: an offline desktop studio for small generative models."""

__version__ = "0.1.0"
