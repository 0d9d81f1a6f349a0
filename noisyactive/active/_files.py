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
a plain name inside the folder (see :doc:`/user_guide/checkpoints`).
"""

import hashlib
import json
import os
import tempfile

import numpy as np

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
]

CHECKPOINT_VERSION = 2
STATE_FILE = "state.npz"
JOURNAL_FILE = "answers.jsonl"
LOCK_FILE = "campaign.lock"
HOLDER_FILE = "lock-holder.json"
_HEADER_KEY = "__header__"
_TMP_PREFIX = ".tmp-"


class CheckpointLockedError(RuntimeError):
    """Another process works on this checkpoint folder."""


class CheckpointChangedError(RuntimeError):
    """Another session wrote the folder after this cleaner read it."""


class CheckpointCorruptedError(ValueError):
    """A checkpoint file is damaged or missing; the message names it."""


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


def remove_temporaries(directory):
    """Delete temporary files a killed process left (call under the lock)."""
    for entry in os.listdir(directory):
        if entry.startswith(_TMP_PREFIX):
            os.remove(os.path.join(directory, entry))


def remove_stale(directory, prefix, keep):
    """Delete files ``prefix*`` in ``directory`` except ``keep``."""
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry != keep:
            os.remove(os.path.join(directory, entry))


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
    return path


def file_digest(path):
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def disk_mark(directory):
    """Checksums of the state file and the journal (None where missing): what
    a cleaner compares to notice that another session wrote the folder."""
    marks = []
    for name in (STATE_FILE, JOURNAL_FILE):
        path = os.path.join(directory, name)
        marks.append(file_digest(path) if os.path.isfile(path) else None)
    return tuple(marks)


# -- the journal ----------------------------------------------------------------


def _line_digest(payload):
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def append_journal(directory, entry):
    """Append one answer batch and fsync it before returning."""
    payload = json.dumps(entry, sort_keys=True)
    line = json.dumps({"entry": entry, "sha": _line_digest(payload)}) + "\n"
    path = os.path.join(directory, JOURNAL_FILE)
    new = not os.path.exists(path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        _fsync_dir(directory)


def read_journal(directory, *, repair=False):
    """Entries of the journal in order.

    A torn last line (a process killed while appending, before the answer was
    acknowledged) is dropped, and cut off the file with ``repair=True``; a
    damaged line before the last raises :class:`CheckpointCorruptedError`.
    """
    path = os.path.join(directory, JOURNAL_FILE)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        raw = fh.read()
    entries, good_bytes, lines = [], 0, raw.split(b"\n")
    for k, line in enumerate(lines):
        if not line:
            continue
        try:
            record = json.loads(line)
            entry = record["entry"]
            ok = record["sha"] == _line_digest(json.dumps(entry, sort_keys=True))
        except (ValueError, KeyError, TypeError):
            ok = False
        last = k == len(lines) - 1 or (k == len(lines) - 2 and not lines[-1])
        if not ok or (k == len(lines) - 1 and not raw.endswith(b"\n")):
            if last:
                break
            raise CheckpointCorruptedError(
                f"{path} is damaged at line {k + 1}; the {len(entries)} answer "
                "batches before it are intact."
            )
        entries.append(entry)
        good_bytes += len(line) + 1
    if repair and good_bytes < len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
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
    """Atomically write the campaign state (header dict + numpy arrays)."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    header = dict(header, arrays_sha256=_arrays_digest(payload))
    payload[_HEADER_KEY] = np.array(json.dumps(header))
    path = os.path.join(directory, STATE_FILE)
    atomic_write(path, lambda fh: np.savez(fh, **payload))


def read_state(directory):
    """``(header, arrays)`` of a checkpoint folder, or None when it has none."""
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        header = json.loads(str(arrays.pop(_HEADER_KEY)))
        intact = header.pop("arrays_sha256", None) == _arrays_digest(arrays)
    except Exception as exc:  # zip CRC, JSON, missing key: all mean damage
        raise CheckpointCorruptedError(
            f"{path} is damaged ({type(exc).__name__}: {exc}); no round of this "
            f"checkpoint can be read from it. The answers are also in "
            f"{JOURNAL_FILE} in the same folder."
        ) from exc
    version = header.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}; this version of "
            f"noisyactive reads version {CHECKPOINT_VERSION}."
        )
    if not intact:
        raise CheckpointCorruptedError(
            f"{path} is damaged (its arrays do not match their checksum); no "
            f"round of this checkpoint can be trusted. The answers are also in "
            f"{JOURNAL_FILE} in the same folder."
        )
    return header, arrays
