"""Fixtures for engine tests: toy plugins discoverable in-process and in child processes, tiny datasets."""
from __future__ import annotations

import pytest

from tests.fixtures.plugin_dist import child_env, install_in_process, write_plugin_distribution
from tests.fixtures.toy_plugins import data as toy_data
from tests.fixtures.threads import one_torch_thread  # noqa: F401 - autouse: torch at one thread


@pytest.fixture
def toys(tmp_path, monkeypatch):
    """The toy plugins registered through a real dist-info; yields the env for child processes."""
    folder = write_plugin_distribution(tmp_path / "site")
    install_in_process(monkeypatch, folder)
    yield child_env(folder)
    from studio.core.plugins import registry
    registry.discover(refresh=True)


@pytest.fixture
def image_ds(tmp_path):
    return toy_data.write_image_dataset(tmp_path / "images")


@pytest.fixture
def text_ds(tmp_path):
    return toy_data.write_text_dataset(tmp_path / "text")

