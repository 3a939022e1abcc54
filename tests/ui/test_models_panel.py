"""Models panel driven like a user: a form generated from the plugin Config, broken plugins greyed with
their reason, datasets filtered by modality, devices listed, defaults + reset, and Start training."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from studio.core.devices import Accelerator
from studio.core.plugins.registry import PluginEntry
from studio.core.training.run_folder import read_run
from studio.ui.config_form import LogSpinBox
from tests.ui.screens import save_widget
from tests.ui.train_helpers import no_modal_dialogs, project, toys, train_ctx, wait_for  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def panel(qtbot, train_ctx):
    from studio.ui.panels.models import ModelsPanel

    plugins = dict(train_ctx.plugins)
    plugins["zz-broken"] = PluginEntry("zz-broken", "broken", error="ImportError: No module named 'missing_dep'")
    train_ctx.plugins = plugins
    w = ModelsPanel(train_ctx)
    train_ctx.set_plugins(plugins)
    train_ctx.set_devices([Accelerator("cpu", "cpu", "CPU: test, 2 cores"),
                           Accelerator("cuda:0", "cuda", "Test GPU", memory_bytes=8 * 2**30, bf16=True)])
    qtbot.addWidget(w)
    w.resize(460, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_form_choices_and_reset(qtbot, panel):
    combo = panel.plugins
    model = combo.model()
    rows = {model.item(i).data(): model.item(i) for i in range(model.rowCount())}
    assert {"toy-image", "toy-text", "zz-broken"} <= set(rows)
    assert not rows["zz-broken"].isEnabled() and "missing_dep" in rows["zz-broken"].toolTip()
    assert not combo.select("zz-broken")

    assert combo.select("toy-image")
    eds = panel.forms.plugin_form.editors
    assert isinstance(eds["hidden"], QSpinBox) and (eds["hidden"].minimum(), eds["hidden"].maximum()) == (1, 512)
    assert isinstance(eds["noise"], QDoubleSpinBox) and eds["noise"].value() == pytest.approx(0.1)
    assert "denoising noise" in eds["noise"].toolTip()
    eng = panel.forms.engine_form.editors
    assert isinstance(eng["lr"], LogSpinBox) and eng["lr"].value() == pytest.approx(0.01)  # the plugin's default
    assert eng["batch_size"].value() == 16
    assert isinstance(eng["optimizer"], QComboBox) and eng["optimizer"].count() >= 4
    assert isinstance(panel.forms.more_form.editors["nesterov"], QCheckBox)
    # log-scale stepping: one arrow step is a quarter decade
    eng["lr"].stepBy(4)
    assert eng["lr"].value() == pytest.approx(0.1)

    # datasets: only image ones usable for an image model
    ds = panel.datasets
    names = {ds.model().item(i).text(): ds.model().item(i) for i in range(ds.count())}
    assert names["blobs (image)"].isEnabled()
    assert not names["fox (text)"].isEnabled() and "trains on image" in names["fox (text)"].toolTip()
    assert ds.current_folder().name == "blobs"
    assert combo.select("toy-text")
    assert ds.current_folder().name == "fox"
    # no melody dataset in the project: Start stays off and says what is missing
    assert combo.select("toy-melody")
    assert ds.current_folder() is None and not panel.start_btn.isEnabled()
    assert "melody dataset" in panel.why.text()
    assert combo.select("toy-image")
    assert panel.start_btn.isEnabled() and panel.why.text() == ""

    devices = [panel.devices.itemText(i) for i in range(panel.devices.count())]
    assert devices[0].startswith("Auto") and any("Test GPU" in d and "8.0 GiB" in d for d in devices)

    eds = panel.forms.plugin_form.editors
    eds["hidden"].setValue(8)
    panel.forms.engine_form.editors["optimizer"].setCurrentText("sgd")
    assert panel.settings() == {"hidden": 8, "optimizer": "sgd"}
    qtbot.mouseClick(panel.reset_btn, Qt.MouseButton.LeftButton)
    assert panel.settings() == {} and eds["hidden"].value() == 16
    save_widget(panel, "models_panel")


def test_start_creates_a_run_in_the_project(qtbot, panel, train_ctx):
    started, selected = [], []
    train_ctx.run_started.connect(started.append)
    train_ctx.run_selected.connect(selected.append)
    assert panel.plugins.select("toy-image")
    panel.forms.plugin_form.set_values({"hidden": 8})
    panel.forms.engine_form.set_values({"lr": 0.02, "sample_every": 0, "checkpoint_every": 10})
    panel.forms.more_form.set_values({"val_every": 0})
    panel.length.setValue(20)
    panel.run_name.setText("my first run")
    qtbot.mouseClick(panel.start_btn, Qt.MouseButton.LeftButton)
    run_dir = train_ctx.project.runs_dir / "my-first-run"
    assert started == [str(run_dir)] and selected == [str(run_dir)]
    assert "runs/my-first-run" in train_ctx.project.runs
    assert "my-first-run" in (train_ctx.project.folder / "project.json").read_text()  # saved
    proc = panel.procs.get(run_dir)
    assert proc is not None
    status = proc.wait(timeout=120)
    assert status.state == "done", (status, proc.stderr_tail[-5:])
    run = read_run(run_dir)
    assert run["config"]["hidden"] == 8 and run["engine"]["lr"] == pytest.approx(0.02)
    assert run["max_steps"] == 20 and run["step"] == 20
    assert run["engine"]["checkpoint_every"] == 10 and run["engine"]["threads"] == 0  # the studio picks threads
    # a second start with the same name would get its own folder
    from studio.ui.panels.train_choices import new_run_dir
    assert new_run_dir(train_ctx.project.runs_dir, "my-first-run").name == "my-first-run-2"


def test_a_narrow_panel_wraps_its_forms_and_keeps_start_in_reach(qtbot, panel):
    from tests.e2e.window_fit_probe import cut_texts, sideways_scrolling

    assert panel.plugins.select("toy-image")
    panel.forms.more_box.setChecked(True)  # the long form too
    for width in (260, 330, 460):
        panel.resize(width, 420)
        qtbot.wait(50)
        assert not sideways_scrolling(panel), width
        assert not cut_texts(panel), (width, cut_texts(panel))
        # Start sits under the scrolling form, always on screen
        assert not panel.scroll.isAncestorOf(panel.start_btn)
        assert panel.start_btn.isVisible() and panel.start_btn.geometry().bottom() <= panel.height()
    assert panel.scroll.verticalScrollBar().maximum() > 0  # the form scrolls down, Start stays put
    panel.resize(260, 420)
    save_widget(panel, "models-panel-narrow")
