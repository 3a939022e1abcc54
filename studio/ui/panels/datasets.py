"""Datasets panel: import images, melodies or text (button or drag-and-drop), see the report, preview.

Imports run on a worker thread with a progress bar and Cancel; a cancelled import
leaves nothing behind. Datasets go into the project's ``datasets/`` folder (or the
studio's data folder when no project is open) and are added to the project.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMenu, QProgressBar, QPushButton, QSizePolicy, QSpinBox, QSplitter, QTabWidget, QToolButton,
                               QVBoxLayout, QWidget)

from studio.core import paths
from studio.core.datasets.preview import load_preview
from studio.core.datasets.report import ImportResult
from studio.core.datasets.sources import guess_modality
from studio.core.datasets.writer import read_manifest
from studio.ui.panels.dataset_preview import DatasetPreviewView
from studio.ui.panels.dataset_report import DatasetReportView
from studio.ui.panels.dataset_worker import ImportJob, ImportRequest
from studio.ui.panels.datasets_opt_outs import OptOutMemory, ask_to_include, opted_out

log = logging.getLogger(__name__)
KINDS = [("Auto-detect", None), ("Images", "image"), ("Melodies", "melody"), ("Text", "text")]
NOUN = {"image": "images", "melody": "melodies", "text": "text"}
COUNTED = {"image": "images", "melody": "music files", "text": "text files"}


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class DatasetsPanel(QWidget):
    import_finished = Signal(object)   # ImportResult (also after a cache hit)
    import_ended = Signal(str)         # "done" | "cancelled" | "failed" | "empty"

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.job: ImportJob | None = None
        self._announced: str | None = None  # the dataset last announced as selected
        self.setAcceptDrops(True)
        self.setToolTip("Import your own images, melodies or text: drop files or folders here")
        self._build()
        ctx.project_changed.connect(self.refresh)
        self.refresh()

    # -- layout -----------------------------------------------------------
    def _build(self) -> None:
        self.kind = QComboBox()
        for label, key in KINDS:
            self.kind.addItem(label, key)
        self.kind.setToolTip("What the files are; Auto-detect looks at the file extensions")
        self.kind.currentIndexChanged.connect(self._update_options)
        self.size = QSpinBox(minimum=8, maximum=512, singleStep=16, value=64, suffix=" px")
        self.size.setToolTip("Images are resized and centre-cropped to this square size")
        self.channels = QComboBox()
        self.channels.addItem("Colour", 3)
        self.channels.addItem("Greyscale", 1)
        self.channels.setToolTip("Colour (3 channels) or greyscale (1 channel)")
        self.labels = QCheckBox("Labels from folders")
        self.labels.setToolTip("Use each sub-folder's name as the class of the images inside it")
        self.hflip = QCheckBox("Flip")
        self.hflip.setToolTip("Mirror images at random while training (recorded, not baked in)")
        self.bars = QSpinBox(minimum=1, maximum=16, value=2, suffix=" bars")
        self.bars.setToolTip("Melodies are cut into phrases of this many 4/4 bars")
        self.transpose = QCheckBox("Transpose")
        self.transpose.setToolTip("Add copies shifted by -3..+3 semitones to the training phrases")
        files_btn = _button("Import files…", "Choose files or .zip archives to import", self.choose_files)
        folder_btn = _button("Import folder…", "Choose a folder to import (searched recursively)", self.choose_folder)
        self.demo_btn = QToolButton()
        self.demo_btn.setText("Demo data")
        self.demo_btn.setToolTip("Import a built-in demo set: generated shapes, Essen folk songs or Shakespeare's plays")
        self.demo_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.demo_btn)
        for label, modality in (("Shapes (images)", "image"), ("Essen folk songs (melodies)", "melody"),
                                ("Shakespeare's plays (text)", "text")):
            menu.addAction(label, lambda m=modality: self.import_demo(m))
        self.demo_btn.setMenu(menu)
        # room for the text and the menu arrow (the style draws the arrow over the text otherwise)
        self.demo_btn.setMinimumWidth(self.demo_btn.fontMetrics().horizontalAdvance("Demo data") + 34)

        row1 = QHBoxLayout()
        for w in (files_btn, folder_btn, self.demo_btn):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.kind)
        self.image_opts = [self.size, self.channels, self.labels, self.hflip]
        self.music_opts = [self.bars, self.transpose]
        row3 = QHBoxLayout()  # check boxes on their own row keep the dock narrow on small screens
        for w in self.image_opts + self.music_opts:
            (row3 if isinstance(w, QCheckBox) else row2).addWidget(w)
        row2.addStretch(1)
        row3.addStretch(1)

        self.drop_hint = QLabel("Drop files or folders here to import them")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)  # a narrow dock wraps the hint instead of widening the window
        self.drop_hint.setStyleSheet("border: 1px dashed palette(mid); padding: 6px; color: palette(placeholder-text);")
        self.drop_hint.setToolTip("Drag files, folders or .zip archives from your file manager onto this panel")
        self.progress = QProgressBar()
        self.progress.setToolTip("Progress of the running import")
        self.progress.setTextVisible(True)
        self.cancel_btn = _button("Cancel", "Stop the import; nothing is written", self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)  # wrapped lines never clip
        self.status.setToolTip("What the last import did")
        prog_row = QHBoxLayout()
        prog_row.addWidget(self.progress, 1)
        prog_row.addWidget(self.cancel_btn)
        self._show_progress(False)

        self.list = QListWidget()
        self.list.setToolTip("Datasets in this project; select one to preview it and see its report")
        self.list.currentItemChanged.connect(self._on_selected)
        self.list_empty = QLabel("No datasets yet: drop a folder here, click Import, or try Demo data.")
        self.list_empty.setWordWrap(True)
        self.list_empty.setStyleSheet("color: palette(placeholder-text);")
        self.train_btn = _button("Train a model on this", "Open Models with this dataset and a model for its "
                                 "kind of data chosen", self.train_selected)
        self.train_btn.setEnabled(False)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Datasets</b>"))
        ll.addWidget(self.list, 1)
        ll.addWidget(self.list_empty)
        train_row = QHBoxLayout()
        train_row.addStretch(1)
        train_row.addWidget(self.train_btn)
        ll.addLayout(train_row)
        self.preview = DatasetPreviewView()
        self.report = DatasetReportView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.preview, "Preview")
        self.tabs.addTab(self.report, "Report")
        self.tabs.setToolTip("Preview of the selected dataset, and its validation report")
        # No pane frame: Fusion fills it with a colour made from Button and lightened for dark palettes
        # (mid grey next to the dark theme); without it the pages show the palette's Window colour.
        self.tabs.setDocumentMode(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([150, 600])

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addLayout(row3)
        lay.addWidget(self.drop_hint)
        lay.addLayout(prog_row)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)
        self._update_options()

    def _update_options(self) -> None:
        kind = self.kind.currentData()
        for w in self.image_opts:
            w.setVisible(kind in (None, "image"))
        for w in self.music_opts:
            w.setVisible(kind == "melody")

    def _show_progress(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_btn.setVisible(on)
        self.cancel_btn.setEnabled(on)

    # -- where datasets live ----------------------------------------------
    def datasets_root(self) -> Path:
        folder = self.ctx.project_folder()
        root = Path(folder) / "datasets" if folder else paths.data_dir() / "datasets"
        root.mkdir(parents=True, exist_ok=True)
        return root

    def target_for(self, sources: list[str], modality: str, name: str | None = None) -> Path:
        """A folder name from the first source; an existing dataset of the same sources is reused (cache)."""
        base = name or (Path(sources[0]).stem if sources else "dataset")
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "dataset"
        slug = f"{slug}-{NOUN[modality]}"
        root = self.datasets_root()
        wanted = sorted(str(Path(s).expanduser().resolve()) for s in sources)
        for i in range(1, 1000):
            cand = root / (slug if i == 1 else f"{slug}-{i}")
            if not cand.exists():
                return cand
            m = read_manifest(cand)
            if m is not None and sorted(m.get("sources", [])) == wanted and m.get("modality") == modality:
                return cand
        raise ValueError(f"too many datasets named {slug} in {root}")

    def dataset_folders(self) -> list[Path]:
        proj = self.ctx.project
        if proj is not None:
            return [proj.resolve(ref) for ref in proj.datasets]
        root = paths.data_dir() / "datasets"
        return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []

    # -- list / selection -------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        current = select or (self.list.currentItem().data(Qt.ItemDataRole.UserRole) if self.list.currentItem() else None)
        self.list.blockSignals(True)
        self.list.clear()
        for folder in self.dataset_folders():
            m = read_manifest(folder)
            if m is None:
                text, tip = f"{folder.name} (missing or damaged)", f"{folder}: no readable manifest.json"
            else:
                accepted = m.get("accepted", [])  # a list of sources; tolerate a bare count from other tools
                count = accepted if isinstance(accepted, int) else len(accepted) if isinstance(accepted, list) else 0
                noun = COUNTED.get(m.get("modality"), "files")
                text = f"{folder.name} — {count} {noun[:-1] if count == 1 else noun}"
                tip = f"{folder}\nmodality: {m.get('modality')}\nskipped: {len(m.get('skipped') or [])}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, str(folder))
            item.setToolTip(tip)
            self.list.addItem(item)
            if current and str(folder) == str(current):
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            # a preview beats an empty pane; the newest import is the one the Models panel opens on too
            self.list.setCurrentRow(self.list.count() - 1)
        self.list.blockSignals(False)
        self.list_empty.setVisible(self.list.count() == 0)
        self.train_btn.setEnabled(self.list.currentItem() is not None)
        if self.list.currentItem():
            self._on_selected(self.list.currentItem(), None)
        elif self.list.count() == 0:
            self.preview.clear("No datasets yet. Drop a folder of pictures, MIDI/ABC files or .txt files here.")

    def _on_selected(self, item, _previous) -> None:
        if item is None:
            return
        folder = item.data(Qt.ItemDataRole.UserRole)
        self.train_btn.setEnabled(True)
        self.show_dataset(folder)
        if folder != self._announced:  # a refresh (project saved) is not a new choice for the Models panel
            self._announced = folder
            self.ctx.dataset_selected.emit(folder)

    def show_dataset(self, folder: str | Path) -> None:
        try:
            pv = load_preview(folder)
        except (OSError, ValueError) as exc:
            self.preview.clear(str(exc))
            return
        self.preview.show_preview(pv)
        self.report.show_manifest(pv.manifest)

    def selected_folder(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def train_selected(self) -> bool:
        """'Train a model on this': Models follows the dataset (and picks a model for it) and comes to the front."""
        folder = self.selected_folder()
        if folder is None:
            return False
        self._announced = folder
        self.ctx.dataset_selected.emit(folder)
        dock = (getattr(self.window(), "docks", None) or {}).get("models")
        if dock is not None:
            dock.show()
            dock.raise_()
        self.ctx.status_message.emit(f"Models: choose settings and press Start training to train on {Path(folder).name}")
        return True

    # -- starting imports -------------------------------------------------
    def options_for(self, modality: str) -> dict:
        if modality == "image":
            return {"size": self.size.value(), "channels": self.channels.currentData(),
                    "labels": self.labels.isChecked(), "hflip": self.hflip.isChecked()}
        if modality == "melody":
            return {"phrase_bars": self.bars.value(), "transpose": self.transpose.isChecked()}
        return {}

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import files", str(Path.home()),
                                                "Images, music, text or zip (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif "
                                                "*.tiff *.mid *.midi *.abc *.xml *.musicxml *.mxl *.txt *.md *.zip);;"
                                                "All files (*)")
        if files:
            self.import_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder", str(Path.home()))
        if folder:
            self.import_paths([folder])

    def import_paths(self, sources: list[str], modality: str | None = None) -> bool:
        modality = modality or self.kind.currentData() or guess_modality(sources)
        if modality is None:
            self.status.setText("Could not tell what these files are (no image, music or text extensions). "
                                "Choose the kind in the list and import again.")
            return False
        try:
            out = self.target_for(sources, modality)
        except (OSError, ValueError) as exc:
            self.status.setText(str(exc))
            return False
        return self._start(ImportRequest(modality, [str(s) for s in sources], out, self.options_for(modality)))

    def import_demo(self, modality: str) -> bool:
        names = {"image": "demo-shapes", "melody": "demo-essen", "text": "demo-shakespeare"}
        out = self.datasets_root() / names[modality]
        opts = self.options_for(modality) if modality != "image" else {"size": self.size.value(),
                                                                         "channels": self.channels.currentData()}
        return self._start(ImportRequest(modality, [], out, opts, demo=True))

    def _start(self, req: ImportRequest) -> bool:
        if self.job is not None and self.job.is_running():
            self.status.setText("An import is already running; wait for it or cancel it first.")
            return False
        self.job = job = ImportJob(req, self)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.progress.setRange(0, 0)
        self._show_progress(True)
        what = "demo " + NOUN[req.modality] if req.demo else ", ".join(Path(s).name for s in req.sources[:3])
        self.status.setText(f"Importing {what} as {NOUN[req.modality]}…")
        job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_btn.setEnabled(False)
            self.status.setText("Cancelling…")

    # -- results (UI thread) ----------------------------------------------
    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{message} %v/%m")
        else:
            self.progress.setRange(0, 0)

    def _on_finished(self, result: ImportResult) -> None:
        self._show_progress(False)
        self.report.show_result(result)
        if self._include_opted_out(result):
            return  # re-importing with them included; that import ends this one
        if not result.ok:
            self.status.setText("Nothing usable was imported; the Report tab says why for each file.")
            self.tabs.setCurrentWidget(self.report)
            self.import_finished.emit(result)
            self.import_ended.emit("empty")
            return
        folder = str(result.folder)
        proj = self.ctx.project
        if proj is not None:
            proj.add_dataset(folder)
            proj.save()
        self.status.setText(" ".join(result.summary_lines()[:1]) + f" → {result.folder.name}. "
                            "Next: Train a model on this.")
        self.ctx.status_message.emit(f"Dataset ready: {result.folder.name}")
        self.ctx.dataset_added.emit(folder)
        self.refresh(select=folder)
        self.report.show_result(result)  # keep the fresh report (with 'cached') over the stored one
        self.tabs.setCurrentWidget(self.report if result.skipped else self.preview)
        self.import_finished.emit(result)
        self.import_ended.emit("done")

    def _include_opted_out(self, result: ImportResult) -> bool:
        """Files skipped because their credentials say no to AI training: ask once (per dataset and file)
        whether to include them; "Include them" re-imports with ``training_opt_outs: include`` remembered
        by the dataset. True when that re-import started."""
        req = self.job.request if self.job is not None else None
        files = opted_out(result)
        if req is None or req.demo or not files:
            return False
        memory = OptOutMemory(self.ctx.settings)
        new = [f for f in files if f not in memory.left_out(req.out_dir)]
        if not new:
            return False
        if not ask_to_include(self, files):
            memory.leave_out(req.out_dir, files)
            return False
        memory.forget(req.out_dir)
        self.job.wait(10)  # its thread's last act was the signal that brought us here
        return self._start(ImportRequest(req.modality, req.sources, req.out_dir, req.options, opt_outs="include"))

    def _on_failed(self, message: str) -> None:
        self._show_progress(False)
        self.status.setText(f"Import failed: {message}")
        log.warning("import failed: %s", message)
        self.import_ended.emit("failed")

    def _on_cancelled(self) -> None:
        self._show_progress(False)
        self.status.setText("Import cancelled; nothing was written.")
        self.import_ended.emit("cancelled")

    # -- drag and drop ----------------------------------------------------
    def dragEnterEvent(self, event):  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self.drop_hint.setText("Release to import")
        else:
            event.ignore()

    def dragLeaveEvent(self, event):  # noqa: N802 - Qt API
        self.drop_hint.setText("Drop files or folders here to import them")
        super().dragLeaveEvent(event)

    def dropEvent(self, event):  # noqa: N802 - Qt API
        self.drop_hint.setText("Drop files or folders here to import them")
        paths_ = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths_:
            event.acceptProposedAction()
            self.import_paths(paths_)

    def shutdown(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            self.job.wait(10)
