"""Answers read back from a CSV (``query(csv_path=...)``, a spreadsheet).

Rows need ``index`` and ``label`` (empty: abstain); an optional
``annotator`` column says who answered each row.
"""

import csv
import os

import numpy as np

from noisyactive.active._annotators import DEFAULT_ANNOTATOR

__all__ = ["read_answers_csv", "read_csv_with_annotators"]


def read_answers_csv(path, classes):
    """``(indices, labels)`` of a CSV written by ``query(csv_path=...)``."""
    return read_csv_with_annotators(path, classes)[:2]


def read_csv_with_annotators(path, classes):
    """``(indices, labels, annotators)``: ``annotators`` the optional
    ``annotator`` column (an empty cell: ``"expert"``), None without it."""
    lookup = {str(c): c for c in classes.tolist()}
    indices, labels, who = [], [], []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"index", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{os.fspath(path)} has no column(s) {sorted(missing)}; "
                "expected the file query(csv_path=...) wrote."
            )
        for line, row in enumerate(reader, start=2):
            value = (row["label"] or "").strip()
            if value and value not in lookup:
                raise ValueError(
                    f"{os.fspath(path)}, row {line} (index {row['index']}): "
                    f"label {value!r} is not one of the allowed labels "
                    f"{sorted(lookup)}; leave it empty to abstain."
                )
            try:
                indices.append(int(row["index"]))
            except ValueError:
                raise ValueError(
                    f"{os.fspath(path)}, row {line}: index {row['index']!r} is "
                    "not an integer."
                ) from None
            labels.append(lookup[value] if value else None)
            who.append((row.get("annotator") or "").strip() or DEFAULT_ANNOTATOR)
        has = "annotator" in (reader.fieldnames or [])
    return np.asarray(indices, dtype=np.intp), labels, who if has else None
