"""File-name patterns and the no-silent-overwrite rule."""
from __future__ import annotations

import pytest

from studio.core.export.naming import OverwriteError, format_name, plan_paths


def test_pattern_fills_and_cleans_fields():
    assert format_name(plugin="vae", run="my run/1", seed=3, index=0) == "vae-my_run_1-3-0"
    assert format_name("{run}_{index}", plugin="x", run="r", seed=1, index=7) == "r_7"
    with pytest.raises(ValueError, match=r"no value for \{step\}"):
        format_name("{plugin}-{step}", plugin="vae", run="r", seed=1, index=0)


def test_plan_paths_checks_every_target_first(tmp_path):
    paths = plan_paths(tmp_path, "png", 3, plugin="vae", run="r", seed=9)
    assert [p.name for p in paths] == ["vae-r-9-0.png", "vae-r-9-1.png", "vae-r-9-2.png"]
    paths[1].write_bytes(b"old")
    with pytest.raises(OverwriteError, match="vae-r-9-1.png: already exists"):
        plan_paths(tmp_path, ".png", 3, plugin="vae", run="r", seed=9)
    assert plan_paths(tmp_path, ".png", 3, plugin="vae", run="r", seed=9, overwrite=True) == paths
    with pytest.raises(ValueError, match="same name"):
        plan_paths(tmp_path, "png", 2, pattern="{plugin}", plugin="vae", run="r", seed=9)
