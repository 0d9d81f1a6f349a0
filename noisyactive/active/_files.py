"""The checkpoint folder of a cleaning campaign: files, checksums, journal.

A checkpoint folder holds

- ``state.npz``: every array of the campaign (labels, masks, queried indices,
  the relabel log) and a JSON header (format version, data fingerprint, seed,
  round, budget, history, the cleaner's parameters as plain data, and the
  SHA-256 of every other file it names). It is the commit point: written to
  a temporary file, fsynced and moved into place with ``os.replace``. Read
  with ``allow_pickle=False``; its arrays carry their own SHA-256 as well.
- ``answers.jsonl``: the write-ahead journal. Every batch of answers is
  appended and fsynced *before* anything else happens with it; a resumed
  campaign replays the answers the state does not hold yet.
- ``classifier-<version>.pt`` (noisyactive networks, ``torch.save`` of
  tensors and plain values, read with ``weights_only=True``) or
  ``classifier-<version>.skops`` (any other scikit-learn classifier, read
  with :mod:`skops.io` after checking its types). The phase-1 estimator is
  not stored: its result (the initial clean mask, the noise rates) is in
  the state, and a restored cleaner gets an unfitted clone.
- ``campaign.lock`` (held with :mod:`filelock` while a process works on the
  folder) and ``lock-holder.json`` (who holds it).

A cleaner notes the checksums of ``state.npz`` and ``answers.jsonl`` when
it reads or writes them and raises :class:`CheckpointChangedError` rather
than write after another session changed them.

Nothing in the folder is unpickled; every file name the header gives must be
a plain name inside the folder (see :doc:`/user_guide/checkpoints`). Every
file of the folder is opened without following symbolic links
(:func:`open_nofollow`): a link, a pipe or a directory where a checkpoint file
belongs is an error naming it, so a received folder cannot make a campaign
read or write a file elsewhere.

``state.npz`` carries a member ``__checksum__``: the SHA-256 of every other
member, the JSON header included, so an edited or damaged header is noticed
like a damaged array. Folders written before it (format version 2 without
that member) carry ``arrays_sha256`` in the header, covering the arrays only:
they are still read, their header checked only for being valid JSON, and the
next save writes the full checksum. The sizes the zip directory and the array
headers declare are checked against the file's own size before anything is
decompressed or allocated (:func:`check_archive`).
"""

import errno
import hashlib
import io
import json
import os
import stat
import tempfile
import zipfile

import numpy as np

from noisyactive.active._errors import (  # noqa: F401 - re-exported
    CheckpointChangedError,
    CheckpointCorruptedError,
    CheckpointLockedError,
)
from noisyactive.active._safe_io import validate_state

__all__ = [
    "CHECKPOINT_VERSION",
    "CheckpointChangedError",
    "CheckpointCorruptedError",
    "CheckpointLockedError",
    "append_journal",
    "read_journal",
    "read_state",
    "write_state",
    "inside",
    "file_digest",
    "disk_mark",
    "remove_temporaries",
    "remove_stale",
    "atomic_write",
    "open_nofollow",
    "check_archive",
]

CHECKPOINT_VERSION = 2
STATE_FILE = "state.npz"
JOURNAL_FILE = "answers.jsonl"
LOCK_FILE = "campaign.lock"
HOLDER_FILE = "lock-holder.json"
_HEADER_KEY = "__header__"
_CHECKSUM_KEY = "__checksum__"
_TMP_PREFIX = ".tmp-"
# Decompressed bytes an archive of the folder may declare, beyond its own size
# on disk (noisyactive writes them uncompressed: stored, ratio 1).
_ARCHIVE_SLACK = 1 << 20
_ARCHIVE_RATIO = 4
_ARCHIVE_MEMBERS = 100_000


# -- files that are what they say -----------------------------------------------

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
    >>> from noisyactive.active._files import open_nofollow
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


def check_archive(data, path, *, limit=None):
    """Refuse a zip archive (``state.npz``, a ``.skops`` or ``.pt`` file)
    whose members would decompress or allocate more than ``limit`` bytes.

    ``limit`` defaults to a few times the archive's own size: noisyactive
    writes these archives uncompressed. The members' sizes come from the zip
    directory (:mod:`zipfile` never inflates a member past the size it
    declares) and, for ``.npy`` members, from the array header's shape and
    dtype, which :func:`numpy.load` would otherwise allocate before reading
    a byte of data. Nothing is decompressed here.
    """
    if limit is None:
        limit = _ARCHIVE_RATIO * len(data) + _ARCHIVE_SLACK
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointCorruptedError(
            f"{path} is damaged (not a zip archive: {exc})."
        ) from exc
    with archive:
        infos = archive.infolist()
        total = sum(info.file_size for info in infos)
        if len(infos) > _ARCHIVE_MEMBERS or total > limit:
            raise CheckpointCorruptedError(
                f"{path} declares {len(infos)} members and {total} bytes once "
                f"decompressed, more than the {limit} bytes a checkpoint file of "
                f"{len(data)} bytes may hold; refusing to decompress it."
            )
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            try:
                with archive.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = {
                        (1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0,
                    }[version]
                    shape, _, dtype = reader(fh, max_header_size=10_000)
                    header_bytes = fh.tell()
            except Exception as exc:
                raise CheckpointCorruptedError(
                    f"{path} is damaged (member {info.filename!r}: "
                    f"{type(exc).__name__}: {exc})."
                ) from exc
            count = 1
            for dim in shape:
                count *= int(dim)
            if (
                dtype.hasobject
                or count * dtype.itemsize > info.file_size - header_bytes
            ):
                raise CheckpointCorruptedError(
                    f"{path} is damaged: member {info.filename!r} declares an "
                    f"array of shape {shape} and dtype {dtype}, larger than the "
                    f"{info.file_size} bytes it holds; refusing to allocate it."
                )


# -- atomic files ---------------------------------------------------------------


def _fsync_dir(directory):
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
    _fsync_dir(directory)


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
    >>> from noisyactive.active._files import inside
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


def disk_mark(directory):
    """Checksums of the state file and the journal (None where missing): what
    a cleaner compares to notice that another session wrote the folder."""
    marks = []
    for name in (STATE_FILE, JOURNAL_FILE):
        path = os.path.join(directory, name)
        marks.append(file_digest(path) if os.path.lexists(path) else None)
    return tuple(marks)


# -- the journal ----------------------------------------------------------------


def _line_digest(payload):
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


_ENTRY_TYPES = {
    "campaign": str,
    "seq": int,
    "round": int,
    "source": str,
    "indices": list,
    "labels": list,
    "scores": list,
}


def _entry_ok(entry):
    """Whether a journal entry has the fields and types noisyactive writes."""
    if not isinstance(entry, dict):
        return False
    for key, kind in _ENTRY_TYPES.items():
        value = entry.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
    n = len(entry["indices"])
    return (
        len(entry["labels"]) == n
        and len(entry["scores"]) == n
        and all(type(v) is int and v >= 0 for v in entry["indices"])
        and all(type(v) is int and v >= -1 for v in entry["labels"])
        and all(v is None or type(v) in (int, float) for v in entry["scores"])
    )


def append_journal(directory, entry):
    """Append one answer batch and fsync it before returning."""
    payload = json.dumps(entry, sort_keys=True)
    line = json.dumps({"entry": entry, "sha": _line_digest(payload)}) + "\n"
    path = os.path.join(directory, JOURNAL_FILE)
    new = not os.path.lexists(path)
    with open_nofollow(path, "ab") as fh:
        fh.write(line.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        _fsync_dir(directory)


def read_journal(directory, *, repair=False):
    """Entries of the journal in order.

    Only a last line without its newline is torn (a process killed while
    appending, before the answer was acknowledged): it is dropped, and cut
    off the file with ``repair=True``. Every line that ends with a newline was
    written whole and fsynced, so a damaged one, the last included, raises
    :class:`CheckpointCorruptedError` naming it (nothing is cut off).
    """
    path = os.path.join(directory, JOURNAL_FILE)
    if not os.path.lexists(path):
        return []
    raw = read_bytes(path)
    *complete, tail = raw.split(b"\n")
    entries = []
    for k, line in enumerate(complete):
        try:
            record = json.loads(line)
            entry = record["entry"]
            ok = record["sha"] == _line_digest(json.dumps(entry, sort_keys=True))
            ok = ok and _entry_ok(entry)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise CheckpointCorruptedError(
                f"{path} is damaged at line {k + 1} of {len(complete)} complete "
                f"lines; the {len(entries)} answer batches before it are intact. "
                "A complete line is never dropped: restore the file, or remove "
                "that line yourself to give up its answers."
            )
        entries.append(entry)
    if repair and tail:
        with open_nofollow(path, "r+b") as fh:
            fh.truncate(len(raw) - len(tail))
            os.fsync(fh.fileno())
    return entries


# -- the state file ----------------------------------------------------------------


def _arrays_digest(arrays):
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.shape}|{arr.dtype.str}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def write_state(directory, header, arrays):
    """Atomically write the campaign state (header dict + numpy arrays); one
    checksum covers the arrays and the header."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    header = {k: v for k, v in header.items() if k != "arrays_sha256"}
    payload[_HEADER_KEY] = np.array(json.dumps(header))
    payload[_CHECKSUM_KEY] = np.array(_arrays_digest(payload))
    path = os.path.join(directory, STATE_FILE)
    atomic_write(path, lambda fh: np.savez(fh, **payload))


def _damaged(path, why):
    return CheckpointCorruptedError(
        f"{path} is damaged ({why}); no round of this checkpoint can be trusted. "
        f"The answers are also in {JOURNAL_FILE} in the same folder."
    )


def read_state(directory):
    """``(header, arrays)`` of a checkpoint folder, or None when it has none.

    The file is read without following a link, its declared sizes checked
    before anything is decompressed, its checksum (header and arrays) and
    then the arrays' shapes and ranges (:func:`validate_state`) verified.
    """
    path = os.path.join(directory, STATE_FILE)
    if not os.path.lexists(path):
        return None
    raw = read_bytes(path)
    check_archive(raw, path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        text = str(arrays.pop(_HEADER_KEY))
        stored = arrays.pop(_CHECKSUM_KEY, None)
        header = json.loads(text)
        if not isinstance(header, dict):
            raise ValueError(f"the header is a {type(header).__name__}")
        if stored is not None:
            arrays[_HEADER_KEY] = np.array(text)
            intact = str(stored) == _arrays_digest(arrays)
            del arrays[_HEADER_KEY]
            header.pop("arrays_sha256", None)
        else:  # written before the header was covered: the arrays only
            old = header.pop("arrays_sha256", None)
            intact = old is not None and old == _arrays_digest(arrays)
    except Exception as exc:  # zip CRC, JSON, missing key: all mean damage
        raise CheckpointCorruptedError(
            f"{path} is damaged ({type(exc).__name__}: {exc}); no round of this "
            f"checkpoint can be read from it. The answers are also in "
            f"{JOURNAL_FILE} in the same folder."
        ) from exc
    if not intact:
        raise _damaged(path, "its header and arrays do not match their checksum")
    version = header.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}; this version of "
            f"noisyactive reads version {CHECKPOINT_VERSION}."
        )
    validate_state(header, arrays, path)
    return header, arrays
