"""The validation report of an import: summary, skipped files with reasons, notes on accepted files."""
from __future__ import annotations

import os

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QHeaderView, QLabel, QStyledItemDelegate, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from studio.core.datasets.report import ImportResult


FILE_SHARE = 0.4
REASON = 1  # the column that wraps
PAD = 6     # the delegate's text margins, both sides together


class WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their wrapped reason at the column's current width (a tree sizes rows for one line)."""

    def __init__(self, tree: QTreeWidget):
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option, index):  # noqa: N802 - Qt API
        base = super().sizeHint(option, index)
        if index.column() != REASON:
            return base
        width = max(self.tree.columnWidth(REASON) - PAD, 20)
        text = str(index.data() or "")
        box = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), text)
        return QSize(width, max(base.height(), box.height() + PAD))


class DatasetReportView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No import yet. The report lists every file: accepted, or skipped with the reason.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Reason"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setToolTip("Files that were skipped (with the reason) and notes about accepted files")
        self.tree.setTextElideMode(Qt.TextElideMode.ElideLeft)  # the file name matters more than the folder
        # the reason wraps onto more lines in a narrow dock instead of being cut off
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setItemDelegate(WrappingDelegate(self.tree))
        self.tree.header().setStretchLastSection(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(self.tree, 1)

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        # the file column takes ~40 %, the reason the rest (and wraps)
        self.tree.setColumnWidth(0, max(120, int(self.tree.viewport().width() * FILE_SHARE)))
        self.tree.doItemsLayout()  # row heights follow the reason column's new width

    def reasons_cut(self) -> list[str]:
        """Reasons whose wrapped text is taller than their row (for tests: none should be)."""
        out = []
        fm = self.tree.fontMetrics()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for k in range(top.childCount()):
                item = top.child(k)
                rect = self.tree.visualItemRect(item)
                width = self.tree.columnWidth(REASON) - PAD
                need = fm.boundingRect(QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), item.text(REASON))
                if top.isExpanded() and need.height() > rect.height():
                    out.append(item.text(REASON))
        return out

    def show_manifest(self, manifest: dict, cached: bool = False) -> None:
        result = ImportResult(str(manifest.get("modality", "")), None, manifest, cached)
        self.show_result(result)

    def show_result(self, result: ImportResult) -> None:
        lines = result.summary_lines()
        if not result.accepted_count:
            lines.append("Nothing usable was found; the reasons are listed below.")
        self.summary.setText("\n".join(lines))
        self.tree.clear()
        everything = [r["path"] for r in result.skipped + result.warnings]
        base = _common_folder(everything + result.accepted[:1000])
        groups = ((f"Skipped ({len(result.skipped)})", result.skipped, "reason", QColor("#c0392b")),
                  (f"Notes ({len(result.warnings)})", result.warnings, "message", QColor("#b8860b")))
        for title, rows, key, colour in groups:
            top = QTreeWidgetItem([title, ""])
            top.setForeground(0, colour)
            for row in rows[:5000]:  # a 100,000-file folder of junk must not freeze the tree
                shown = os.path.relpath(row["path"], base) if base and row["path"].startswith(base) else row["path"]
                item = QTreeWidgetItem([shown, row[key]])
                item.setToolTip(0, row["path"])
                item.setToolTip(1, row[key])
                top.addChild(item)
            if len(rows) > 5000:
                top.addChild(QTreeWidgetItem([f"… and {len(rows) - 5000:,} more (see manifest.json)", ""]))
            self.tree.addTopLevelItem(top)
            top.setExpanded(bool(rows) and len(rows) <= 200)

    def rows(self) -> list[tuple[str, str]]:
        """(file, reason) of every skipped file shown (for tests and copy-paste)."""
        top = self.tree.topLevelItem(0)
        return [(top.child(i).toolTip(0), top.child(i).text(1)) for i in range(top.childCount())] if top else []


def _common_folder(paths: list[str]) -> str:
    """The folder all report paths share (shown relative to it; the tooltip keeps the full path)."""
    disk = [p.split("!", 1)[0] for p in paths if p]
    if len(disk) < 2:
        return os.path.dirname(disk[0]) if disk else ""
    try:
        common = os.path.commonpath(disk)
    except ValueError:
        return ""
    return common if os.path.isdir(common) else os.path.dirname(common)
