"""A window that paints for a long time must not abort. PySide6 6.12.0 drops a reference to None on
every void QPainter call; on Python 3.11 ~5,000 calls end the process ("none_dealloc: deallocating
None"), i.e. a Loss plot or latent grid open for a few minutes. pyproject.toml pins PySide6 below 6.12;
this test fails if an install picks up an affected release."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.fixtures.plugin_dist import ROOT

PAINT = r"""
import studio.ui
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage, QPainter, QPen
from PySide6.QtWidgets import QApplication
app = QApplication([])
img = QImage(64, 64, QImage.Format.Format_ARGB32)
p = QPainter(img)
for i in range(100_000):   # about what a Loss plot paints in an hour of live training
    p.setPen(QPen())
    p.drawLine(QPointF(0, 0), QPointF(i % 64, 5))
    p.drawRect(QRectF(0, 0, 3, 3))
p.end()
print("painted")
"""


def test_a_long_painting_session_does_not_abort():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PAINT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "painted" in proc.stdout, proc.stderr[-800:]
