"""``MelodySampler``: melodies from any model whose plugin has the "melody" modality.

What a melody plugin implements (``docs/plugin-guide.md``), in event ids (``REST``, ``HOLD``, note-on
``2 + pitch - min_pitch``; the tables are in ``studio.core.plugins.api``):

* always ``sample(n, seed, length=, temperature=, top_k=, top_p=, prime=)`` -> long (n, L) events;
* ``continue`` - ``generate(prime_tokens, length, temperature=, top_k=, top_p=, seed=)`` yields event ids
  one at a time: the sampler continues a primer and streams (the Melody panel's progress and Stop);
* without ``continue`` a melody is whole phrases of ``sample`` chained to the length asked for (a
  latent model writes a phrase at a time and takes no primer).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from studio.core.plugins.api import ContinuingModel, vocab_size
from studio.core.session.errors import MissingCapability

#: what the sampler does with a request, in the words the Melody panel shows
MODES = {"continue": "continues your primer", "latent": "writes new phrases (no primer)",
         "sample": "writes new phrases"}


class MelodySampler:
    """Event sequences from one melody model, as its plugin declares it.

    ``capabilities`` ``None`` means undeclared (a model handed in by code, with no plugin): then the
    model's own methods decide, as for :class:`~studio.core.session.TokenStream`.
    """

    def __init__(self, model: Any, *, capabilities: frozenset[str] | set[str] | None = None,
                 spec: Any = None, name: str = "model"):
        self.model, self.name = model, name
        spec = spec if spec is not None else getattr(model, "spec", None)
        if spec is not None and getattr(spec, "modality", "melody") != "melody":
            raise MissingCapability(f"the {name} is a {spec.modality} model, not a melody model", "melody")
        self.spec = spec
        self.min_pitch = int(getattr(spec, "min_pitch", 0) or 36)
        self.max_pitch = int(getattr(spec, "max_pitch", 0) or 96)
        self.vocab = vocab_size(self.min_pitch, self.max_pitch)
        caps = frozenset(capabilities) if capabilities is not None else None
        has_generate = isinstance(model, ContinuingModel)
        if caps is None:
            self.can_continue = has_generate
            latent = callable(getattr(model, "decode", None))
        else:
            if "continue" in caps and not has_generate:
                raise MissingCapability(f"the {name} declares \"continue\" but its model has no generate()",
                                        "continue")
            self.can_continue = "continue" in caps
            latent = "latent" in caps
        self.mode = "continue" if self.can_continue else ("latent" if latent else "sample")

    @classmethod
    def for_model(cls, model: Any, plugin: Any = None) -> "MelodySampler":
        if plugin is None:
            return cls(model)
        if plugin.modality != "melody":
            raise MissingCapability(f"the {plugin.name} writes {plugin.modality}, not melodies", "melody")
        return cls(model, capabilities=plugin.capabilities, name=plugin.name)

    @property
    def describe(self) -> str:
        return MODES[self.mode]

    def _check(self, event: Any) -> int:
        e = int(event)
        if not 0 <= e < self.vocab:
            raise ValueError(f"the {self.name} produced event {e}, outside its {self.vocab} event ids")
        return e

    # -- streaming ------------------------------------------------------------------
    def continue_events(self, primer: list[int], length: int, seed: int = 0, temperature: float = 1.0,
                        top_k: int = 0, top_p: float = 1.0, **extra: Any) -> Iterator[int]:
        """``length`` events after ``primer``, one at a time (needs "continue")."""
        if not self.can_continue:
            raise MissingCapability(f"the {self.name} does not declare the \"continue\" capability, so it cannot "
                                    "continue a primer", "continue")
        kw = {k: v for k, v in extra.items() if not (k == "repetition_penalty" and v == 1.0)}
        tokens = self.model.generate(list(primer), int(length), temperature=temperature, top_k=top_k, top_p=top_p,
                                     seed=int(seed), **kw)
        try:
            for tok in tokens:
                yield self._check(tok)
        finally:
            close = getattr(tokens, "close", None)
            if close is not None:
                close()

    def phrases(self, length: int, seed: int = 0, temperature: float | None = None,
                stop: Callable[[], bool] | None = None) -> list[int]:
        """``length`` events from whole phrases of ``sample`` (seed ``seed*1000 + k`` for phrase k)."""
        import torch

        events: list[int] = []
        k = 0
        while len(events) < length and not (stop and stop()):
            kw = {} if temperature is None else {"temperature": temperature}
            with torch.no_grad():
                phrase = self.model.sample(1, seed=seed * 1000 + k, **kw)
            got = [self._check(e) for e in _rows(phrase)[0]]
            if not got:
                raise ValueError(f"the {self.name} wrote an empty phrase")
            events += got
            k += 1
        return events[:length]

    def variation(self, primer: list[int], length: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0, stop: Callable[[], bool] | None = None,
                  progress: Callable[[int], None] | None = None) -> list[int]:
        """One melody: the primer and ``length`` new events (continued when declared, else phrases)."""
        if not self.can_continue:
            return list(primer) + self.phrases(length, seed, temperature, stop)
        out: list[int] = []
        for tok in self.continue_events(primer, length, seed, temperature, top_k, top_p):
            out.append(tok)
            if progress is not None and len(out) % 8 == 0:
                progress(len(out))
            if stop is not None and stop():
                break
        return list(primer) + out

    # -- batch ------------------------------------------------------------------------
    def sample(self, n: int, seed: int = 0, **kw: Any) -> list[list[int]]:
        """``n`` melodies from the model's ``sample`` (what ``studio generate`` writes), as event lists."""
        import torch

        with torch.no_grad():
            return [[self._check(e) for e in row] for row in _rows(self.model.sample(int(n), int(seed), **kw))]


def _rows(samples: Any) -> list[list[int]]:
    if hasattr(samples, "tolist"):
        samples = samples.tolist()
    return [[int(e) for e in row] for row in samples]
