"""Export: media files that carry their recipe and the AI-generated disclosure; ONNX models.

Light at import time (no torch, no onnx): writers live in their own modules
(``images``, ``video``, ``audio``, ``midi``, ``text``), reading back in
``read``, ONNX in ``onnx_export`` / ``quantize`` / ``sessions``.
"""
from studio.core.export.naming import DEFAULT_PATTERN, OverwriteError, check_target, format_name, plan_paths
from studio.core.export.provenance import (DISCLOSURE, IPTC_DIGITAL_SOURCE_TYPE, ProvenanceError, apply_privacy,
                                           finalize, make_recipe, restore_spec)
from studio.core.export.read import read_provenance

__all__ = ["DEFAULT_PATTERN", "OverwriteError", "check_target", "format_name", "plan_paths", "DISCLOSURE",
           "IPTC_DIGITAL_SOURCE_TYPE", "ProvenanceError", "apply_privacy", "finalize", "make_recipe",
           "restore_spec", "read_provenance"]
