"""Shared by the text plugin tests: a one-thread torch and in-memory character datasets."""
from __future__ import annotations

import pytest
import torch

from studio.core.datasets import TrainingData
from studio.core.plugins.api import DataSpec


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def data_for(text: str, repeat: int) -> TrainingData:
    vocab = sorted(set(text))
    idx = {c: i for i, c in enumerate(vocab)}
    tokens = torch.tensor([idx[c] for c in text * repeat])
    return TrainingData.from_tensors(DataSpec(modality="text", vocab=vocab), tokens=tokens)
