"""Atomic file writing, checksums and locks shared by every script: outputs are written to a temporary sibling and
renamed into place, so an interrupted step never leaves a half-written file that weasel would hash.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from weasel.util import get_checksum

from pt_pipelines.errors import StepError

# Kept in a corpus folder while convert moves its new files in: train refuses the folder while it is there.
CONVERT_MARKER = ".convert-incomplete"

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf8")


def write_json(path: Path | str, data: Any) -> None:
    """Write pretty, key-sorted JSON atomically (stable bytes, stable checksums)."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def replace_tree(src: Path | str, dst: Path | str) -> None:
    """Move the directory or file `src` onto `dst`, replacing what was there. The old `dst` is renamed aside first
    and removed only after the new one is in place, so a failure never leaves `dst` missing and `src` lost."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    remove_path(old)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    remove_path(old)


def copy_tree(src: Path | str, dst: Path | str) -> None:
    """Copy the directory or file `src` onto `dst` atomically: into a hidden sibling, then replace_tree."""
    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.copy-{os.getpid()}")
    remove_path(tmp)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp)
        replace_tree(tmp, dst)
    finally:
        remove_path(tmp)


def remove_path(path: Path | str) -> None:
    """Remove a file or a directory tree; a missing path is not an error."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()  # a link is removed itself, never what it points to


def checksum(path: Path | str) -> str:
    """The md5 weasel records for a file or directory (same function, same value)."""
    return get_checksum(Path(path))


class LockHeld(StepError, RuntimeError):
    """Another run holds the lock of what this step writes; the message is the one-line error to show."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        pass
    return True


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text(encoding="utf8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def run_lock(target: Path | str) -> Iterator[Path]:
    """Hold `<target>.lock` while this process writes `target` (or state beside it). The lock file is created with
    O_CREAT|O_EXCL and holds our pid, so a second run on the same target stops with LockHeld instead of both writing. A
    lock whose pid is dead (a killed run) is taken over. Limits: a pid reused after a reboot looks alive (the message
    says to remove the lock), and O_EXCL is not reliable on some network filesystems."""
    target = Path(target)
    lock = target.with_name(target.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_UMASK)
        except FileExistsError:
            pid = _lock_owner(lock)
            try:  # no pid: just created by a run that has not written it yet (young), or left empty by a crash
                held = _pid_alive(pid) if pid is not None else time.time() - lock.stat().st_mtime < 10
            except FileNotFoundError:
                continue
            if held:
                raise LockHeld(_held_message(lock, pid)) from None
            lock.unlink(missing_ok=True)  # stale: its run is gone
            continue
        with os.fdopen(fd, "w", encoding="utf8") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise LockHeld(_held_message(lock, _lock_owner(lock)))
    try:
        yield lock
    finally:
        if _lock_owner(lock) == os.getpid():
            lock.unlink()


def _held_message(lock: Path, pid: int | None) -> str:
    owner = f"pid {pid}" if pid is not None else "pid not yet written"
    return f"{lock}: another run holds {lock} ({owner}): wait for it, or remove the lock if no run is active"


@contextmanager
def scratch_folder(path: Path | str) -> Iterator[Path]:
    """A locked, empty folder to build outputs in before moving them into place; removed afterwards whatever happens."""
    path = Path(path)
    with run_lock(path):
        remove_path(path)
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            remove_path(path)


def fault_point(name: str) -> None:
    """A point where the fault tests SIGKILL a step (PT_PIPELINES_KILL_AT=name): between two writes that must
    not be seen half-done, which a kill after a delay would hit only by chance."""
    if os.environ.get("PT_PIPELINES_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
