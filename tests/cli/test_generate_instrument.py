"""`studio generate --program`: the instrument reaches the MIDI file, the audio and the recipe;
`--program list` shows the names; `studio doctor` names the synth and the SoundFont."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest

from studio.cli import main
from studio.core.audio import soundfont
from studio.core.export import read_provenance

pytest.importorskip("studio.core.training.checkpoints", reason="the engine's load_model is not there yet")


@pytest.fixture(scope="module")
def melody_run(tmp_path_factory):
    from tests.fixtures.session_runs import untrained_run as make_run
    return make_run(tmp_path_factory.mktemp("runs") / "melody-rnn", "melody-rnn")


@pytest.fixture(autouse=True)
def own_preferences(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(soundfont, "_reported", set())


def cli(*argv) -> int:
    return main([str(a) for a in argv])


def test_program_by_name_goes_into_midi_audio_and_recipe(melody_run, tmp_path):
    sf = pytest.importorskip("soundfile")
    common = ("generate", "--run", melody_run, "--length", 32, "--seed", 3)
    assert cli(*common, "--program", "Flute", "--format", "mid", "--out", tmp_path / "flute.mid") == 0
    changes = [m for m in mido.MidiFile(tmp_path / "flute.mid").tracks[0] if m.type == "program_change"]
    assert [m.program for m in changes] == [73]
    recipe = read_provenance(tmp_path / "flute.mid")
    assert recipe["program"] == 73 and recipe["instrument"] == "Flute"

    assert cli(*common, "--program", "flute", "--format", "wav", "--out", tmp_path / "flute.wav") == 0
    assert cli(*common, "--program", "40", "--out", tmp_path / "violin.wav") == 0
    recipe = read_provenance(tmp_path / "flute.wav")
    assert recipe["program"] == 73 and recipe["synth"]["engine"] == "soundfont"
    assert recipe["synth"]["instrument"] == "Flute" and recipe["synth"]["soundfont"] == "TimGM6mb.sf2"
    assert read_provenance(tmp_path / "violin.wav")["instrument"] == "Violin"
    flute, sr = sf.read(str(tmp_path / "flute.wav"))
    violin, _ = sf.read(str(tmp_path / "violin.wav"))
    assert sr == 44100 and np.abs(flute).max() > 0.1 and len(flute) == len(violin)
    assert np.abs(flute - violin).max() > 0.1  # the same notes, another instrument


def test_unknown_or_misplaced_program_is_a_clear_error(melody_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli("generate", "--run", melody_run, "--out", tmp_path / "x.mid", "--program", "Kazoo")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown instrument 'Kazoo'" in err and "--program list" in err
    assert not (tmp_path / "x.mid").exists()
    with pytest.raises(SystemExit) as exit_:
        cli("generate", "--program", "list")  # no --run/--out needed to see the names
    assert exit_.value.code == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 128 and out[73].split(None, 1) == ["73", "Flute"] and out[40].endswith("Violin")
    from tests.fixtures.session_runs import untrained_run as make_run
    images = make_run(tmp_path / "vae", "vae")
    assert cli("generate", "--run", images, "--out", tmp_path / "x.png", "--program", "Flute") == 2
    assert "makes image, not melodies" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_doctor_names_the_synth_and_soundfont(tmp_path, capsys):
    assert cli("doctor", "--json") == 0
    synth = json.loads(capsys.readouterr().out)["synth"]
    assert synth["engine"] == "soundfont" and synth["source"] == "built-in"
    assert synth["soundfont"].endswith("TimGM6mb.sf2") and synth["tinysoundfont"] != "missing"
    assert cli("doctor") == 0
    assert "Melody synth: SoundFont " in capsys.readouterr().out

    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"not a soundfont")
    (tmp_path / "config" / soundfont.PREFS_FILE).write_text(json.dumps({"soundfont": str(bad)}))
    assert cli("doctor", "--json") == 0
    synth = json.loads(capsys.readouterr().out)["synth"]
    assert synth["source"] == "built-in" and "broken.sf2: not a SoundFont 2 file" in synth["notes"][0]
    assert cli("doctor") == 0
    out = capsys.readouterr().out
    assert "note: " in out and "broken.sf2" in out
