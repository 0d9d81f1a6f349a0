"""The write-ahead journal of a checkpoint folder, ``answers.jsonl``.

Every batch of answers is appended and fsynced *before* anything else happens
with it; a resumed campaign replays the answers the state does not hold yet.
Each line carries a digest of its entry, so a damaged line is noticed.
"""

import hashlib
import json
import os

import numpy as np

from noisyactive.active._errors import CheckpointCorruptedError
from noisyactive.active._open import fsync_dir, open_nofollow, read_bytes

__all__ = [
    "JOURNAL_FILE",
    "answer_entry",
    "append_journal",
    "read_journal",
    "entries_after",
]

JOURNAL_FILE = "answers.jsonl"


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


def answer_entry(campaign, seq, round_, source, indices, labels, scores, **extra):
    """A journal entry of one batch of answers (a NaN score is written as
    null); ``extra`` adds fields (an amendment's ``amends``, ``who``...)."""
    return {
        "campaign": campaign,
        "seq": int(seq),
        "round": int(round_),
        "source": source,
        **extra,
        "indices": np.asarray(indices).tolist(),
        "labels": np.asarray(labels).tolist(),
        "scores": [None if v is None or v != v else float(v) for v in scores],
    }


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
        fsync_dir(directory)


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


def entries_after(directory, campaign, seq):
    """The journal entries of ``campaign`` numbered after ``seq`` (the answers
    a state that has applied ``seq`` entries does not hold yet), their null
    scores read as NaN."""
    for entry in read_journal(directory):
        if entry["campaign"] == campaign and entry["seq"] > seq:
            scores = [np.nan if v is None else v for v in entry["scores"]]
            yield {**entry, "scores": scores}
