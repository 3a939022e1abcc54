"""The training engine: loop, checkpoints, metrics store, control, DDP."""
