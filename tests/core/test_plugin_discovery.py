"""Plugins are found through entry points; broken ones are reported with their reason."""
import json
import os
import subprocess
import sys

import pytest

from studio.core.plugins import registry
from studio.core.plugins.api import ConfigError, config_from_dict, config_params
from tests.fixtures.external_plugin import GOOD_PLUGIN, RAISING_PLUGIN, write_distribution


@pytest.fixture
def external(tmp_path, monkeypatch):
    folder = write_distribution(tmp_path / "site", "studio-outside", {
        "outside": GOOD_PLUGIN.replace("{pid}", "outside"),
        "exploding": RAISING_PLUGIN,
        "misnamed": GOOD_PLUGIN.replace("{pid}", "another-id"),
    })
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    registry.discover(refresh=True)


def test_external_distribution_is_discovered(external):
    found = registry.discover(refresh=True)
    assert found["outside"].ok
    assert found["outside"].plugin.name == "Outside plugin"
    assert found["outside"].distribution == "studio-outside"


def test_plugin_raising_on_import_is_broken_with_its_message(external):
    found = registry.discover(refresh=True)
    entry = found["exploding"]
    assert entry.status == "broken"
    assert "deliberately broken" in entry.error
    with pytest.raises(registry.PluginNotFound, match="deliberately broken"):
        registry.get_plugin("exploding")


def test_entry_point_name_must_equal_plugin_id(external):
    entry = registry.discover(refresh=True)["misnamed"]
    assert entry.status == "broken" and "differs from plugin id" in entry.error


def test_unknown_plugin_lists_available(external):
    registry.discover(refresh=True)
    with pytest.raises(registry.PluginNotFound, match="outside"):
        registry.get_plugin("no-such-model")


def test_doctor_json_reports_broken_plugin_and_exits_zero(external):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(external), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-m", "studio", "doctor", "--json"], capture_output=True, text=True,
                         env=env, timeout=180)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    plugins = {p["id"]: p for p in info["plugins"]}
    assert plugins["exploding"]["status"] == "broken"
    assert "deliberately broken" in plugins["exploding"]["error"]
    assert plugins["outside"]["status"] == "ok"
    assert info["devices"][-1]["id"] == "cpu"
    for key in ("python", "torch", "onnxruntime", "qt", "audio"):
        assert key in info


def test_config_from_dict_coerces_and_validates(external):
    cfg_cls = registry.discover(refresh=True)["outside"].plugin.Config
    assert config_from_dict(cfg_cls, {"width": "16"}).width == 16
    with pytest.raises(ConfigError, match="above the maximum"):
        config_from_dict(cfg_cls, {"width": "1000"})
    with pytest.raises(ConfigError, match="unknown setting"):
        config_from_dict(cfg_cls, {"depth": 3})
    with pytest.raises(ConfigError, match="not a valid int"):
        config_from_dict(cfg_cls, {"width": "wide"})
    spec = config_params(cfg_cls)[0]
    assert (spec.label, spec.min, spec.max, spec.help) == ("Width", 1, 64, "hidden units")


def test_discovering_the_builtin_plugins_does_not_import_torch():
    """Discovery (``studio plugins``, the Models panel's list) stays cheap: a plugin's ``__init__``
    declares its Config and ``plugin`` and imports torch only in ``build`` (see the plugin guide)."""
    code = (
        "import json, sys\n"
        "from studio.core.plugins import registry\n"
        "found = registry.discover(refresh=True)\n"
        "builtin = {k: v.error for k, v in found.items() if v.source.startswith('studio_plugins.')}\n"
        "print(json.dumps({'builtin': builtin, 'torch': 'torch' in sys.modules}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert {"vae", "dcgan", "ddpm", "melody-rnn", "melody-vae", "char-rnn", "tiny-gpt"} <= set(info["builtin"])
    assert not any(info["builtin"].values()), info["builtin"]  # every built-in loads and validates
    assert info["torch"] is False, "discovering the built-in plugins imported torch"
