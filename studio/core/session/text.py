"""``TokenStream``: characters in and out of any text model that declares the "continue" capability.

A text plugin implements only the documented API (``docs/plugin-guide.md``):

* ``continue`` - ``model.generate(prime_tokens, length, temperature=, top_k=, top_p=, seed=)``
  yields ``length`` token ids one at a time (``repetition_penalty=`` is passed only when it is
  not 1, so a model without that control still works until someone asks for it);
* ``score`` (optional) - ``model.token_nll(tokens)`` returns the summed surprise, in nats, of
  every token after the first given the ones before it.

The vocabulary is the dataset's (``DataSpec.vocab``, index -> character); the stream builds its
codec from it. A model that offers its own ``continue_text`` / ``score_text`` / ``decoding``
(the built-in char-rnn and tiny-gpt) is used through those, which give the same results.
"""
from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Any, Iterator

from studio.core.plugins.api import TextCodec
from studio.core.session.errors import MissingCapability

#: the sampling controls every "continue" model takes (``seed`` is passed on its own)
REQUIRED_CONTROLS = ("temperature", "top_k", "top_p")
#: optional controls and their neutral values: passed to ``generate`` only when they differ
OPTIONAL_CONTROLS = {"repetition_penalty": 1.0}


class NotATextModel(MissingCapability):
    """The model cannot write text through the plugin API (wrong modality or no "continue")."""

    def __init__(self, message: str):
        super().__init__(message, "continue")


class ScoringUnavailable(RuntimeError):
    """The model declares no way to measure how surprised it is by a text."""


class TokenStream:
    """Text generation (and scoring, when declared) for one text model.

    ``capabilities`` are the plugin's declared ones (``ModelPlugin.capabilities``); ``None``
    means undeclared (a model handed in by code, with no plugin), in which case the model's
    own methods decide. ``spec`` is the run's ``DataSpec`` (default: ``model.spec``).
    """

    def __init__(self, model: Any, *, capabilities: frozenset[str] | set[str] | None = None,
                 spec: Any = None, name: str = "model"):
        self.model = model
        self.name = name
        self.declared = capabilities is not None
        caps = frozenset(capabilities) if capabilities is not None else None
        own = getattr(model, "continue_text", None)
        if caps is not None and "continue" not in caps:
            raise NotATextModel(f"the {name} does not declare the \"continue\" capability, so it cannot write text")
        if caps is None and own is None and not callable(getattr(model, "generate", None)):
            raise NotATextModel(f"the {name} has neither generate() nor continue_text()")
        spec = spec if spec is not None else getattr(model, "spec", None)
        if spec is not None and getattr(spec, "modality", "text") != "text":
            raise NotATextModel(f"the {name} is a {spec.modality} model, not a text model")
        codec = getattr(model, "codec", None)
        if not isinstance(codec, TextCodec):
            vocab = list(getattr(spec, "vocab", None) or [])
            if not vocab:
                raise NotATextModel(f"the {name} has no text vocabulary (its dataset spec lists none)")
            codec = TextCodec(vocab)
        self.codec = codec
        self._own_continue = own
        own_score = getattr(model, "score_text", None)
        token_nll = getattr(model, "token_nll", None)
        if caps is None:  # undeclared: whatever the model offers
            self._own_score = own_score
            self._token_nll = token_nll
        elif "score" in caps:
            self._own_score = own_score
            self._token_nll = token_nll
            if own_score is None and token_nll is None:
                raise NotATextModel(f"the {name} declares \"score\" but has no token_nll()")
        else:
            self._own_score = self._token_nll = None

    @classmethod
    def for_model(cls, model: Any, plugin: Any = None) -> "TokenStream":
        """The stream of ``model`` as its ``plugin`` (a ``ModelPlugin``, or None) declares it."""
        if plugin is None:
            return cls(model)
        if getattr(plugin, "modality", "text") != "text":
            raise NotATextModel(f"the {plugin.name} of this run does not write text ({plugin.modality})")
        return cls(model, capabilities=plugin.capabilities, name=plugin.name)

    # -- what it offers ------------------------------------------------------
    @property
    def can_score(self) -> bool:
        return self._own_score is not None or self._token_nll is not None

    @property
    def score_unavailable(self) -> str:
        """Why the model cannot be scored, in words ('' when it can)."""
        if self.can_score:
            return ""
        return (f"The {self.name} does not declare the \"score\" capability (token_nll), so it cannot say "
                "how surprised it is by a text.")

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the model's vocabulary."""
        return self.codec.unknown(text)

    # -- generation ------------------------------------------------------------
    def decoding(self) -> AbstractContextManager:
        """Wrap generation on the calling thread (one torch thread for a small CPU model)."""
        own = getattr(self.model, "decoding", None)
        if callable(own):
            return own()
        from studio.core.plugins.model import small_model_decoding  # imports torch

        return small_model_decoding(self.model)

    def start_tokens(self, prime: str) -> list[int]:
        """The prime's token ids; with none, a newline (a paragraph's start) when the vocabulary has one."""
        tokens = self.codec.encode(prime)
        return tokens or [self.codec.index.get("\n", 0)]

    def continue_text(self, prime: str, length: int, seed: int = 0, **controls: Any) -> Iterator[str]:
        """Characters one at a time after ``prime`` (characters the vocabulary lacks are skipped)."""
        if self._own_continue is not None:
            yield from self._own_continue(prime, length, seed=seed, **controls)
            return
        unknown_controls = set(controls) - set(REQUIRED_CONTROLS) - set(OPTIONAL_CONTROLS)
        if unknown_controls:
            raise TypeError(f"unknown sampling controls {sorted(unknown_controls)}")
        kwargs = {k: controls[k] for k in REQUIRED_CONTROLS if k in controls}
        kwargs.update({k: controls[k] for k, neutral in OPTIONAL_CONTROLS.items()
                       if k in controls and controls[k] != neutral})
        vocab = self.codec.vocab
        tokens = self.model.generate(self.start_tokens(prime), int(length), seed=int(seed), **kwargs)
        try:
            for tok in tokens:
                t = int(tok)
                if not 0 <= t < len(vocab):
                    raise ValueError(f"the {self.name} produced token {t}, outside its vocabulary of {len(vocab)}")
                yield vocab[t]
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()

    def sample(self, n: int, seed: int = 0, length: int = 200, prime: str = "", **controls: Any) -> list[str]:
        """``n`` texts, each the prime followed by ``length`` characters; sample i uses seed ``seed + i``."""
        with self.decoding():
            return [prime + "".join(self.continue_text(prime, length, seed=seed + i, **controls))
                    for i in range(n)]

    # -- scoring -------------------------------------------------------------
    def score_text(self, text: str) -> dict[str, float]:
        """How surprised the model is by ``text``: nats/bits per character, perplexity, characters
        scored and characters skipped (``unknown``). Raises :class:`ScoringUnavailable` without "score"."""
        if self._own_score is not None:
            return dict(self._own_score(text))
        if self._token_nll is None:
            raise ScoringUnavailable(self.score_unavailable)
        tokens = self.codec.encode(text)
        unknown = sum(1 for ch in text if ch not in self.codec.index)
        if len(tokens) < 2:
            raise ValueError("need at least two characters the model knows to measure its surprise")
        with self.decoding():
            nats = float(self._token_nll(tokens)) / (len(tokens) - 1)
        return {"nats_per_char": nats, "bits_per_char": nats / math.log(2), "perplexity": math.exp(nats),
                "chars": float(len(tokens) - 1), "unknown": float(unknown)}
