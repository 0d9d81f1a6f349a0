"""One writer per checkpoint folder: :class:`CheckpointLock` (:mod:`filelock`).

``campaign.lock`` is held while a process works on the folder and
``lock-holder.json`` names the holder for the error another process gets.
"""

import json
import os
import socket
import threading
import time

from filelock import FileLock, Timeout

from noisyactive.active._files import (
    HOLDER_FILE,
    LOCK_FILE,
    CheckpointLockedError,
    atomic_write,
)

__all__ = ["CheckpointLock"]


# (folder, thread) -> [FileLock, how often that thread took it]: re-entrant
# within one thread; another thread of the process finds the folder busy.
_HELD = {}
_HELD_GUARD = threading.Lock()


def _forget_held_in_child():
    # A forked child does not hold its parent's locks (nor its guard's state).
    global _HELD_GUARD
    _HELD.clear()
    _HELD_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_held_in_child)


class CheckpointLock:
    """One writer per checkpoint folder, across processes and hosts sharing it.

    A :class:`filelock.FileLock` on ``campaign.lock``: the operating system
    releases it when its process dies, so a lock left by a killed process is
    taken over by the next one. ``lock-holder.json`` names the holder (pid,
    host, since) for the error another process gets. Re-entrant inside one
    thread (``fit`` holds it while ``query``/``teach`` take it again); another
    thread of the process, or a forked child, finds the folder busy.

    Parameters
    ----------
    folder : str or path-like
        The checkpoint folder (created if missing).

    Examples
    --------
    >>> import tempfile
    >>> from noisyactive.active import CheckpointLock
    >>> folder = tempfile.mkdtemp()
    >>> with CheckpointLock(folder) as lock:
    ...     lock.holder()["pid"] == __import__("os").getpid()
    True
    """

    def __init__(self, folder):
        self.folder = os.fspath(folder)

    def _lock(self):
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(os.path.realpath(self.folder), LOCK_FILE)
        # One FileLock object per path and process (is_singleton): two objects
        # on one file would block each other inside the same process.
        return FileLock(
            path,
            timeout=0,
            is_singleton=True,
            thread_local=False,
            fallback_to_soft=False,
        )

    def holder(self):
        """``{"pid", "host", "since"}`` of the holder as last written, or None."""
        try:
            with open(os.path.join(self.folder, HOLDER_FILE), encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def held(self):
        """Whether this thread holds the lock."""
        return (os.path.realpath(self.folder), threading.get_ident()) in _HELD

    def acquire(self):
        """Take the lock or raise :class:`CheckpointLockedError`."""
        with _HELD_GUARD:
            return self._acquire()

    def _acquire(self):
        folder = os.path.realpath(self.folder)
        key = (folder, threading.get_ident())
        if key in _HELD:
            _HELD[key][1] += 1
            return self
        try:
            if any(f == folder for f, _ in _HELD):  # another thread has it
                raise Timeout(folder)
            lock = self._lock()
            lock.acquire()
        except Timeout:
            who = self.holder() or {}
            raise CheckpointLockedError(
                f"The checkpoint folder {self.folder!r} is in use by process "
                f"{who.get('pid', '?')} on host {who.get('host', '?')} since "
                f"{who.get('since', '?')}. Wait until it finishes (one writer at a "
                "time keeps every answer), or use another folder."
            ) from None
        except OSError as exc:  # read-only, not a folder, ...: say so up front
            raise type(exc)(
                exc.errno,
                f"Cannot write to the checkpoint folder {self.folder!r} "
                f"({exc.strerror}); nothing was asked or changed",
            ) from exc
        _HELD[key] = [lock, 1]  # a strong reference: a collected lock is released
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        path = os.path.join(self.folder, HOLDER_FILE)
        atomic_write(path, lambda fh: fh.write(json.dumps(info).encode()))
        return self

    def release(self):
        with _HELD_GUARD:
            self._release()

    def _release(self):
        key = (os.path.realpath(self.folder), threading.get_ident())
        _HELD[key][1] -= 1
        if _HELD[key][1]:
            return
        lock, _ = _HELD.pop(key)
        try:
            os.remove(os.path.join(self.folder, HOLDER_FILE))
        except OSError:
            pass
        lock.release(force=True)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
