"""The model session layer between plugins and front ends (no Qt).

``open_run(run_dir, checkpoint=None, device="cpu")`` returns a :class:`ModelSession`: the plugin, the
model, where it came from (:class:`RunOrigin`: run, checkpoint, its sha256, dataset) and typed
adapters chosen from the plugin's declared capabilities - ``session.latent``
(:class:`LatentDecoder`), ``session.text`` (:class:`TokenStream`), ``session.melody``
(:class:`MelodySampler`), ``session.scorer`` (:class:`Scorer`). An adapter the plugin does not
declare raises :class:`MissingCapability` naming the run and the capability (issue 18).
"""
from studio.core.session.errors import MissingCapability
from studio.core.session.latent import LatentDecoder
from studio.core.session.melody import MelodySampler
from studio.core.session.model_session import ModelSession, RunOrigin, open_run, resolve_device
from studio.core.session.scorer import Scorer
from studio.core.session.text import NotATextModel, ScoringUnavailable, TokenStream

__all__ = ["LatentDecoder", "MelodySampler", "MissingCapability", "ModelSession", "NotATextModel", "RunOrigin",
           "Scorer", "ScoringUnavailable", "TokenStream", "open_run", "resolve_device"]
