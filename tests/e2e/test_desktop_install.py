"""Issue 22: what an installed studio carries and how the desktop knows it.

The wheel holds the demo runs, sources, icon and licences (the full install-and-run check, a fresh venv
running `studio doctor --json` and `studio gui --demo --screenshot` from the wheel, is `.ci/wheel_check`,
about 40 s); the window names its desktop entry and icon; the .desktop file and the AppStream metainfo
pass the freedesktop validators (apt desktop-file-utils and appstream, installed by .ci/run); an error
nobody caught in the window becomes a dialog naming the log file.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"

def _load(name: str):
    """A script from packaging/ as a module (without putting packaging/ on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_packaging_{name}", PACKAGING / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


wheel_check = _load("wheel_check")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return wheel_check.build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_carries_demo_runs_icon_and_licences(wheel):
    from studio.core.demo import shipped_runs

    names = set(zipfile.ZipFile(wheel).namelist())
    runs = shipped_runs()
    assert runs, "no demo runs in the checkout"
    for run in runs:  # every file of every shipped run, not just its folder
        for f in run.folder.rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                rel = f.relative_to(ROOT).as_posix()
                assert rel in names, f"{rel} is not in {wheel.name}"
    assert "studio/resources/demo/runs/index.json" in names
    assert "studio/resources/demo/sources/tiny-shakespeare.txt" in names
    assert "studio/resources/icons/generative-studio.svg" in names
    lic = {n.rsplit("/", 1)[-1] for n in names if ".dist-info/licenses/" in n}
    assert lic == {"LICENSE", "THIRD_PARTY_NOTICES"}
    assert not [n for n in names if n.startswith("studio/resources/") and n.endswith("__init__.py")]


def test_third_party_notices_name_what_the_bundle_redistributes():
    text = (ROOT / "THIRD_PARTY_NOTICES").read_text()
    for needle in ("ffmpeg", "GNU General Public License version 3", "TimGM6mb.sf2", "Qt", "Lesser General",
                   "PyTorch", "BSD-3-Clause"):
        assert needle in text, needle
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    spec = (PACKAGING / "studio.spec").read_text()
    assert '"THIRD_PARTY_NOTICES"' in spec and '"LICENSE"' in spec and "console=False" in spec


def test_resources_are_found_through_the_package():
    from studio.core import paths

    import studio

    assert paths.resources_dir() == Path(studio.__file__).parent / "resources"
    assert not (ROOT / "resources").exists(), "resources/ moved into studio/resources/"


# -- desktop identity --------------------------------------------------------------------------
def _desktop_file() -> Path:
    from studio.ui.app import APP_ID

    return PACKAGING / f"{APP_ID}.desktop"


def _metainfo() -> Path:
    from studio.ui.app import APP_ID

    return PACKAGING / f"{APP_ID}.metainfo.xml"


def test_window_names_its_desktop_entry_and_icon(qapp):
    from studio.ui.app import APP_ID, identify

    before = (qapp.applicationName(), qapp.organizationName(), qapp.desktopFileName(), qapp.windowIcon())
    identify(qapp)
    names = (qapp.applicationName(), qapp.desktopFileName())
    icon = qapp.windowIcon()
    qapp.setApplicationName(before[0]), qapp.setOrganizationName(before[1])  # the shared app as it was
    qapp.setDesktopFileName(before[2]), qapp.setWindowIcon(before[3])
    assert names == ("Generative Studio", APP_ID)
    assert _desktop_file().is_file()
    assert not icon.isNull() and not icon.pixmap(64, 64).isNull()
    assert APP_ID.count(".") >= 2 and " " not in APP_ID  # reverse-DNS


def test_metainfo_and_desktop_entry_agree():
    from studio.ui.app import APP_ID

    root = ET.parse(_metainfo()).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == _desktop_file().name
    assert root.findtext("project_license") == "MIT"
    entry = _desktop_file().read_text()
    assert "Exec=generative-studio %f" in entry and "Icon=generative-studio" in entry
    assert (PACKAGING / "icons" / "hicolor" / "256x256" / "apps" / "generative-studio.png").is_file()


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="apt desktop-file-utils (CI installs it)")
def test_desktop_file_validates():
    proc = subprocess.run(["desktop-file-validate", str(_desktop_file())], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error" not in proc.stdout.lower()


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="apt appstream (CI installs it)")
def test_metainfo_validates():
    proc = subprocess.run(["appstreamcli", "validate", "--no-net", str(_metainfo())], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the window's error hook -------------------------------------------------------------------
def test_uncaught_window_error_opens_a_dialog_naming_the_log(qapp, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from studio.ui import error_dialog

    log = tmp_path / "logs" / "studio.log"
    logged, shown = [], []
    monkeypatch.setattr(error_dialog, "log_path", lambda: log)
    monkeypatch.setattr(error_dialog, "log_uncaught", lambda *a, **k: logged.append(a[1]))
    monkeypatch.setattr(error_dialog, "can_show", lambda: True)

    def fake_exec(box):
        shown.append((box.text(), box.informativeText(), box.detailedText()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    error_dialog.install_gui_excepthook()
    try:
        raise ValueError("a panel tripped")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert logged and str(logged[0]) == "a panel tripped"
    (text, info, details), = shown
    assert "ValueError: a panel tripped" in text and str(log) in info
    assert "Traceback" in details and "test_uncaught_window_error" in details


def test_uncaught_window_error_offscreen_is_one_line(qapp, monkeypatch, capsys, tmp_path):
    from studio.ui import error_dialog

    monkeypatch.setattr(error_dialog, "log_uncaught", lambda *a, **k: None)
    monkeypatch.setattr(error_dialog, "where_to_look", lambda: f"the details are in {tmp_path / 'studio.log'}")
    error_dialog.show_error(RuntimeError("offscreen"), "Traceback ...")
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"studio gui: internal error (RuntimeError: offscreen); the details are in {tmp_path / 'studio.log'}"]


# -- the bundle's two executables ----------------------------------------------------------------
def test_bundle_launcher_routes_window_cli_and_trainer_child(tmp_path):
    launcher = _load("launcher")
    gui = launcher.bundle_argv
    assert gui([]) == ["gui"] and gui(["--demo"]) == ["gui", "--demo"]
    assert gui(["my-project/project.json"]) == ["gui", "my-project/project.json"]
    assert gui(["doctor", "--json"]) == ["doctor", "--json"] and gui(["--version"]) == ["--version"]
    assert gui(["completion", "bash"]) == ["completion", "bash"]
    assert gui(["-m", "studio", "train", "--out", "r"]) == ["train", "--out", "r"]  # the trainer child
    assert gui([], cli=True) == []  # the console `studio`: bare means "window if there is a display"
    # the windowed executable starts children with the console one beside it (it has a stdout)
    exe_suffix = ".exe" if sys.platform == "win32" else ""
    (tmp_path / f"studio{exe_suffix}").write_text("")
    assert launcher.console_sibling(str(tmp_path / f"generative-studio{exe_suffix}")) == str(tmp_path / f"studio{exe_suffix}")
    assert launcher.console_sibling(str(tmp_path / f"studio{exe_suffix}")) is None
