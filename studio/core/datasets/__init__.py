"""Importers (images, music, text), the validation report, and cached training tensors."""
from studio.core.datasets.training_data import DatasetError, TrainingData, load_dataset

__all__ = ["DatasetError", "TrainingData", "load_dataset"]
