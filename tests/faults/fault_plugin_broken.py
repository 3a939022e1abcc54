"""A third-party model plugin that raises while being imported (registered as ``fault-broken``).

The other misbehaving plugins of the fault suite are the engine's toy plugins
(``tests/fixtures/toy_plugins``): their Config switches make ``training_step``
raise, segfault (``ctypes.string_at(0)``), hang or return NaN at a chosen step.
"""
raise RuntimeError("fault-broken: this plugin raises while it is imported (on purpose)")
