"""The training engine: loop, checkpoints, metrics store, control, DDP (no Qt; torch imported lazily).

Entry points for front ends (re-exported lazily so ``import studio.core.training`` stays cheap):
  train, TrainingSetupError                   engine.py   - run training in this process
  TrainResult, StopTraining, Hook             session.py  - what train() returns / a hook may raise
  RunStatus, EventKind                        events.py   - run.json status words, hook event kinds
  TrainingProcess, ProcessStatus              process.py  - run it in a child process (the window)
  load_model, list_checkpoints, latest_checkpoint, CheckpointError    checkpoints.py
  MetricsReader, read_metrics                 metrics.py  - follow a run's metrics live
  send_control                                control.py  - pause/resume/stop/learning rate
  EngineSettings, split_settings              settings.py - engine settings (a form can render them)
  read_run, effective_status                  run_folder.py
"""
_EXPORTS = {
    "train": "engine", "TrainingSetupError": "engine",
    "TrainResult": "session", "StopTraining": "session", "Hook": "session",
    "RunStatus": "events", "EventKind": "events",
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
