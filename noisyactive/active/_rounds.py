"""Pure helpers of the relabeling rounds: sizes, seeds, rankings, records.

Kept apart from the estimator so each piece is a plain function of arrays
that can be tested on tiny inputs.
"""

import csv
import math
import numbers
import os

import numpy as np

__all__ = [
    "resolve_batch_size",
    "round_seed",
    "expand_proba",
    "FullClassView",
    "random_ranking",
    "check_ranking",
    "relabel_log_array",
    "format_round",
    "write_query_csv",
]

_SEED_HIGH = 2**31 - 1


def resolve_batch_size(batch_size, n_samples):
    """Labels per round: an int as given, a float in (0, 1) as a share of data.

    Examples
    --------
    >>> from noisyactive.active._rounds import resolve_batch_size
    >>> resolve_batch_size(70, 1000), resolve_batch_size(0.028, 17731)
    (70, 497)
    """
    if isinstance(batch_size, numbers.Integral):
        return int(batch_size)
    return max(1, math.ceil(float(batch_size) * n_samples))


def round_seed(seed, round_):
    """Seed of round ``round_``, a pure function of the campaign seed.

    A resumed campaign therefore draws exactly what an uninterrupted one
    draws in the same round.

    Examples
    --------
    >>> from noisyactive.active._rounds import round_seed
    >>> round_seed(0, 3) == round_seed(0, 3), round_seed(0, 3) == round_seed(0, 4)
    (True, False)
    """
    return int(np.random.default_rng([int(seed), int(round_)]).integers(_SEED_HIGH))


def expand_proba(proba, sub_classes, classes):
    """Put the columns of ``proba`` (over ``sub_classes``) into ``classes``.

    A classifier trained on a clean part that lacks some classes predicts
    only the classes it saw; the missing ones get probability 0.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._rounds import expand_proba
    >>> expand_proba(np.array([[0.25, 0.75]]), np.array([0, 2]), np.array([0, 1, 2]))
    array([[0.25, 0.  , 0.75]])
    """
    proba = np.asarray(proba)
    sub_classes = np.asarray(sub_classes)
    if sub_classes.shape[0] == classes.shape[0] and np.array_equal(
        sub_classes, classes
    ):
        return proba
    cols = np.searchsorted(classes, sub_classes)
    cols = np.clip(cols, 0, classes.shape[0] - 1)
    if not np.array_equal(classes[cols], sub_classes):
        raise ValueError(
            f"The classifier predicts classes {sub_classes.tolist()} that are not "
            f"all among the cleaner's classes {classes.tolist()}."
        )
    out = np.zeros((proba.shape[0], classes.shape[0]), dtype=proba.dtype)
    out[:, cols] = proba
    return out


class FullClassView:
    """A fitted classifier seen through the cleaner's full ``classes_``.

    Query strategies read ``classes_`` and ``predict_proba``; everything else
    (``embed``, ``predict``...) is the classifier's own.
    """

    def __init__(self, classifier, classes):
        self.classifier = classifier
        self.classes_ = classes

    def predict_proba(self, X):
        proba = self.classifier.predict_proba(X)
        return expand_proba(proba, self.classifier.classes_, self.classes_)

    def __getattr__(self, name):
        if name == "classifier":  # not set yet (unpickling); avoid recursion
            raise AttributeError(name)
        return getattr(self.classifier, name)


def random_ranking(candidates, n, seed):
    """``n`` candidates drawn uniformly without replacement, scores NaN."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.asarray(candidates), size=n, replace=False)
    return chosen.astype(np.intp), np.full(n, np.nan)


def check_ranking(indices, scores, candidates, n, round_):
    """Validate what a query strategy returned; returns clean arrays."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
        raise TypeError(
            f"The query strategy returned {indices.dtype} indices of shape "
            f"{indices.shape} in round {round_}; expected a 1-D integer array."
        )
    indices = indices.astype(np.intp)
    if indices.size == 0 or indices.size > n:
        raise ValueError(
            f"The query strategy returned {indices.size} indices in round "
            f"{round_}; expected between 1 and {n}."
        )
    outside = ~np.isin(indices, candidates)
    if outside.any() or np.unique(indices).size != indices.size:
        raise ValueError(
            f"The query strategy returned indices {indices[outside].tolist()} "
            f"that are not candidates, or repeated indices, in round {round_}; "
            "it must return a unique subset of the candidates."
        )
    if scores is None:
        scores = np.full(indices.size, np.nan)
    scores = np.asarray(scores, dtype=float).reshape(-1)
    if scores.size != indices.size:
        scores = np.full(indices.size, np.nan)
    return indices, scores


def relabel_log_array(records, classes):
    """Structured array ``(round, index, old_label, new_label, score)``.

    ``records`` is a dict of equal-length lists with the old and new labels
    encoded as positions in ``classes``.
    """
    dtype = [
        ("round", np.int64),
        ("index", np.int64),
        ("old_label", classes.dtype),
        ("new_label", classes.dtype),
        ("score", np.float64),
    ]
    n = len(records["round"])
    log = np.empty(n, dtype=dtype)
    if n:
        log["round"] = records["round"]
        log["index"] = records["index"]
        log["old_label"] = classes[np.asarray(records["old"], dtype=np.intp)]
        log["new_label"] = classes[np.asarray(records["new"], dtype=np.intp)]
        log["score"] = records["score"]
    return log


def format_round(entry, budget_total, n_rounds):
    """One progress line for a finished round (used with ``verbose``)."""
    line = (
        f"[ActiveLabelCleaner] round {entry['round']}/{n_rounds}: "
        f"asked {entry['n_queried']}, answered {entry['n_returned']}, "
        f"changed {entry['n_changed']}, budget {entry['budget_used']}/{budget_total}"
    )
    if entry.get("val_macro_f1") is not None:
        line += f", val macro-F1 {entry['val_macro_f1']:.4f}"
    return line


def write_query_csv(path, indices, paths=None):
    """Write the questions of a round as a CSV ``index,path`` (``index`` only
    when no paths are known), atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> from noisyactive.active._rounds import write_query_csv
    >>> out = os.path.join(tempfile.mkdtemp(), "ask.csv")
    >>> write_query_csv(out, [3, 1], ["a.png", "b.png", "c.png", "d.png"])
    >>> open(out).read().splitlines()
    ['index,path', '3,d.png', '1,b.png']
    """
    indices = np.asarray(indices, dtype=np.intp)
    directory = os.path.dirname(os.fspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if paths is None:
            writer.writerow(["index"])
            writer.writerows([[int(i)] for i in indices])
        else:
            paths = np.asarray(paths, dtype=object)
            writer.writerow(["index", "path"])
            writer.writerows([[int(i), os.fspath(paths[i])] for i in indices])
    os.replace(tmp, path)
