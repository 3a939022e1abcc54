"""What the Melody and Text panels share: a run's model opened in the background, Generate/Stop, a seed,
a progress bar, and restored generations.

* The run selected anywhere in the studio (``ctx.run_selected``) opens here when it is of the panel's
  ``modality``; only the newest load request counts (``LatestLoad``), so a restored file's checkpoint,
  asked for after its run was selected, wins whichever load finishes first.
* A file dropped on the window arrives as a :class:`RestoreRequest` (``ctx.restore_requested``); the
  panel opens the exact checkpoint that made it and puts the seed and settings back
  (``restore_settings``, the panel's own part).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDoubleSpinBox, QProgressBar, QPushButton, QSpinBox, QWidget

from studio.ui.background_jobs import BackgroundJobs, LatestLoad
from studio.ui.restore_request import RestoreRequest
from studio.ui.run_filter import connect_matching_runs

MAX_SEED = 2**31 - 1


def button(text: str, tip: str, slot=None) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    if slot is not None:
        b.clicked.connect(slot)
    return b


def spin(lo, hi, value, tip, step=None, decimals=None, special=None, suffix="", prefix=""):
    """A spin box (a QDoubleSpinBox when ``decimals`` is given) with its range, value and tooltip."""
    box = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setValue(value)
    if step is not None:
        box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    if suffix:
        box.setSuffix(suffix)
    if prefix:
        box.setPrefix(prefix)
    box.setToolTip(tip)
    return box


class GenerationPanel(QWidget):
    """Base of a panel that generates with a trained model; a subclass sets ``modality``, passes its jobs
    (a BackgroundJobs with ``load_run``), builds its widgets, then calls ``_start_following()``; it
    implements ``_sync`` (which controls are on), ``_say`` (how a load goes) and ``restore_settings``.
    """

    modality = ""  # the runs this panel opens: "melody" or "text"

    def __init__(self, ctx, jobs: BackgroundJobs, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = None
        self.model_name = ""
        self.source: dict | None = None          # run and checkpoint of the loaded model (for recipes)
        self.checkpoint_step: int | None = None  # the loaded checkpoint's step (None: a model given directly)
        self._wanted: str | None = None          # the checkpoint asked for by the newest load (None: the newest)
        self._wanted_run = ""                    # the run of the newest load
        jobs.setParent(self)
        self.jobs = jobs
        self.loader = LatestLoad(self.jobs, self.jobs.load_run, self)  # only the newest load request counts
        self.seed = spin(0, MAX_SEED, 0, "Random seed: the same seed and settings give the same result")
        self.generate_button = button("Generate", "Write with the model")
        self.stop_button = button("Stop", "Stop writing; what was written so far stays", self.jobs.cancel)
        self.progress = QProgressBar()

    def _start_following(self) -> None:
        """Open the matching runs selected anywhere, and take restored generations (once the widgets exist)."""
        connect_matching_runs(self.ctx, self.open_run, modality=self.modality)
        self.ctx.subscribe_restore(self.modality, self._on_restore_requested)

    # -- model ---------------------------------------------------------------
    def open_run(self, run_dir: str, checkpoint: str | None = None) -> None:
        """Open a run's newest checkpoint, or ``checkpoint`` (a restored file's), in the background;
        a later call wins over an earlier one still loading."""
        self._wanted = str(checkpoint) if checkpoint else None
        self._wanted_run = str(run_dir)
        what = f"checkpoint {Path(checkpoint).name} of " if checkpoint else ""
        self._say(f"Opening {what}{Path(run_dir).name}…")
        self.loader.request(str(run_dir), self._wanted)
        self._sync()

    def which_checkpoint(self) -> str:
        """How the loaded checkpoint was chosen, in words (for the model label)."""
        if self._wanted:
            return "the restored file's checkpoint"
        from studio.core.training.checkpoints import default_choice
        if self._wanted_run and default_choice(self._wanted_run) == "best":
            return "the run's best checkpoint: training stopped early"
        return "the run's newest checkpoint"

    def loading(self) -> bool:
        """True while a model is opened or generating (the window's screenshot waits for it)."""
        return self.jobs.busy or self.loader.waiting

    # -- restoring a dropped file --------------------------------------------
    def _on_restore_requested(self, request: RestoreRequest) -> None:
        if request.target == self.modality:
            self.restore_generation(request)

    def restore_generation(self, request: RestoreRequest) -> None:
        """Put ``request``'s generation back: its seed and settings, and the exact checkpoint that made it
        (the run itself was selected everywhere just before; this later load request wins)."""
        self.restore_settings(request)
        if request.exact_weights is not None:
            run_dir, checkpoint = request.exact_weights
            self.open_run(run_dir, checkpoint=checkpoint)

    def restore_settings(self, request: RestoreRequest) -> None:
        raise NotImplementedError

    def _sync_when_idle(self) -> None:
        """``_sync`` now and again once the job's thread has ended: a job's last act is the signal that
        brought us here, and Generate stays off while its thread is still alive."""
        self._sync()
        if self.jobs.busy:
            QTimer.singleShot(50, self, self._sync_when_idle)

    # -- for subclasses ------------------------------------------------------
    def _sync(self) -> None:
        """Enable the controls that can be used now."""
        raise NotImplementedError

    def _say(self, text: str) -> None:
        """Show how opening a model goes."""
        raise NotImplementedError

    def shutdown(self) -> None:
        self.loader.stop()
        self.jobs.cancel()
        self.jobs.wait(30.0)  # a model load still inside torch at exit would abort the process
