"""The dock panels. Each is a QWidget class taking ``(ctx, parent=None)``, loaded after first paint.

A panel module that is missing shows its empty state, so the window always opens.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    target: str  # "module:Class"
    area: Qt.DockWidgetArea
    empty_state: str
    shortcut: str = ""


L, R, B = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea

PANELS: list[PanelSpec] = [
    PanelSpec("datasets", "Datasets", "studio.ui.panels.datasets:DatasetsPanel", L,
              "Import your own images, melodies or text: drop files or folders here.", "Ctrl+1"),
    PanelSpec("models", "Models", "studio.ui.panels.models:ModelsPanel", L,
              "Pick a model, set its options and start training.", "Ctrl+2"),
    PanelSpec("training", "Training", "studio.ui.panels.training:TrainingPanel", R,
              "Progress, controls and sample previews of the running training.", "Ctrl+3"),
    PanelSpec("loss", "Loss plot", "studio.ui.panels.loss_plot:LossPlotPanel", R,
              "Live loss curves of the selected runs.", "Ctrl+4"),
    PanelSpec("latent", "Latent grid", "studio.ui.panels.latent_grid:LatentGridPanel", R,
              "Explore what a model learned: drag through its latent space with the mouse.", "Ctrl+5"),
    PanelSpec("melody", "Melody", "studio.ui.panels.melody:MelodyPanel", R,
              "Compose and hear melodies: piano roll, playback and generation.", "Ctrl+6"),
    PanelSpec("text", "Text", "studio.ui.panels.text:TextPanel", R,
              "Generate text from a trained text model, streaming as it writes.", "Ctrl+7"),
    PanelSpec("runs", "Runs", "studio.ui.panels.runs:RunsPanel", B,
              "Every training run in the project: status, curves, samples, resume.", "Ctrl+8"),
    PanelSpec("log", "Log", "studio.ui.panels.log:LogPanel", B,
              "Warnings, plugin errors and messages from the studio.", "Ctrl+9"),
]
