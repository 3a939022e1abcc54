"""Where the studio may write or delete inside a project: never through a link or ``..`` out of it.

A project folder can come from someone else (a shared archive). If its ``trash/``
were a link to ``..``, "Empty trash" would delete the folders beside the project;
a ``.backups`` link would have backups written and rotated elsewhere; a dataset
reference ``datasets/../runs`` would move all runs to the trash. Every folder the
studio writes or deletes in a project goes through :func:`owned_path` first:
the path must lie strictly inside the project, name no ``..``, and pass through
no symbolic link on the way (a link is refused even when it points inside: the
studio does not move or delete what a link points to).
"""
from __future__ import annotations

import os
from pathlib import Path

from studio.core.project_schema import ProjectError

#: The project's own top-level folders: never a dataset or a run to delete as a whole.
RESERVED_FOLDERS = frozenset({"datasets", "runs", "exports", "trash", ".backups"})


class OutsideProjectError(ProjectError):
    """A path the studio will not write or delete: outside the project, through a link, or with ``..``."""


def owned_path(project_folder: str | Path, path: str | Path, what: str = "folder") -> Path:
    """``path`` (absolute, or relative to the project) as a real path inside the project, checked.

    Raises :class:`OutsideProjectError` naming the path and the reason when it is the project itself,
    lies outside it, contains ``..``, or passes through a symbolic link (the last part included).
    The path need not exist; the parts that do exist are checked.
    """
    root = Path(project_folder)
    root_real = root.resolve()
    p = Path(path)
    if ".." in p.parts:
        raise OutsideProjectError(f"{what} {path} contains “..”; the studio only writes inside the project, "
                                  "by plain paths")
    if p.is_absolute():
        for base in (root, root_real):
            try:
                rel = p.relative_to(base)
                break
            except ValueError:
                continue
        else:
            raise OutsideProjectError(f"{what} {path} is outside the project {root}; the studio leaves it alone")
    else:
        rel = p
    if not rel.parts or rel == Path("."):
        raise OutsideProjectError(f"{what} {path} is the project folder itself")
    cur = root_real
    for part in rel.parts:
        if part in ("", "."):
            continue
        cur = cur / part
        if cur.is_symlink():
            try:
                target = os.readlink(cur)
            except OSError:
                target = "somewhere else"
            raise OutsideProjectError(f"{what} {cur} is a link (to {target}); the studio does not write or "
                                      "delete through links in a project, so it was left alone")
        if not cur.exists():
            break  # nothing below can be a link yet
    real = root_real / rel
    try:
        real.resolve().relative_to(root_real)
    except ValueError:
        raise OutsideProjectError(f"{what} {path} leads outside the project {root}; the studio leaves it "
                                  "alone") from None
    return real


def is_owned(project_folder: str | Path, path: str | Path) -> bool:
    """True when :func:`owned_path` accepts ``path``."""
    try:
        owned_path(project_folder, path)
        return True
    except OutsideProjectError:
        return False


def owned_subfolder(project_folder: str | Path, name: str, create: bool = False) -> Path:
    """One of the project's own folders (``trash``, ``.backups``, …), refused when it is a link or not a folder."""
    folder = owned_path(project_folder, name, what=f"the project's {name} folder")
    if folder.exists() and not folder.is_dir():
        raise OutsideProjectError(f"the project's {name} folder {folder} is not a folder")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"could not create {folder}: {exc.strerror or exc}") from exc
    return folder
