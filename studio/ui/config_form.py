"""A form generated from a plugin ``Config`` (or ``EngineSettings``): one row per ``param`` field.

ints -> spin boxes, floats -> double spin boxes (log-scale stepping for ``log=True``),
``choices`` -> combo boxes, bools -> check boxes, strings -> line edits; the label
and range come from the field's metadata and its help text is the tooltip.
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QLineEdit, QSpinBox, QWidget)

from studio.core.plugins.api import ParamSpec

INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int


class LogSpinBox(QDoubleSpinBox):
    """A spin box for values spanning decades (learning rates): arrows multiply/divide, text in %g."""

    STEPS_PER_DECADE = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setKeyboardTracking(False)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        v = self.value()
        if v <= 0:
            v = max(self.minimum(), 1e-12)
        self.setValue(v * 10 ** (steps / self.STEPS_PER_DECADE))

    def textFromValue(self, value: float) -> str:  # noqa: N802
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            v = float(text)
        except ValueError:
            ok = all(c in "0123456789.eE-+" for c in text)
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        state = QValidator.State.Acceptable if self.minimum() <= v <= self.maximum() else QValidator.State.Intermediate
        return state, text, pos


def _float_box(spec: ParamSpec) -> QDoubleSpinBox:
    box = LogSpinBox() if spec.log else QDoubleSpinBox()
    lo = spec.min if spec.min is not None else -1e12
    hi = spec.max if spec.max is not None else 1e12
    box.setRange(float(lo), float(hi))
    if not spec.log:
        # enough decimals for the default and a step a tenth of the way to it
        d = float(spec.default or 0.0)
        decimals = 4 if d == 0 or abs(d) >= 1e-3 else min(10, int(-math.floor(math.log10(abs(d)))) + 3)
        box.setDecimals(decimals)
        span = hi - lo if spec.max is not None and spec.min is not None else abs(d) * 10 or 1.0
        box.setSingleStep(10 ** math.floor(math.log10(span / 100)) if span > 0 else 0.01)
    return box


def make_editor(spec: ParamSpec) -> QWidget:
    if spec.choices:
        w = QComboBox()
        w.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        w.setMinimumContentsLength(8)
        for c in spec.choices:
            w.addItem(str(c), c)
    elif spec.type is bool:
        w = QCheckBox()
    elif spec.type is int:
        w = QSpinBox()
        lo = int(spec.min) if spec.min is not None else -INT_LIMIT
        hi = int(min(spec.max, INT_LIMIT)) if spec.max is not None else INT_LIMIT
        w.setRange(max(lo, -INT_LIMIT), hi)
        w.setGroupSeparatorShown(True)
        w.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    elif spec.type is float:
        w = _float_box(spec)
    else:
        w = QLineEdit()
    rng = ""
    if spec.min is not None or spec.max is not None:
        rng = f" (range {spec.min if spec.min is not None else '…'} to {spec.max if spec.max is not None else '…'})"
    tip = (spec.help or spec.label) + rng + f"\nDefault: {spec.default!r}. Setting: {spec.name}"
    w.setToolTip(tip)
    w.setObjectName(f"param-{spec.name}")
    return w


def editor_value(w: QWidget, spec: ParamSpec) -> Any:
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, QSpinBox):
        return int(w.value())
    if isinstance(w, QDoubleSpinBox):
        return float(w.value())
    return w.text()


def set_editor_value(w: QWidget, value: Any) -> None:
    if isinstance(w, QComboBox):
        i = w.findData(value)
        w.setCurrentIndex(max(i, 0))
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    elif isinstance(w, QSpinBox):
        w.setValue(int(min(max(int(value), w.minimum()), w.maximum())))
    elif isinstance(w, QDoubleSpinBox):
        w.setValue(float(value))
    else:
        w.setText(str(value))


def wrap_rows(form: QFormLayout) -> None:
    """Rows put their field under the label when the panel is narrow (no clipped labels, no sideways
    scrolling); labels themselves wrap as a last resort."""
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)


class ConfigForm(QWidget):
    """Rows for ``specs``; ``values()`` / ``changed_values()`` / ``set_values()`` / ``reset()``."""

    changed = Signal()

    def __init__(self, specs: list[ParamSpec], defaults: dict[str, Any] | None = None, parent=None):
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        #: defaults shown and restored by reset(): the field defaults, overridden (plugin engine_defaults)
        self.defaults = {s.name: s.default for s in specs}
        self.defaults.update({k: v for k, v in (defaults or {}).items() if k in self.specs})
        self.editors: dict[str, QWidget] = {}
        lay = QFormLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        wrap_rows(lay)
        for spec in specs:
            w = make_editor(spec)
            set_editor_value(w, self.defaults[spec.name])
            label = QLabel(spec.label)
            label.setToolTip(w.toolTip())
            label.setBuddy(w)
            lay.addRow(label, w)
            self.editors[spec.name] = w
            for sig in ("currentIndexChanged", "toggled", "valueChanged", "textChanged"):
                if hasattr(w, sig):
                    getattr(w, sig).connect(self.changed)
                    break
        if not specs:
            empty = QLabel("This model has no settings.")
            empty.setToolTip("The plugin's Config declares no fields")
            lay.addRow(empty)

    def values(self) -> dict[str, Any]:
        return {name: editor_value(w, self.specs[name]) for name, w in self.editors.items()}

    def changed_values(self) -> dict[str, Any]:
        """Only what differs from the defaults (what ``--set`` needs)."""
        out = {}
        for name, v in self.values().items():
            d = self.defaults[name]
            same = math.isclose(v, d, rel_tol=1e-9) if isinstance(v, float) and isinstance(d, (int, float)) else v == d
            if not same:
                out[name] = v
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for name, v in values.items():
            if name in self.editors:
                set_editor_value(self.editors[name], v)

    def reset(self) -> None:
        self.set_values(self.defaults)
