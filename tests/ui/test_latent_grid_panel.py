"""The latent grid panel driven like a user: drag, wheel, click, shift-click, right-click, paths, export."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.core.project import Project
from tests.ui.latent_doubles import TinyImageModel, TinyMelodyModel
from tests.ui.latent_pointer import L, NB, NOMOD, R, SHIFT, centre_of, click, drag, make_panel, mouse
from tests.ui.screens import save_widget

torch.set_num_threads(1)


@pytest.fixture
def ctx(tmp_path):
    from studio.ui.context import StudioContext

    return StudioContext(project=Project.create(tmp_path / "proj"))


@pytest.fixture
def panel(qtbot, ctx):
    p = make_panel(qtbot, ctx, TinyImageModel())
    yield p
    p.shutdown()


def test_empty_state_before_a_model(qtbot, ctx):
    from studio.ui.panels.latent_grid import LatentGridPanel

    p = LatentGridPanel(ctx)
    qtbot.addWidget(p)
    assert p.view.plane is None and "Open a trained model" in p.view.empty_text
    assert all(w.toolTip() for w in (p.plane_kind, p.rows, p.cols, p.method, p.steps, p.spread, p.follow, p.quick,
                                     p.export_btn, p.path_mode, p.view))
    p.shutdown()


def test_drag_pans_the_plane_and_decodes_the_new_cells(qtbot, panel):
    view = panel.view
    before_centre, before_keys = view.centre, set(view.visible_keys())
    tile_before = view.cache[(0, 0)][0].copy()
    width = view._target.width()
    drag(view, QPointF(500, 300), QPointF(500 - width / 4, 300))          # a quarter of the grid to the left
    assert view.centre[0] == pytest.approx(before_centre[0] + view.cols / 4, abs=0.05)
    assert view.centre[1] == pytest.approx(before_centre[1])
    assert view.selection is None                                          # a drag is not a click
    qtbot.waitUntil(view.complete, timeout=10_000)
    new_keys = set(view.visible_keys()) - before_keys
    assert new_keys and all(k in view.cache for k in new_keys)
    np.testing.assert_array_equal(view.cache[(0, 0)][0], tile_before)     # same lattice: cells are reused
    assert view.paint_log and view.paint_log[-1][1] == view.input_seq


def test_wheel_zooms_the_step_and_keeps_the_centre(qtbot, panel):
    view = panel.view
    step, gen, plane_centre = view.step, view.generation, view.plane_centre()
    pos = QPointF(400, 300)
    ev = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(), QPoint(0, 120), NB, NOMOD, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, ev)
    assert view.step == pytest.approx(step * 0.85)
    assert view.generation == gen + 1
    assert view.plane_centre() == pytest.approx(plane_centre)
    qtbot.waitUntil(view.complete, timeout=10_000)


def test_click_selects_and_shift_click_sets_corners(qtbot, panel):
    view = panel.view
    click(view, centre_of(view, (1, -2)))
    assert view.selection[1] == (1, -2)
    np.testing.assert_allclose(panel.selected_vector(), view.plane.point(1 * view.step, -2 * view.step), atol=1e-6)
    assert "cell 1, -2" in panel.preview.caption
    chosen = []
    for key in [(-3, -3), (2, -3), (-3, 2), (2, 2)]:
        chosen.append(view.vector_at(key))
        click(view, centre_of(view, key), mods=SHIFT)
    assert panel.plane_kind.currentData() == "corners" and view.plane.kind == "corners"
    assert panel.corner_label.text() == "Corners 4/4"
    last = view.cols - 1
    np.testing.assert_allclose(view.vector_at((0, 0)), chosen[0], atol=1e-5)
    np.testing.assert_allclose(view.vector_at((last, 0)), chosen[1], atol=1e-5)
    np.testing.assert_allclose(view.vector_at((last, view.rows - 1)), chosen[3], atol=1e-5)
    assert (0, 0) in view.visible_keys() and (last, view.rows - 1) in view.visible_keys()


def test_right_click_menu_bookmark_breed_copy_and_project_round_trip(qtbot, panel, ctx, tmp_path):
    view = panel.view
    with qtbot.waitSignal(view.context_requested) as sig:
        click(view, centre_of(view, (2, 1)), button=R)
    key, vec = sig.args[0], sig.args[1]
    assert key == (2, 1)
    menu = panel.build_context_menu(key, vec)
    actions = {a.text(): a for a in menu.actions()}
    assert {"Bookmark", "Use as corner", "Centre here", "Copy seed and vector"} <= set(actions)
    actions["Bookmark"].trigger()
    assert len(ctx.project.bookmarks) == 1 and ctx.project.bookmarks[0]["thumbnail"]
    assert panel.bookmarks.list.count() == 1 and not panel.bookmarks.list.item(0).icon().isNull()
    reopened = Project.open(ctx.project.folder)                       # saved with the project
    bm = reopened.bookmarks[0]
    np.testing.assert_allclose(bm["vector"], vec, atol=1e-6)
    assert bm["plugin"] == "tiny" and bm["checkpoint"] == "step-1.safetensors" and bm["run"] == "runs/tiny"
    actions["Copy seed and vector"].trigger()
    copied = json.loads(QGuiApplication.clipboard().text())
    np.testing.assert_allclose(copied["vector"], vec, atol=1e-5)
    assert copied["cell"] == [2, 1]
    panel.spread.setValue(0.3)
    next(a for a in menu.actions() if a.text().startswith("Breed")).trigger()
    assert view.step == pytest.approx(0.3)
    np.testing.assert_allclose(view.vector_at((0, 0)), vec, atol=1e-5)   # the parent sits in the grid
    qtbot.waitUntil(view.complete, timeout=10_000)
    # a fresh panel on the reopened project lists the bookmark
    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel
    other = LatentGridPanel(StudioContext(project=reopened))
    qtbot.addWidget(other)
    assert other.bookmarks.list.count() == 1
    other.shutdown()


def test_direction_sliders_edit_the_selection_live(qtbot, panel):
    view = panel.view
    click(view, centre_of(view, (0, 0)))
    assert len(panel.directions.sliders) == 6
    panel.directions.sliders[0].setValue(60)
    edited = panel.edited_vector()
    assert np.linalg.norm(edited - panel.selected_vector()) == pytest.approx(1.8, rel=1e-4)
    qtbot.waitUntil(lambda: panel.preview.caption == "edited selection", timeout=10_000)
    panel.directions.centre_requested.emit()
    np.testing.assert_allclose(view.vector_at((0, 0)), edited, atol=1e-5)


def test_drawn_path_plays_and_exports_gif_and_mp4(qtbot, panel, ctx, tmp_path):
    import imageio.v3 as iio

    view = panel.view
    panel.path_mode.setChecked(True)
    panel.steps.setValue(3)
    panel.method.setCurrentIndex(panel.method.findData("lerp"))
    before = view.centre
    drag(view, centre_of(view, (-3, 0)), centre_of(view, (1, 0)), steps=12)
    assert view.centre == before                           # path mode draws instead of panning
    path = ctx.project.paths[-1]
    k = len(path["points"])
    assert k >= 4 and path["method"] == "lerp" and path["steps"] == 3
    np.testing.assert_allclose(path["points"][0], view.vector_at((-3, 0)), atol=1e-5)
    panel.play_path(path["name"])
    qtbot.waitUntil(panel.preview.playing, timeout=10_000)
    panel.stop_playing()
    for fmt in ("gif", "mp4"):
        out = tmp_path / f"walk.{fmt}"
        with qtbot.waitSignal(panel.export_done, timeout=30_000):
            panel.export_walk(str(out), path["name"])
        frames = iio.imread(out, index=None) if fmt == "gif" else list(iio.imiter(out))
        assert len(frames) == (k - 1) * 3 + 1
        assert frames[0].shape[:2] == (64, 64)             # a new project exports at 4× (16-px tiles)
    grid = panel.export_grid(str(tmp_path / "grid.png"))
    assert iio.imread(grid).shape[:2] == (8 * 18 * 4, 8 * 18 * 4)
    panel.path_mode.setChecked(False)
    click(view, centre_of(view, (0, 0)))
    cell = panel.export_cell(str(tmp_path / "cell.png"))
    assert iio.imread(cell).shape[:2] == (64, 64)


def test_export_size_choice_scales_exports_and_stays_with_the_project(qtbot, panel, ctx, tmp_path):
    """Pick 8× and Crisp pixels in the Export menu: cells, grids and walks come out 8× with whole
    pixel blocks, the recipe says so, and the reopened project remembers the choice."""
    import imageio.v3 as iio

    from studio.core.export import read_provenance
    from studio.core.export.scale import ExportSize
    from studio.ui.context import StudioContext
    from studio.ui.panels.latent_grid import LatentGridPanel

    assert panel.export_size.value() == ExportSize(4, "smooth")             # a new project's default
    items = {a.text(): a for a in panel.export_btn.menu().actions()}
    sizes = [t for t in items if "×" in t]
    assert sizes == ["1× — 16×16 px", "2× — 32×32 px", "4× — 64×64 px", "8× — 128×128 px"]  # 16-px tiles
    assert items["4× — 64×64 px"].isChecked() and items["Smooth (Lanczos)"].isChecked()
    items["8× — 128×128 px"].trigger()
    items["Crisp pixels (nearest)"].trigger()
    assert "8× — 128×128 px, crisp pixels" in panel.export_btn.toolTip()
    view = panel.view
    click(view, centre_of(view, (1, 0)))
    tile = view.cache[(1, 0)][0]
    cell = iio.imread(panel.export_cell(str(tmp_path / "cell.png")))
    assert cell.shape == (128, 128, 3)
    np.testing.assert_array_equal(cell, np.repeat(np.repeat(tile, 8, axis=0), 8, axis=1))  # 8×8 blocks
    assert read_provenance(tmp_path / "cell.png")["output"] == {"scale": 8, "resample": "nearest",
                                                                "width": 128, "height": 128}
    grid = panel.export_grid(str(tmp_path / "grid.png"))
    assert iio.imread(grid).shape[:2] == (8 * 18 * 8, 8 * 18 * 8)
    path = panel.add_path_from_points([view.vector_at((-2, 0)), view.vector_at((2, 0))], name="w")
    with qtbot.waitSignal(panel.export_done, timeout=30_000):
        panel.export_walk(str(tmp_path / "walk.gif"), path["name"])
    assert iio.imread(tmp_path / "walk.gif", index=None).shape[1:3] == (128, 128)
    # kept with the project: the file on disk and a panel on the reopened project show 8× crisp
    reopened = Project.open(ctx.project.folder)
    assert reopened.ui["export_size"] == {"scale": 8, "resample": "nearest"}
    other = LatentGridPanel(StudioContext(project=reopened))
    qtbot.addWidget(other)
    assert other.export_size.value() == ExportSize(8, "nearest")
    other.shutdown()


def test_follow_latest_checkpoint_reloads_without_losing_the_view(qtbot, panel, monkeypatch):
    from studio.ui.panels import latent_follow

    view = panel.view
    drag(view, QPointF(500, 300), QPointF(420, 260))
    click(view, centre_of(view, (1, 1)))
    centre, step, sel = view.centre, view.step, view.selection[1]
    old_decoder = panel.loaded.decoder
    panel.loaded.run = "runs/tiny"
    monkeypatch.setattr(latent_follow, "latest_checkpoint_path", lambda run: "step-2.safetensors")
    retrained = TinyImageModel()
    with torch.no_grad():
        retrained.mix.mul_(-1)
    monkeypatch.setattr(panel, "open_run", lambda run, keep_view=False: panel.set_model(
        retrained, plugin_id="tiny", run=run, checkpoint="step-2.safetensors", backend="torch", keep_view=keep_view))
    panel.follow.setChecked(True)
    panel.follower.poll()                                     # what the follow timer does every 2 s
    qtbot.waitUntil(lambda: panel.loaded.checkpoint == "step-2.safetensors" and view.complete(), timeout=20_000)
    assert panel.loaded.decoder is not old_decoder
    assert view.centre == centre and view.step == step and view.selection[1] == sel
    panel.follow.setChecked(False)


def test_melody_grid_hover_plays_and_walk_exports_midi(qtbot, ctx, tmp_path):
    import mido

    panel = make_panel(qtbot, ctx, TinyMelodyModel())
    view = panel.view
    assert panel.loaded.modality == "melody" and view.cache[(0, 0)][0].shape == (48, 64, 3)
    assert not any(a.isEnabled() for a in panel.export_size.scales.values())   # sizes are for pictures
    mouse(view, "move", centre_of(view, (1, 0)), NB, buttons=NB)
    qtbot.waitUntil(lambda: panel.preview.caption == "cell 1, 0", timeout=5_000)
    assert panel.player.play_info is not None                 # playback started (silent without a device)
    a, b = view.vector_at((-2, -2)), view.vector_at((2, 1))
    path = panel.add_path_from_points([a, b], name="morph")
    panel.steps.setValue(4)
    with qtbot.waitSignal(panel.export_done, timeout=30_000):
        panel.export_walk(str(tmp_path / "morph.mid"), path["name"])
    markers = [m for m in mido.MidiFile(tmp_path / "morph.mid") if m.type == "marker"]
    assert len(markers) == path["steps"] + 1
    # every file carries the recipe that studio.core.export reads back (MIDI and WAV alike)
    from studio.core.export import read_provenance
    recipe = read_provenance(tmp_path / "morph.mid")
    assert recipe["disclosure"] == "AI-generated" and recipe["plugin"]["id"] == "tiny"
    assert recipe["latent"]["kind"] == "walk" and recipe["latent"]["path"] == "morph"
    with qtbot.waitSignal(panel.export_done, timeout=30_000):
        panel.export_walk(str(tmp_path / "morph.wav"), path["name"])
    assert read_provenance(tmp_path / "morph.wav")["latent"]["kind"] == "walk"
    click(view, centre_of(view, (0, 0)))
    cell = panel.export_cell(str(tmp_path / "cell.mid"))
    np.testing.assert_allclose(read_provenance(cell)["vector"], view.vector_at((0, 0)), atol=1e-6)
    save_widget(panel, "latent_grid_melody")
    panel.shutdown()


def test_screenshot(qtbot, panel):
    click(panel.view, centre_of(panel.view, (0, -1)))
    panel.bookmark(panel.selected_vector(), (0, -1))
    panel.path_mode.setChecked(True)                  # a drawn path, as it stays after the mouse is released
    drag(panel.view, centre_of(panel.view, (-3, 2)), centre_of(panel.view, (2, -3)), steps=10)
    panel.tabs.setCurrentWidget(panel.paths)
    panel.view.repaint()
    path = save_widget(panel, "latent_grid", min_colours=64)
    assert path.exists()


def test_bookmark_and_path_edits_are_undoable(qtbot, make_studio_window, tmp_path):
    """With a window, bookmarks and paths change the project through Edit > Undo (one step per action)."""
    win = make_studio_window(project=Project.create(tmp_path / "undo-proj"), load_panels=False, discover=False)
    actions = win.project_actions
    panel = make_panel(qtbot, win.ctx, TinyImageModel())
    project = win.ctx.project
    view = panel.view
    menu = panel.build_context_menu((1, 1), view.vector_at((1, 1)))
    next(a for a in menu.actions() if a.text() == "Bookmark").trigger()
    panel.bookmark(view.vector_at((2, 2)), (2, 2))
    assert [b["name"] for b in project.bookmarks] == ["tiny 1", "tiny 2"]
    assert actions.undo_action.isEnabled() and "tiny 2" in actions.undo_action.text()
    actions.undo_action.trigger()
    assert [b["name"] for b in project.bookmarks] == ["tiny 1"] and panel.bookmarks.list.count() == 1
    actions.redo_action.trigger()
    assert panel.bookmarks.list.count() == 2
    np.testing.assert_allclose(project.bookmarks[1]["vector"], view.vector_at((2, 2)), atol=1e-6)
    # deleting both selected bookmarks is one undo step
    panel.bookmarks.list.selectAll()
    panel.bookmarks.buttons["Remove"].click()
    assert project.bookmarks == [] and panel.bookmarks.list.count() == 0
    actions.undo_action.trigger()
    assert [b["name"] for b in project.bookmarks] == ["tiny 1", "tiny 2"] and panel.bookmarks.list.count() == 2
    path = panel.path_from_bookmarks(["tiny 1", "tiny 2"])
    assert project.paths[-1]["name"] == path["name"]
    actions.undo_action.trigger()
    assert project.paths == [] and panel.paths.list.count() == 0
    # the export size is a project setting too: one undo step puts the old choice back in the menu
    panel.export_size.scales[8].trigger()
    assert project.ui["export_size"] == {"scale": 8, "resample": "smooth"} and "8×" in actions.undo_action.text()
    actions.undo_action.trigger()
    assert "export_size" not in project.ui and panel.export_size.scales[4].isChecked()
    panel.shutdown()


def test_grid_opens_on_the_learned_plane_and_offers_the_others(qtbot, panel):
    # TinyImageModel has no prior of its own, so the plane goes through standard normal draws
    assert panel.plane_kind.currentData() == "learned" and panel.view.plane.kind == "learned"
    assert "learned plane (from the standard normal prior)" in panel.status.text()
    _, _, step = panel.view.plane.default_view(panel.view.cols)
    assert panel.view.step == pytest.approx(step)
    panel.plane_kind.setCurrentIndex(panel.plane_kind.findData("random"))
    assert panel.view.plane.kind == "random"
    panel.reseed()                                      # new directions: still a random plane
    assert panel.plane_kind.currentData() == "random" and panel.view.plane.seed == 1
    panel.plane_kind.setCurrentIndex(panel.plane_kind.findData("learned"))
    assert panel.view.plane.kind == "learned"


def _is_path_colour(img, pt) -> bool:
    c = img.pixelColor(pt)
    return c.red() > 220 and 60 < c.green() < 120 and 90 < c.blue() < 150   # (255, 90, 120)


def _path_shown_at(view, keys) -> list[bool]:
    view.repaint()
    img = view.grab().toImage()
    return [_is_path_colour(img, view.cell_rect(k).center().toPoint()) for k in keys]


def test_a_drawn_path_stays_shown_after_release_is_saved_and_undoable(qtbot, make_studio_window, tmp_path):
    """Draw with real mouse events: on release the line stays on the grid (dots on its points), the path is in
    the project and the Paths list, selected; Edit > Undo removes it and its line, Redo brings both back;
    panning keeps the line on the latent points it was drawn through."""
    win = make_studio_window(project=Project.create(tmp_path / "path-proj"), load_panels=False, discover=False)
    actions, project = win.project_actions, win.ctx.project
    panel = make_panel(qtbot, win.ctx, TinyImageModel())
    view = panel.view
    qtbot.mouseClick(panel.path_mode, L)
    assert panel.path_mode.isChecked() and view.path_mode
    keys = [(-3, 1), (-2, 1), (-1, 0), (0, 0), (1, -1)]
    pts = [view.cell_rect(k).center().toPoint() for k in keys]
    qtbot.mousePress(view, L, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(view, p)
    qtbot.mouseRelease(view, L, pos=pts[-1])
    assert len(project.paths) == 1
    saved = project.paths[0]
    np.testing.assert_allclose(saved["points"], [view.vector_at(k) for k in keys], atol=1e-5)
    assert all(_path_shown_at(view, keys))                       # still drawn after the mouse is released
    assert panel.paths.selected_names() == [saved["name"]] and view.drawn_path.name == saved["name"]
    assert "Add latent path" in actions.undo_action.text()
    actions.undo_action.trigger()
    assert project.paths == [] and panel.paths.list.count() == 0
    assert not any(_path_shown_at(view, keys))                   # the undone path is not drawn either
    actions.redo_action.trigger()
    assert [p["name"] for p in project.paths] == [saved["name"]] and all(_path_shown_at(view, keys))
    qtbot.mouseClick(panel.path_mode, L)                          # path mode off: a drag pans the map
    cell = view.grid_rect().width() / view.cols
    start = view.cell_rect((2, 2)).center().toPoint()
    qtbot.mousePress(view, L, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(view, start - QPoint(round(cell * k / 4), 0))
    qtbot.mouseRelease(view, L, pos=start - QPoint(round(cell), 0))
    assert len(project.paths) == 1
    assert all(_path_shown_at(view, keys))                       # cell_rect moved with the map; so did the line
    panel.shutdown()


def _cut_texts(root) -> list[str]:
    """Visible labels and buttons whose text does not fit: one-line text wider than the widget, or
    wrapped text taller than it (tab titles are checked separately)."""
    from PySide6.QtWidgets import QAbstractButton, QLabel, QTabBar

    cut = []
    for w in root.findChildren(QLabel) + root.findChildren(QAbstractButton):
        if not w.isVisible() or isinstance(w.parent(), QTabBar) or not w.text():
            continue
        if isinstance(w, QLabel) and w.wordWrap():
            fits = w.heightForWidth(w.width()) <= w.height() + 1
        elif isinstance(w, QLabel):
            fits = w.fontMetrics().horizontalAdvance(w.text()) <= w.contentsRect().width() + 1
        else:
            fits = w.sizeHint().width() <= w.width() + 1
        if not fits:
            cut.append(f"{type(w).__name__} {w.text()!r}")
    return cut


@pytest.mark.parametrize("width", [0, 700, 980])   # 0: the panel's own minimum width
def test_narrow_dock_reflows_keeps_every_tab_reachable_and_cuts_no_label(qtbot, panel, width):
    """A 1366-pixel window leaves the dock ~700-1000 px; the controls wrap, every side tab (Paths too) is
    on screen without scroll arrows, no label or button text is cut, and the minimum width stays modest."""
    from PySide6.QtWidgets import QToolButton, QWidget

    assert panel.minimumSizeHint().width() <= 600
    panel.resize(width or panel.minimumSizeHint().width(), 560)
    qtbot.waitUntil(lambda: panel.width() == (width or panel.minimumSizeHint().width()), timeout=2_000)
    QApplication.processEvents()
    bar = panel.tabs.tabBar()
    assert [bar.tabText(i) for i in range(bar.count())] == ["Preview", "Sliders", "Bookmarks", "Paths"]
    assert not any(b.isVisible() for b in bar.findChildren(QToolButton))     # no scroll arrows
    for i in range(bar.count()):
        assert bar.rect().contains(bar.tabRect(i)), bar.tabText(i)
        qtbot.mouseClick(bar, L, pos=bar.tabRect(i).center())
        assert panel.tabs.currentIndex() == i
    assert _cut_texts(panel) == []
    controls = panel.controls
    for child in controls.findChildren(QWidget):                  # every control inside the wrapped rows
        if child.isVisible() and child.parent() is controls:
            assert controls.rect().contains(child.geometry()), child
    assert controls.geometry().bottom() < panel.view.mapTo(panel, QPoint(0, 0)).y()   # wrapped rows push the grid down


def test_show_vector_waits_for_the_model_then_selects_it_in_the_middle(qtbot, ctx):
    """What dropping an exported file does in the end: the vector waits while the model loads, then is the
    selected middle cell, shown large with its seed; a vector of the wrong size is refused in words."""
    from studio.ui.panels.latent_grid import LatentGridPanel

    p = LatentGridPanel(ctx)
    qtbot.addWidget(p)
    z = np.linspace(-1.0, 1.0, 8).astype(np.float32)
    assert p.show_vector(z, seed=5) is False and "once the model is loaded" in p.status.text()
    p.set_model(TinyImageModel(), plugin_id="tiny", backend="torch")
    qtbot.waitUntil(lambda: p.restored is not None, timeout=20_000)
    np.testing.assert_allclose(p.selected_vector(), z)
    np.testing.assert_allclose(p.view.vector_at(p.view.selection[1]), z, atol=1e-5)
    assert "seed 5" in p.status.text() and p.tabs.currentWidget() is p.preview
    qtbot.waitUntil(lambda: "seed 5" in p.preview.caption, timeout=10_000)
    assert p.show_vector(np.zeros(3)) is False and "it has 3 values" in p.status.text()
    p.shutdown()
