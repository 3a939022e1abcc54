"""The training engine: loop, checkpoints, metrics store, control, DDP (no Qt; torch imported lazily).

Entry points for front ends (re-exported lazily so ``import studio.core.training`` stays cheap):
  train, TrainResult, StopTraining            engine.py   - run training in this process
  TrainingProcess, ProcessStatus              process.py  - run it in a child process (the window)
  load_model, list_checkpoints, latest_checkpoint, CheckpointError    checkpoints.py
  MetricsReader, read_metrics                 metrics.py  - follow a run's metrics live
  send_control                                control.py  - pause/resume/stop/learning rate
  EngineSettings, split_settings              settings.py - engine settings (a form can render them)
  read_run, effective_status                  run_folder.py
"""
_EXPORTS = {
    "train": "engine", "TrainResult": "engine", "StopTraining": "engine", "TrainingSetupError": "engine",
    "TrainingProcess": "process", "ProcessStatus": "process",
    "load_model": "checkpoints", "list_checkpoints": "checkpoints", "latest_checkpoint": "checkpoints",
    "best_checkpoint": "checkpoints", "CheckpointError": "checkpoints", "CheckpointInfo": "checkpoints",
    "MetricsReader": "metrics", "MetricsUpdate": "metrics", "read_metrics": "metrics", "latest_preview": "metrics",
    "send_control": "control", "EngineSettings": "settings", "split_settings": "settings",
    "read_run": "run_folder", "effective_status": "run_folder", "RunFolderError": "run_folder",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(f"studio.core.training.{_EXPORTS[name]}"), name)
    raise AttributeError(name)


__all__ = sorted(_EXPORTS)
