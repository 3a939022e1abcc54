"""Issue 22: the installed commands behave like desktop/CLI programs: --version everywhere, a bare `studio`
without a display says why (exit 2, no SIGABRT), shell completion and a man page from the parser, a log file
and a one-line report of an unexpected error, doctor naming ffmpeg and the SoundFont."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(tmp_path: Path, display: bool = False, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(STUDIO_CONFIG_DIR=str(tmp_path / "config"), STUDIO_DATA_DIR=str(tmp_path / "data"),
               OMP_NUM_THREADS="1", **extra)
    if display:
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _run(cmd, tmp_path, timeout=180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                          env=kw.pop("env", None) or _env(tmp_path), **kw)


def _entry_points() -> list[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*meta["scripts"], *meta["gui-scripts"]]


@pytest.mark.parametrize("name", _entry_points())
def test_every_entry_point_prints_its_version(name, tmp_path):
    from studio import __version__

    exe = BIN / name
    assert exe.exists(), f"{name} is in pyproject.toml but not installed in {BIN}"
    proc = _run([exe, "--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"generative-studio {__version__}"


def test_python_dash_m_studio_prints_its_version(tmp_path):
    proc = _run([sys.executable, "-m", "studio", "--version"], tmp_path)
    assert proc.returncode == 0 and "generative-studio" in proc.stdout, proc.stderr


def test_bare_studio_without_a_display_prints_help_and_why(tmp_path):
    proc = _run([BIN / "studio"], tmp_path, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # not 134 (SIGABRT from Qt)
    assert "usage: studio" in proc.stderr and "doctor" in proc.stderr  # the help, listing the commands
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("studio: no display") and "DISPLAY" in last
    assert "Traceback" not in proc.stderr


def test_gui_command_without_a_display_is_one_line(tmp_path):
    proc = _run([BIN / "studio", "gui", "--demo"], tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("studio gui: no display")


def test_generative_studio_help_is_the_window_help(tmp_path):
    proc = _run([BIN / "generative-studio", "--help"], tmp_path, timeout=60)
    assert proc.returncode == 0 and "--screenshot" in proc.stdout and "--demo" in proc.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_script_names_the_commands(shell, tmp_path):
    proc = _run([BIN / "studio", "completion", shell], tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    for word in ("doctor", "generate", "interpolate", "--screenshot", "--plugin"):
        assert word in script, f"{word} missing from the {shell} completion"
    checker = shutil.which(shell)
    if checker:  # the script must at least parse in its shell
        path = tmp_path / f"studio.{shell}"
        path.write_text(script)
        check = subprocess.run([checker, "-n", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr


def test_man_page_is_generated_from_the_parser(tmp_path):
    from studio.cli import COMMANDS

    out = tmp_path / "studio.1"
    proc = _run([sys.executable, ROOT / "packaging" / "make_manpage.py", "--out", out], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith(".TH STUDIO 1")
    for name in COMMANDS:
        assert f".SS studio {name.replace('-', chr(92) + '-')}" in text, name
    assert "\\-\\-screenshot" in text and "\\-\\-json" in text
    groff = shutil.which("groff")
    if groff:  # renders without roff warnings
        render = subprocess.run([groff, "-man", "-Tutf8", "-ww", str(out)], capture_output=True, text=True,
                                timeout=60)
        assert render.returncode == 0 and "warning" not in render.stderr.lower(), render.stderr
        assert "studio doctor" in render.stdout


def test_unexpected_error_is_one_line_naming_the_log_file(tmp_path):
    """An error no command expected: one line on stderr with the log file; the traceback is in that file."""
    code = ("import sys, studio.cli.doctor as d\n"
            "def boom(): raise RuntimeError('the probe exploded')\n"
            "d.collect = boom\n"
            "sys.argv = ['studio', 'doctor']\n"
            "from studio.cli import main\n"
            "sys.exit(main())\n")
    proc = _run([sys.executable, "-c", code], tmp_path, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    log = tmp_path / "data" / "logs" / "studio.log"
    assert lines[0] == f"studio: internal error (RuntimeError: the probe exploded); the details are in {log}"
    text = log.read_text()
    assert "Traceback" in text and "the probe exploded" in text and "def boom" not in proc.stderr


def test_log_dir_follows_the_overrides(tmp_path, monkeypatch):
    from studio.core import log_file

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("STUDIO_LOG_DIR", raising=False)
    assert log_file.log_dir() == tmp_path / "d" / "logs"
    monkeypatch.setenv("STUDIO_LOG_DIR", str(tmp_path / "l"))
    assert log_file.log_dir() == tmp_path / "l" and (tmp_path / "l").is_dir()


def test_doctor_names_ffmpeg_soundfont_demo_runs_and_log(tmp_path):
    proc = _run([BIN / "studio", "doctor", "--json"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    ff = info["ffmpeg"]
    assert ff["path"] and Path(ff["path"]).is_file() and ff["version"], ff
    version = subprocess.run([ff["path"], "-version"], capture_output=True, text=True, timeout=60).stdout
    assert ff["version"] in version.splitlines()[0]
    assert info["synth"]["engine"] in ("soundfont", "numpy")
    if info["synth"]["engine"] == "soundfont":
        assert Path(info["synth"]["soundfont"]).is_file()
    assert len(info["resources"]["demo_runs"]) >= 1
    assert info["log_file"] == str(tmp_path / "data" / "logs" / "studio.log")
    text = _run([BIN / "studio", "doctor"], tmp_path, timeout=300).stdout
    assert f"ffmpeg (MP4 export): {ff['version']} at {ff['path']}" in text
    assert "Melody synth:" in text and "Demo runs: " in text and "Log file: " in text


def test_without_ffmpeg_doctor_and_mp4_export_say_what_to_install(tmp_path):
    missing = tmp_path / "no-such-ffmpeg"
    env = _env(tmp_path, IMAGEIO_FFMPEG_EXE=str(missing))
    info = json.loads(_run([BIN / "studio", "doctor", "--json"], tmp_path, env=env, timeout=300).stdout)
    assert info["ffmpeg"]["path"] is None and "apt install ffmpeg" in info["ffmpeg"]["reason"]
    run = ROOT / "studio" / "resources" / "demo" / "runs" / "shapes-vae"
    proc = _run([BIN / "studio", "interpolate", "--run", run, "--steps", "3", "--out", tmp_path / "walk.mp4"],
                tmp_path, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"studio interpolate: ffmpeg {missing} does not exist"), lines
    assert "apt install ffmpeg" in lines[0] and "pip install" in lines[0]
    assert not list(tmp_path.glob("*walk*"))


def test_mp4_has_its_index_first_for_streaming(tmp_path):
    """-movflags +faststart: the moov box precedes mdat, so players start before the file has loaded."""
    import numpy as np

    from studio.core.export.video import save_mp4

    out = save_mp4(np.random.default_rng(0).integers(0, 255, (6, 16, 16, 3), dtype=np.uint8),
                   tmp_path / "walk.mp4", None)
    data = out.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        boxes.append(data[pos + 4:pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8:
            break
        pos += size
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_bare_studio_with_a_display_opens_the_window(monkeypatch):
    import studio.cli as cli
    import studio.ui.app as app

    opened = []
    monkeypatch.setattr(cli, "no_display_reason", lambda: None)
    monkeypatch.setattr(app, "run_gui", lambda **kw: opened.append(kw) or 0)
    assert cli.main([]) == 0
    assert opened and opened[0]["project_dir"] is None and opened[0]["demo"] is False
