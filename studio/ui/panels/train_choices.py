"""Pickers the Models panel is built from: plugins (broken ones greyed with their reason), datasets
(only those whose modality fits the plugin), devices (name and memory), and the engine settings users touch."""
from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QMessageBox

from studio.core.fileio import read_json
from studio.ui.shorten import shorten

#: engine settings shown up front; the rest sit under "More engine settings"
MAIN_ENGINE_KEYS = ("lr", "batch_size", "optimizer", "checkpoint_every", "sample_every")
HIDDEN_ENGINE_KEYS = ("threads",)  # chosen by the studio so the window keeps a core


_manifests: dict[str, tuple[tuple[int, int], object]] = {}  # path -> ((mtime, size), modality): read once


def dataset_modality(folder: str | Path) -> tuple[str, str]:
    """(modality, problem) of a dataset folder from its manifest; problem is '' when usable."""
    path = Path(folder) / "manifest.json"
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _manifests.get(str(path))
        if cached is not None and cached[0] == stamp:
            modality = cached[1]
        else:
            manifest = read_json(path, max_bytes=16 << 20)
            modality = manifest.get("modality") if isinstance(manifest, dict) else None
            _manifests[str(path)] = (stamp, modality)
    except FileNotFoundError:
        return "", f"{folder} is not a dataset folder (no manifest.json)"
    except (OSError, ValueError) as exc:
        return "", f"{path}: {exc}"
    if modality not in ("image", "melody", "text"):
        return "", f"{path}: no known modality"
    if not (Path(folder) / "data.safetensors").is_file():
        return modality, f"{folder} has no data.safetensors (import it again)"
    return modality, ""


def safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return name[:80] or "run"


def new_run_dir(base: Path, name: str) -> Path:
    """A fresh folder name under ``base`` (``name``, ``name-2``, ...)."""
    base.mkdir(parents=True, exist_ok=True)
    cand, n = base / name, 1
    while cand.exists():
        n += 1
        cand = base / f"{name}-{n}"
    return cand


def default_run_name(plugin_id: str, dataset: Path | None) -> str:
    ds = dataset.name if dataset else "data"
    return safe_name(f"{plugin_id}-{ds}-{time.strftime('%Y%m%d-%H%M%S')}")


class PluginCombo(QComboBox):
    """Every discovered plugin; broken ones listed but disabled, their reason as tooltip."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setModel(QStandardItemModel(self))
        self.setToolTip("The model to train. Greyed-out models failed to load: hover for the reason.")

    def set_plugins(self, entries: dict) -> None:
        current = self.current_id()
        model: QStandardItemModel = self.model()
        model.clear()
        for pid, entry in entries.items():
            p = entry.plugin
            if entry.ok and p is not None:
                item = QStandardItem(p.name)  # the name says what it makes; the rest is in the tooltip
                tip = (p.description or p.name) + f"\n{p.modality}, {p.family} · id {p.id}, version {p.version}"
                if p.capabilities:
                    tip += f"\ncan: {', '.join(sorted(p.capabilities))}"
                item.setToolTip(tip)
            else:
                item = QStandardItem(f"{pid} — broken")
                item.setEnabled(False)
                item.setToolTip(f"This plugin could not be loaded: {entry.error}")
            item.setData(pid)
            model.appendRow(item)
        ids = [model.item(i).data() for i in range(model.rowCount())]
        usable = [i for i in range(model.rowCount()) if model.item(i).isEnabled()]
        if current in ids and model.item(ids.index(current)).isEnabled():
            self.setCurrentIndex(ids.index(current))
        elif usable:
            self.setCurrentIndex(usable[0])
        else:
            self.setCurrentIndex(-1)

    def ids(self) -> list[str]:
        """Every listed plugin id, in the list's order."""
        model = self.model()
        return [model.item(i).data() for i in range(model.rowCount())]

    def current_id(self) -> str | None:
        i = self.currentIndex()
        if i < 0:
            return None
        item = self.model().item(i)
        return item.data() if item is not None and item.isEnabled() else None

    def select(self, plugin_id: str) -> bool:
        model = self.model()
        for i in range(model.rowCount()):
            if model.item(i).data() == plugin_id and model.item(i).isEnabled():
                self.setCurrentIndex(i)
                return True
        return False


class DatasetCombo(QComboBox):
    """Dataset folders; those whose modality does not fit the chosen plugin are greyed with the reason."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setModel(QStandardItemModel(self))
        self.folders: list[Path] = []
        self.modality: str | None = None
        self.setToolTip("The dataset to train on (import one in Datasets, or Browse for a dataset folder)")

    def add_folder(self, folder: str | Path, select: bool = False) -> None:
        folder = Path(folder)
        if all(f.resolve() != folder.resolve() for f in self.folders):
            self.folders.append(folder)
        self.refresh()
        if select:
            self.select(folder)

    def set_folders(self, folders: list[Path]) -> None:
        self.folders = list(folders)
        self.refresh()

    def set_modality(self, modality: str | None) -> None:
        self.modality = modality
        self.refresh()

    def refresh(self) -> None:
        current = self.current_folder()
        model: QStandardItemModel = self.model()
        model.clear()
        for folder in self.folders:
            modality, problem = dataset_modality(folder)
            item = QStandardItem(f"{folder.name} ({modality or '?'})")
            if not problem and self.modality and modality != self.modality:
                problem = f"holds {modality} data; the chosen model trains on {self.modality}"
            item.setEnabled(not problem)
            item.setToolTip(f"{folder}\n{problem}" if problem else str(folder))
            item.setData(str(folder))
            model.appendRow(item)
        if current is not None and self.select(current):
            return
        usable = [i for i in range(model.rowCount()) if model.item(i).isEnabled()]
        self.setCurrentIndex(usable[0] if usable else -1)

    def select(self, folder: str | Path) -> bool:
        target = Path(folder).resolve()
        model = self.model()
        for i in range(model.rowCount()):
            item = model.item(i)
            if Path(item.data()).resolve() == target and item.isEnabled():
                self.setCurrentIndex(i)
                return True
        return False

    def current_folder(self) -> Path | None:
        i = self.currentIndex()
        item = self.model().item(i) if i >= 0 else None
        return Path(item.data()) if item is not None and item.isEnabled() else None


DEVICE_CHARS = 26  # what a combo in the Models dock shows of a device name (all of it in the tooltip)


class DeviceCombo(QComboBox):
    """``auto`` plus each detected accelerator with its memory."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Where to train. Auto picks the best available: a GPU when there is one, else the CPU.")
        self.set_devices([])

    def set_devices(self, devices: list) -> None:
        current = self.currentData()
        self.clear()
        best = devices[0].id if devices else "detecting…"
        self.addItem(f"Auto ({best})", "auto")  # short: the dock is narrow on a laptop; names in the tooltips
        self.setItemData(0, f"The best available: {devices[0].label}" if devices else "Detecting accelerators…",
                         Qt.ItemDataRole.ToolTipRole)
        for d in devices:
            self.addItem(shorten(d.label, DEVICE_CHARS), d.id)
            mem = f"{d.memory_bytes / 2**30:.1f} GiB memory" if d.memory_bytes else "shared system memory"
            extra = f", compute capability {d.capability}" if getattr(d, "capability", "") else ""
            self.setItemData(self.count() - 1, f"{d.name}: {mem}{extra}" + (", bf16" if d.bf16 else ""),
                             Qt.ItemDataRole.ToolTipRole)
        i = self.findData(current) if current else 0
        self.setCurrentIndex(max(i, 0))


def narrow(combo: QComboBox) -> None:
    """A combo sized by a short text, not its longest entry (a long device name must not widen the panel)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)


def confirm_other_dataset(parent, chosen: Path | None, dataset: Path) -> bool:
    """Training on another dataset of the same kind than the one selected in Datasets asks first
    (the mistake: importing pictures, then training on the demo shapes)."""
    if chosen is None or dataset.resolve() == chosen.resolve():
        return True
    if dataset_modality(chosen)[0] != dataset_modality(dataset)[0]:
        return True  # another kind of data: the model choice already says so
    answer = QMessageBox.question(
        parent, "Train on another dataset?",
        f"Datasets has {chosen.name} selected, but this run would train on {dataset.name}.\n\n"
        f"Train on {dataset.name}?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def set_text(value) -> str:
    """A setting as ``--set`` text (floats keep full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)
