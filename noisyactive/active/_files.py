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

This module holds the state file and re-exports the rest: opening and atomic
writing in :mod:`~noisyactive.active._open`, the size checks in
:mod:`~noisyactive.active._archive`, the journal in
:mod:`~noisyactive.active._journal`.
"""

import hashlib
import io
import json
import os

import numpy as np

from noisyactive.active._archive import check_archive
from noisyactive.active._errors import (  # noqa: F401 - re-exported
    CheckpointChangedError,
    CheckpointCorruptedError,
    CheckpointLockedError,
)
from noisyactive.active._journal import (  # noqa: F401 - re-exported
    JOURNAL_FILE,
    append_journal,
    read_journal,
)
from noisyactive.active._open import (  # noqa: F401 - re-exported
    atomic_write,
    file_digest,
    inside,
    open_nofollow,
    read_bytes,
    remove_stale,
    remove_temporaries,
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

CHECKPOINT_VERSION = 4
READABLE_VERSIONS = (2, 3, 4)  # 2: before the answer table, 3: the model votes
STATE_FILE = "state.npz"
LOCK_FILE = "campaign.lock"
HOLDER_FILE = "lock-holder.json"
_HEADER_KEY = "__header__"
_CHECKSUM_KEY = "__checksum__"


def disk_mark(directory):
    """Checksums of the state file and the journal (None where missing): what
    a cleaner compares to notice that another session wrote the folder."""
    marks = []
    for name in (STATE_FILE, JOURNAL_FILE):
        path = os.path.join(directory, name)
        marks.append(file_digest(path) if os.path.lexists(path) else None)
    return tuple(marks)


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
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}; this version of "
            f"noisyactive reads versions {READABLE_VERSIONS[0]} to "
            f"{CHECKPOINT_VERSION}."
        )
    validate_state(header, arrays, path)
    return header, arrays
