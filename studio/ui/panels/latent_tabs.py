"""The latent grid's side tabs: Preview, Sliders (directions), Bookmarks and Paths.

Short titles and no scroll arrows: the tab widget asks for the width of all four titles, so every
tab stays reachable when the dock is narrow (the grid beside it gives way instead). The lists'
buttons are announced as signals; the panel decides what they do.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTabWidget

from studio.ui.panels.latent_side import DirectionSliders, LatentPreview, NamedList

BOOKMARK_BUTTONS = [("Go", "Centre the grid on the selected bookmark"),
                    ("Path", "Make a path through the selected bookmarks, in list order"),
                    ("Remove", "Delete the selected bookmarks")]
PATH_BUTTONS = [("Play", "Play the selected path: frames for images, a morph for melodies"),
                ("Stop", "Stop playing"), ("Remove", "Delete the selected paths")]


class LatentSideTabs(QTabWidget):
    go_to_bookmark = Signal(str)
    path_from_bookmarks = Signal(list)     # bookmark names, in list order
    remove = Signal(str, list)             # "bookmarks" or "paths", names
    play_path = Signal(str)
    stop_playing = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.preview = LatentPreview()
        self.directions = DirectionSliders()
        self.bookmarks = self._build_bookmarks()
        self.paths = self._build_paths()
        for widget, title, tip in ((self.preview, "Preview", "The cell under the mouse or the selection, large"),
                                   (self.directions, "Sliders", "Push the selected cell along the main directions"),
                                   (self.bookmarks, "Bookmarks", "Points you bookmarked (right-click a cell)"),
                                   (self.paths, "Paths", "Paths drawn across the grid or made from bookmarks")):
            self.setTabToolTip(self.addTab(widget, title), tip)
        # all titles in full, never scroll arrows: the minimum width covers the whole tab bar
        self.setUsesScrollButtons(False)
        self.setElideMode(Qt.TextElideMode.ElideNone)

    def _build_bookmarks(self) -> NamedList:
        marks = NamedList("No bookmarks yet: right-click a cell and choose Bookmark, or drop your own picture or "
                          "melody on the grid.", BOOKMARK_BUTTONS)
        marks.activated.connect(self.go_to_bookmark)
        marks.buttons["Go"].clicked.connect(lambda: [self.go_to_bookmark.emit(n) for n in marks.selected_names()[:1]])
        marks.buttons["Path"].clicked.connect(lambda: self.path_from_bookmarks.emit(marks.selected_names()))
        marks.buttons["Remove"].clicked.connect(lambda: self.remove.emit("bookmarks", marks.selected_names()))
        return marks

    def _build_paths(self) -> NamedList:
        paths = NamedList("No paths yet: switch on Draw path and drag across the grid, "
                          "or pick bookmarks and press Path.", PATH_BUTTONS)
        paths.activated.connect(self.play_path)
        paths.buttons["Play"].clicked.connect(lambda: [self.play_path.emit(n) for n in paths.selected_names()[:1]])
        paths.buttons["Stop"].clicked.connect(self.stop_playing)
        paths.buttons["Remove"].clicked.connect(lambda: self.remove.emit("paths", paths.selected_names()))
        return paths

    def show_lists(self, bookmarks: list[dict], paths: list[dict]) -> None:
        self.bookmarks.set_items(bookmarks)
        self.paths.set_items(paths)

    def select_path(self, name: str) -> None:
        """Highlight the path ``name`` in the Paths list (a path just drawn)."""
        for row in range(self.paths.list.count()):
            item = self.paths.list.item(row)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == name)
