"""The validation report of an import: summary, skipped files with reasons, notes on accepted files."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.core.datasets.report import ImportResult


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
        self.tree.setColumnWidth(0, 240)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideLeft)  # the file name matters more than the folder
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(self.tree, 1)

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
