"""Checkpoint files opened as what they are.

Every file of a checkpoint folder is opened without following symbolic links
(:func:`open_nofollow`): a link, a pipe or a directory where a checkpoint file
belongs is an error naming it, so a received folder cannot make a campaign
read or write a file elsewhere. Files are written atomically
(:func:`atomic_write`), and every file name a header gives must be a plain
name inside the folder (:func:`inside`).
"""

import csv
import errno
import hashlib
import io
import os
import stat
import tempfile

from noisyactive.active._errors import CheckpointCorruptedError

__all__ = [
    "open_nofollow",
    "read_bytes",
    "fsync_dir",
    "atomic_write",
    "remove_temporaries",
    "remove_stale",
    "inside",
    "file_digest",
    "write_csv",
]

_TMP_PREFIX = ".tmp-"

_MODES = {
    "rb": os.O_RDONLY,
    "r+b": os.O_RDWR,
    "ab": os.O_WRONLY | os.O_APPEND | os.O_CREAT,
}


def _not_regular(path, what):
    return CheckpointCorruptedError(
        f"{path} is {what}, not a regular file: the files of a checkpoint folder "
        "are never followed elsewhere, so nothing was read from or written to it. "
        "Put the file itself in the folder (or remove the entry)."
    )


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file (pipe, socket or device)"


def open_nofollow(path, mode="rb"):
    """Open a checkpoint file without following a symbolic link.

    ``mode`` is ``"rb"``, ``"r+b"`` or ``"ab"`` (which creates the file). A
    symbolic link (even one pointing inside the folder), a directory, a pipe
    or a device raises :class:`CheckpointCorruptedError` naming the path;
    ``os.O_NOFOLLOW`` makes the check and the open one step where the system
    has it, the ``lstat``/``fstat`` checks cover the rest.

    Examples
    --------
    >>> import os, tempfile
    >>> from noisyactive.active._open import open_nofollow
    >>> folder = tempfile.mkdtemp()
    >>> os.symlink("/etc/hostname", os.path.join(folder, "answers.jsonl"))
    >>> try:
    ...     open_nofollow(os.path.join(folder, "answers.jsonl"), "ab")
    ... except ValueError as exc:
    ...     print(str(exc).split(",")[0].endswith("answers.jsonl is a symbolic link"))
    True
    """
    path = os.fspath(path)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        if mode != "ab":
            raise
    else:
        if not stat.S_ISREG(before.st_mode):
            raise _not_regular(path, _kind(before.st_mode))
    flags = _MODES[mode] | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # the link appeared since
            raise _not_regular(path, "a symbolic link") from None
        if exc.errno in (errno.EISDIR, errno.ENXIO):
            raise _not_regular(path, "a directory or special file") from None
        raise
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise _not_regular(path, _kind(now.st_mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path):
    """The bytes of a checkpoint file, read with :func:`open_nofollow`."""
    with open_nofollow(path, "rb") as fh:
        return fh.read()


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, write):
    """Write through ``write(fileobj)`` into a temporary file, fsync, rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(directory)


def _remove_entry(path):
    # unlink never follows a link: a link is removed, not its target
    mode = os.lstat(path).st_mode
    if stat.S_ISDIR(mode):
        raise _not_regular(path, "a directory")
    os.remove(path)


def remove_temporaries(directory):
    """Delete temporary files a killed process left (call under the lock)."""
    for entry in os.listdir(directory):
        if entry.startswith(_TMP_PREFIX):
            _remove_entry(os.path.join(directory, entry))


def remove_stale(directory, prefix, keep):
    """Delete files ``prefix*`` in ``directory`` except ``keep``."""
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry != keep:
            _remove_entry(os.path.join(directory, entry))


def inside(directory, name):
    """Path of ``name`` in ``directory``; refuses anything that resolves outside.

    Examples
    --------
    >>> from noisyactive.active._open import inside
    >>> try:
    ...     inside("/tmp/c", "../x.skops")
    ... except ValueError as exc:
    ...     print(str(exc)[:43])
    The checkpoint names the file '../x.skops',
    """
    root = os.path.realpath(directory)
    ok = isinstance(name, str) and name and os.path.basename(name) == name
    path = os.path.realpath(os.path.join(root, name)) if ok else ""
    if not ok or name in (".", "..") or os.path.dirname(path) != root:
        raise CheckpointCorruptedError(
            f"The checkpoint names the file {name!r}, which is not a plain file "
            f"name inside {root}; refusing to read it."
        )
    return os.path.join(root, name)  # a link in the folder is refused on opening


def file_digest(path):
    """SHA-256 of a file, hex (a symbolic link is refused, not followed)."""
    digest = hashlib.sha256()
    with open_nofollow(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv(path, header, rows):
    """Write a UTF-8 CSV atomically (a reader never sees half a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(directory, exist_ok=True)
    data = buffer.getvalue().encode("utf-8")
    atomic_write(os.path.abspath(os.fspath(path)), lambda fh: fh.write(data))
