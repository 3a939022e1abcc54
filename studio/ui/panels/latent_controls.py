"""The latent grid's controls: what spans the grid, its size, path drawing, walks and the Export menu.

The controls sit in a ``FlowLayout``, so in a narrow dock they wrap onto more rows instead of
widening the window or cutting labels; each label stays with the box it names.
"""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QMenu, QPushButton,
                               QSpinBox, QToolButton, QWidget)

from studio.ui.panels.latent_flow import FlowLayout

PLANE_KINDS = [("Learned plane", "learned"), ("Random plane", "random"), ("PCA of training data", "pca"),
               ("Four corners", "corners")]
PLANE_TIP = ("What spans the grid: where the model's own samples live (its two main directions of variation), "
             "two random directions through the centre, the top two principal directions of the encoded "
             "training data, or a mix of four chosen corners (shift-click cells)")


def _combo(items: list[tuple[str, str]], tip: str) -> QComboBox:
    c = QComboBox()
    for text, data in items:
        c.addItem(text, data)
    c.setToolTip(tip)
    return c


def _spin(kind, tip: str, **values):
    box = kind(**values)
    box.setToolTip(tip)
    return box


def _labelled(text: str, box: QWidget) -> QWidget:
    """A label and its box as one item, so wrapping never separates them."""
    pair = QWidget()
    lay = QHBoxLayout(pair)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    label = QLabel(text)
    label.setBuddy(box)
    lay.addWidget(label)
    lay.addWidget(box)
    return pair


class GridControls(QWidget):
    """The widgets are public (``plane_kind``, ``rows``, ``steps``…): the panel connects to their signals."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._build_plane_controls()
        self._build_path_controls()
        self._build_corner_controls()
        self.export_btn = QToolButton(text="Export")
        self.export_btn.setToolTip("Save the grid, the selected cell or a walk")
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_btn.setMenu(QMenu(self))
        flow = FlowLayout(self)
        for w in (self.plane_kind, self.new_dirs, _labelled("Rows", self.rows), _labelled("Cols", self.cols),
                  self.export_btn, self.path_mode, _labelled("Method", self.method), _labelled("Steps", self.steps),
                  _labelled("Spread", self.spread), self.corner_label, self.clear_corners, self.quick, self.follow):
            flow.addWidget(w)

    def _build_plane_controls(self) -> None:
        self.plane_kind = _combo(PLANE_KINDS, PLANE_TIP)
        self.new_dirs = QPushButton("New directions")
        self.new_dirs.setToolTip("Pick two other random directions through the same centre")
        self.rows = _spin(QSpinBox, "Rows of the grid", minimum=2, maximum=16, value=8)
        self.cols = _spin(QSpinBox, "Columns of the grid", minimum=2, maximum=16, value=8)

    def _build_path_controls(self) -> None:
        self.path_mode = QToolButton(text="Draw path", checkable=True)
        self.path_mode.setToolTip("When on, dragging across the grid draws a path (kept in the Paths tab) "
                                  "instead of moving the view")
        self.method = _combo([("slerp", "slerp"), ("lerp", "lerp")],
                             "Interpolation for corners and walks: slerp follows the sphere where Gaussian samples "
                             "live; lerp is a straight line")
        self.steps = _spin(QSpinBox, "Frames (or melody phrases) per path segment", minimum=1, maximum=120, value=12)
        self.spread = _spin(QDoubleSpinBox, "Breed spread: how far children stray from their parent "
                            "(right-click a cell → Breed)", minimum=0.01, maximum=5.0, value=0.5, singleStep=0.05)

    def _build_corner_controls(self) -> None:
        self.corner_label = QLabel("Corners 0/4")
        self.corner_label.setToolTip("Shift-click four cells (top-left, top-right, bottom-left, bottom-right) "
                                     "to mix them as a Beat Blender grid")
        self.clear_corners = QPushButton("Clear corners")
        self.clear_corners.setToolTip("Forget the chosen corners")
        self.quick = QCheckBox("Quick first pass")
        self.quick.setChecked(True)
        self.quick.setToolTip("Fill every other cell first and let its neighbours borrow it until they are decoded")
        self.follow = QCheckBox("Follow latest checkpoint")
        self.follow.setToolTip("While a run trains, reload the decoder whenever it writes a new checkpoint, "
                               "keeping the view")

    # -- small public methods ---------------------------------------------
    def plane(self) -> str:
        return self.plane_kind.currentData()

    def show_plane_kind(self, kind: str) -> None:
        """Select ``kind`` without announcing it (the caller builds the plane itself)."""
        self.plane_kind.blockSignals(True)
        self.plane_kind.setCurrentIndex(self.plane_kind.findData(kind))
        self.plane_kind.blockSignals(False)

    def allow_pca(self, allowed: bool) -> None:
        """PCA needs encoded training data; fall back to the learned plane without it."""
        self.plane_kind.model().item(self.plane_kind.findData("pca")).setEnabled(allowed)
        if not allowed and self.plane() == "pca":
            self.plane_kind.setCurrentIndex(self.plane_kind.findData("learned"))

    def show_corner_count(self, n: int) -> None:
        self.corner_label.setText(f"Corners {n}/4")
