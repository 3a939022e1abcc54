"""Proof of equality (issue 18): a third-party melody plugin that implements only the documented API
installs, trains through `studio train`, generates through `studio generate` and through
``open_run(...).melody``, and exports MIDI and WAV with a recipe naming it.

The example (``examples/melody-plugin-example``, an order-2 Markov chain over melody events) is built
and installed with pip into a temporary folder (``tests/e2e/example_install.py``, as for the text
example). The CLI runs in a subprocess with that folder on ``PYTHONPATH``; for the in-process checks
the folder goes on ``sys.path`` and comes off again afterwards, so other tests never see the plugin.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from tests.e2e.example_install import importable, pip_install_example
from tests.fixtures.toy_plugins import data as toy_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "melody-plugin-example"
PLUGIN_ID = "example-melody-markov"
SPEC = toy_data.melody_spec()       # pitches 60..72: 15 event ids


def _studio(args, env, timeout=180):
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = pip_install_example(EXAMPLE, tmp_path_factory, "studio_melody_markov")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    with importable(target, "studio_melody_markov"):
        yield env


@pytest.fixture(scope="module")
def run(installed, tmp_path_factory):
    base = tmp_path_factory.mktemp("melody-plugin-run")
    data = toy_data.write_melody_dataset(base / "scales")
    out = base / "markov-run"
    proc = _studio(["train", "--plugin", PLUGIN_ID, "--data", data, "--out", out, "--steps", 60, "--device", "cpu",
                    "--json", "--set", "threads=1", "--set", "batch_size=8", "--set", "lr=0.1",
                    "--set", "smoothing=0.0"], installed)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "end" and events[-1]["status"] == "done", events[-1]
    losses = [e["metrics"]["loss"] for e in events if e["event"] == "step"]
    assert losses[-1] < losses[0] * 0.8, losses  # it learned something about the scales
    assert list((out / "checkpoints").glob("step-*.safetensors"))
    return out


def _midi_pitches(path: Path) -> list[int]:
    return [m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0]


def _event_pitches(events: list[int]) -> list[int]:
    from studio.core.plugins.api import events_to_notes

    return [n.pitch for n in events_to_notes(events, SPEC.min_pitch)]


def test_discovered_as_a_melody_plugin_that_uses_only_the_api(installed):
    from studio.core.plugins.registry import discover

    plugin = discover()[PLUGIN_ID].plugin
    assert plugin.modality == "melody" and plugin.capabilities == {"continue", "score"}
    for py in (EXAMPLE / "studio_melody_markov").glob("*.py"):
        studio_imports = [line for line in py.read_text().splitlines()
                          if line.split()[:2] and line.split()[0] in ("from", "import")
                          and line.split()[1].split(".")[0] == "studio"]
        assert all(line.split()[1] in ("studio.core.plugins.api", "studio.core.plugins.model")
                   for line in studio_imports), (py.name, studio_imports)
        assert "plugins." not in py.read_text().replace("studio.core.plugins.", "")


def test_open_run_gives_a_melody_sampler_and_a_scorer(run):
    from studio.core.export.provenance import sha256_file
    from studio.core.session import MissingCapability, open_run

    session = open_run(run)
    assert session.plugin.id == PLUGIN_ID and session.origin.run_dir == str(run.resolve())
    assert session.origin.checkpoint_sha256 == sha256_file(session.origin.checkpoint_path)
    assert session.origin.dataset.get("path", "").endswith("scales")
    melody = session.melody
    assert melody.mode == "continue" and melody.vocab == SPEC.vocab_size
    primer = [2, 1, 4, 1, 6, 1]  # C, D, E as eighth notes
    a = list(melody.continue_events(primer, 32, seed=5, temperature=0.5))
    assert a == list(melody.continue_events(primer, 32, seed=5, temperature=0.5))  # a seed gives one melody
    hot = [list(melody.continue_events(primer, 32, seed=s, temperature=3.0)) for s in (5, 6)]
    assert hot[0] != hot[1]  # seeds differ where the model is unsure
    assert len(a) == 32 and all(0 <= e < SPEC.vocab_size for e in a)
    # trained on rising scales with holds: a note is mostly followed by a hold
    assert sum(1 for x, y in zip(a, a[1:]) if x > 1 and y == 1) >= 8
    assert melody.variation(primer, 32, seed=5, temperature=0.5) == primer + a
    scale = [e for k in range(8) for e in (2 + k, 1)]
    shuffled = [e for k in (7, 0, 5, 2, 6, 1, 4, 3) for e in (2 + k, 1)]
    assert session.scorer.score(scale)["perplexity"] < session.scorer.score(shuffled)["perplexity"]
    with pytest.raises(MissingCapability, match=r"latent") as err:
        session.latent
    assert session.origin.run_id in str(err.value)


def test_studio_generate_writes_midi_and_wav_with_recipes(run, installed, tmp_path):
    from studio.core.export import read_provenance
    from studio.core.session import open_run

    out = tmp_path / "tunes"
    proc = _studio(["generate", "--run", run, "--out", out, "--n", 2, "--seed", 3, "--length", 32,
                    "--temperature", 0.5, "--json"], installed)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    files = [Path(f) for f in doc["files"]]
    assert [f.suffix for f in files] == [".mid", ".mid"] and doc["plugin"] == PLUGIN_ID
    recipe = read_provenance(files[1])
    assert recipe["plugin"]["id"] == PLUGIN_ID and recipe["seed"] == 3 and recipe["disclosure"] == "AI-generated"
    assert recipe["checkpoint"]["sha256"] == doc["checkpoint_sha256"]
    # what the CLI wrote is what the session's sampler writes for the same seeds
    melody = open_run(run).melody
    for i, f in enumerate(files):
        events = list(melody.continue_events([], 32, seed=3 + i, temperature=0.5))
        assert _midi_pitches(f) == _event_pitches(events)
    # the same seed gives the same bytes
    again = tmp_path / "again"
    assert _studio(["generate", "--run", run, "--out", again, "--n", 2, "--seed", 3, "--length", 32,
                    "--temperature", 0.5], installed).returncode == 0
    assert (again / files[0].name).read_bytes() == files[0].read_bytes()
    # a MIDI primer is continued, and audio carries the recipe too
    wav = tmp_path / "tune.wav"
    proc = _studio(["generate", "--run", run, "--out", wav, "--prime", files[0], "--length", 16, "--seed", 1],
                   installed)
    assert proc.returncode == 0, proc.stderr
    wav_recipe = read_provenance(wav)
    assert wav_recipe["plugin"]["id"] == PLUGIN_ID and wav_recipe["sampling"]["prime_events"]
    assert "synth" in wav_recipe


def test_generate_on_cuda_without_one_is_a_one_line_error(run, installed, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path needs one without")
    proc = _studio(["generate", "--run", run, "--out", tmp_path / "x.mid", "--device", "cuda"], installed)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--device cuda" in lines[0] and "cpu" in lines[0], proc.stderr
    assert not (tmp_path / "x.mid").exists()


def test_continues_a_primer_in_the_melody_panel(run, qtbot, tmp_path):
    """The Melody panel, through its public API only: opens the run, continues the primer before the
    selected bar with the plugin (as its declared "continue" says), and exports the result with its recipe."""
    from studio.core.export import read_provenance
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel

    panel = MelodyPanel(StudioContext())
    qtbot.addWidget(panel)
    panel.resize(1100, 520)
    panel.show()
    try:
        with qtbot.waitSignal(panel.jobs.model_loaded, timeout=60_000):
            panel.open_run(str(run))
        qtbot.waitUntil(lambda: panel.model is not None and not panel.loading(), timeout=10_000)
        assert "Melody Markov" in panel.model_label.text() and "continues the primer" in panel.model_label.text()
        assert panel.source["plugin_id"] == PLUGIN_ID and panel.source["checkpoint_sha256"]
        primer = [e for k in range(8) for e in (2 + k, 1)]  # one bar: a rising scale in eighth notes
        panel.set_events(primer + [0] * 16)
        panel.roll.select_bar(1)
        panel.variations.setValue(2)
        panel.bars.setValue(1)
        panel.temperature.setValue(0.5)
        panel.seed.setValue(4)
        got = []
        panel.jobs.variation.connect(lambda events, seed: got.append((events, seed)))
        with qtbot.waitSignal(panel.jobs.finished, timeout=60_000) as done:
            panel.generate()
        assert done.args == [False]
        assert [seed for _, seed in got] == [4, 5] and panel.var_list.count() == 2
        events, _ = got[0]
        assert events[:16] == primer and len(events) == 32
        # exactly what the session's sampler writes for that primer and seed
        from studio.core.session import open_run
        want = list(open_run(run).melody.continue_events(primer, 16, seed=4, temperature=0.5))
        assert events[16:] == want
        path = panel.export(tmp_path / "panel.mid")
        recipe = read_provenance(path)
        assert recipe["plugin"]["id"] == PLUGIN_ID and recipe["seed"] == 4
        exported = panel.events()
    finally:
        panel.shutdown()

    # dropping the file back: a fresh panel opens the exact checkpoint and gets the notes and seed back
    from studio.core.export import restore_spec
    from studio.ui.restore_recipe import Restore, locate

    restore = Restore(path, recipe, spec=restore_spec(recipe))
    locate(restore)
    request = restore.request()
    assert request.target == "melody" and request.checkpoint is not None and request.seed == 4
    fresh = MelodyPanel(StudioContext())
    qtbot.addWidget(fresh)
    fresh.show()
    try:
        with qtbot.waitSignal(fresh.jobs.model_loaded, timeout=60_000):
            fresh.restore_generation(request)
        qtbot.waitUntil(lambda: fresh.model is not None and not fresh.loading(), timeout=10_000)
        assert fresh.source["plugin_id"] == PLUGIN_ID and fresh.seed.value() == 4
        assert fresh.events() == exported and "Melody Markov" in fresh.model_label.text()
    finally:
        fresh.shutdown()
