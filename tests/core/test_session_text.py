"""TokenStream: any "continue" model writes text through the adapter; scoring only when declared."""
from __future__ import annotations

import pytest

from studio.core.plugins.api import DataSpec
from studio.core.session import NotATextModel, ScoringUnavailable, TokenStream


class Cycler:
    """A text model with only the documented methods: yields the ids after the last prime token, cycling."""

    def __init__(self, vocab):
        self.spec = DataSpec("text", vocab=list(vocab))
        self.calls = []

    def parameters(self):
        return iter(())

    def generate(self, prime_tokens, length, temperature=1.0, top_k=0, top_p=1.0, seed=0):
        self.calls.append((list(prime_tokens), length, temperature, top_k, top_p, seed))
        last = prime_tokens[-1]
        for i in range(length):
            yield (last + 1 + i) % len(self.spec.vocab)

    def token_nll(self, tokens):
        return 0.5 * (len(tokens) - 1)


def test_writes_characters_from_any_continue_model():
    model = Cycler("\nabc")
    stream = TokenStream(model, capabilities={"continue"})
    assert "".join(stream.continue_text("a?", 3, seed=2, temperature=0.5, top_k=0, top_p=1.0,
                                        repetition_penalty=1.0)) == "bc\n"
    assert model.calls[-1] == ([1], 3, 0.5, 0, 1.0, 2)  # "?" skipped; a neutral repetition penalty not passed
    assert "".join(stream.continue_text("", 2)) == "ab"  # no prime: a newline starts it
    assert stream.unknown("a?b!") == ["?", "!"]
    with stream.decoding():
        pass
    assert not stream.can_score and "score" in stream.score_unavailable
    with pytest.raises(ScoringUnavailable):
        stream.score_text("abc")


def test_scores_through_token_nll_when_declared():
    stream = TokenStream(Cycler("\nabc"), capabilities={"continue", "score"})
    r = stream.score_text("abca?")
    assert r["chars"] == 3 and r["nats_per_char"] == pytest.approx(0.5) and r["unknown"] == 1


def test_refuses_a_model_without_continue():
    with pytest.raises(NotATextModel):
        TokenStream(Cycler("ab"), capabilities={"score"})
    with pytest.raises(NotATextModel):
        TokenStream(Cycler(""), capabilities={"continue"})
