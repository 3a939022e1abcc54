"""The Qt (PySide6) front end. Turns core events into widgets and gestures into core calls."""
