"""The Melody and Text panels as a user meets them on a laptop, and as a restored file reaches them.

* A restore request (``ctx.restore_requested``) reaches only the panel it names, which puts the
  generation back (notes, seed, settings, prime) and opens the exact checkpoint that made it.
* The Melody panel moves its generate controls under the roll on a narrow dock and back beside it
  when there is room; neither panel asks more than 600 px of width.
* At every width a dock can give them (their minimum up to a full 1366 px screen), and in a real
  1366×768 window, no label, button or combo box text is cut.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from studio.core.audio.events import Note, notes_to_events
from tests.cut_text import cut_texts
from tests.ui.screens import save_widget


@pytest.fixture
def panels(qtbot, tmp_path, monkeypatch):
    """A Melody and a Text panel on one studio context, as in the window."""
    from studio.ui.context import StudioContext
    from studio.ui.panels.melody import MelodyPanel
    from studio.ui.panels.text import TextPanel

    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    ctx = StudioContext()
    melody, text = MelodyPanel(ctx), TextPanel(ctx)
    for w in (melody, text):
        qtbot.addWidget(w)
        w.resize(900, 600)
        w.show()
        qtbot.waitExposed(w)
    yield ctx, melody, text
    for w in (melody, text):
        w.shutdown()


def test_a_restore_request_reaches_only_the_panel_it_names(panels, tmp_path, monkeypatch):
    from studio.core.audio.midi import save_midi
    from studio.ui.restore_request import RestoreRequest

    ctx, melody, text = panels
    assert ctx.restore_targets == {"melody", "text"}       # both subscribed when they were built
    opened: list[tuple] = []
    for panel in (melody, text):
        monkeypatch.setattr(panel, "open_run", lambda run, checkpoint=None, p=panel: opened.append((p, run, checkpoint)))

    txt = tmp_path / "sample.txt"
    txt.write_text("the fox", encoding="utf-8")
    ctx.restore_requested.emit(RestoreRequest(
        target="text", file=txt, seed=7, sampling={"prime": "the ", "length": 42, "temperature": 0.6, "top_k": 4},
        run_dir=tmp_path / "run", checkpoint=tmp_path / "run" / "checkpoints" / "step-00000002.safetensors"))
    assert text.prime.toPlainText() == "the " and text.seed.value() == 7 and text.samples.value() == 1
    assert (text.length.value(), text.temperature.value(), text.top_k.value()) == (42, pytest.approx(0.6), 4)
    assert opened == [(text, str(tmp_path / "run"), str(tmp_path / "run" / "checkpoints" / "step-00000002.safetensors"))]
    assert melody.seed.value() == 0 and not melody.roll.notes        # not the Melody panel's request

    tune = [Note(60, 0, 4), Note(64, 4, 4), Note(67, 8, 8)]
    mid = save_midi(notes_to_events(tune), tmp_path / "tune.mid", bpm=96)
    source = {"plugin_id": "melody-rnn", "run_id": "abc", "checkpoint_step": 2}
    ctx.restore_requested.emit(RestoreRequest(target="melody", file=mid, seed=11,
                                              sampling={"temperature": 0.9, "top_k": 5, "length_bars": 2,
                                                        "primer_steps": 16}, source=source))
    assert melody.roll.notes == tune and melody.tempo.value() == 96
    assert (melody.seed.value(), melody.temperature.value(), melody.top_k.value()) == (11, pytest.approx(0.9), 5)
    assert melody.bars.value() == 2 and melody.bar.value() == 2
    assert melody.recipe()["seed"] == 11 and melody.recipe()["run"]["id"] == "abc"  # later exports name it
    assert len(opened) == 1                            # no run found: settings only, nothing opened
    assert text.seed.value() == 7                      # the Text panel kept what it had


def test_melody_controls_move_under_the_roll_when_narrow(qtbot, panels):
    _, melody, _ = panels

    def side_by_side() -> bool:
        box = melody.generate_box.mapTo(melody, melody.generate_box.rect().topLeft())
        roll = melody.roll.mapTo(melody, melody.roll.rect().bottomRight())
        return box.x() > roll.x()

    assert melody.minimumSizeHint().width() <= 600 and melody.minimumWidth() <= 600
    melody.resize(1200, 600)
    qtbot.waitUntil(lambda: not melody.split.narrow and side_by_side())
    save_widget(melody, "melody-panel-wide")
    melody.resize(600, 600)
    qtbot.waitUntil(lambda: melody.split.narrow)
    box = melody.generate_box.mapTo(melody, melody.generate_box.rect().topLeft())
    roll_bottom = melody.roll.mapTo(melody, melody.roll.rect().bottomLeft()).y()
    assert box.y() > roll_bottom and melody.generate_box.form.columns == 2   # under the roll, in two columns
    assert melody.var_list.mapTo(melody, melody.var_list.rect().topLeft()).x() > box.x()  # variations beside
    assert melody.gen_btn.isVisible() and melody.roll.height() > 100
    save_widget(melody, "melody-panel-narrow")
    melody.resize(1200, 600)
    qtbot.waitUntil(lambda: not melody.split.narrow and side_by_side())
    assert melody.generate_box.form.columns == 1


def test_text_settings_wrap_and_samples_stack_when_narrow(qtbot, panels):
    _, _, text = panels
    assert text.minimumSizeHint().width() <= 600
    settings = text.length.parent()  # the grid of label/box pairs
    text.samples.setValue(4)
    text.resize(1300, 600)
    qtbot.waitUntil(lambda: text.columns.orientation() == Qt.Orientation.Horizontal)
    wide_columns = settings.columns
    assert wide_columns >= 3
    text.resize(560, 600)
    qtbot.waitUntil(lambda: text.columns.orientation() == Qt.Orientation.Vertical)  # four samples: stacked
    assert settings.columns < wide_columns                             # the settings wrapped into more rows
    assert text.placement.width() >= text.placement.sizeHint().width()  # "Save settings in" is never cut


@pytest.mark.parametrize("key", ["melody", "text"])
def test_no_text_is_cut_at_any_width_a_dock_gives(qtbot, panels, key):
    from studio.ui.panels.melody import demo_notes

    _, melody, text = panels
    panel = {"melody": melody, "text": text}[key]
    if key == "melody":
        melody.roll.apply(demo_notes(), "demo")
    else:
        text.samples.setValue(4)
    lowest = panel.minimumSizeHint().width()
    assert lowest <= 600
    for width in [lowest, *range(600, 1400, 50)]:
        panel.resize(width, 560)
        qtbot.wait(10)
        assert cut_texts(panel) == [], f"at {panel.width()} px"


def test_no_text_is_cut_in_a_1366x768_window(make_studio_window):
    win = make_studio_window(discover=False)
    win.resize(1366, 768)
    for key in ("melody", "text"):
        dock = win.docks[key]
        dock.show()
        dock.raise_()
        win.repaint()
        panel = win.panels[key]
        assert panel.width() >= panel.minimumSizeHint().width()
        assert cut_texts(panel) == [], f"{key} at {panel.width()} px in a {win.width()} px window"
        save_widget(panel, f"{key}-panel-1366")


def test_a_dropped_file_reaches_the_text_panel_as_one_typed_request(make_studio_window, tmp_path, qtbot,
                                                                    monkeypatch):
    """The drop code does not call panel methods: it emits ctx.restore_requested, and the Text panel takes it."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from studio.core.export.text import save_text
    from studio.ui.restore_dialog import RestoreDialog
    from studio.ui.restore_request import RestoreRequest

    recipe = {"modality": "text", "plugin": {"id": "char-rnn", "version": "1"}, "seed": 3,
              "batch": {"n": 2, "index": 1}, "sampling": {"prime": "hello ", "length": 25, "temperature": 0.5}}
    txt = save_text("hello world", tmp_path / "sample.txt", recipe)
    monkeypatch.setattr(RestoreDialog, "exec", lambda dialog: dialog.restore_btn.click() or dialog.result())
    win = make_studio_window(discover=False)
    sent: list = []
    win.ctx.restore_requested.connect(sent.append)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(txt))])
    enter = QDragEnterEvent(QPoint(win.width() // 2, 12), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    QApplication.sendEvent(win, QDropEvent(QPointF(win.width() / 2, 12), Qt.DropAction.CopyAction, mime,
                                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: win.restore_drop.last is not None, timeout=10_000)
    [request] = sent
    assert isinstance(request, RestoreRequest) and request.target == "text" and request.file == txt
    assert request.seed == 4 and request.prime == "hello " and request.run_dir is None  # sample 2: seed 3 + 1
    text = win.panels["text"]
    assert text.prime.toPlainText() == "hello " and text.seed.value() == 4 and text.length.value() == 25
    assert text.temperature.value() == pytest.approx(0.5) and text.samples.value() == 1
    assert win.panels["melody"].seed.value() == 0                     # the other panels kept theirs
    assert not win.docks["text"].isHidden()                           # and the Text panel is shown
