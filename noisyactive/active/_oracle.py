"""Oracles (who answers relabeling questions) and the check of their answers.

An oracle is any callable ``oracle(ids, X_subset) -> labels``: ``ids`` are the
sample ids of the questions (the indices into the training data unless
``sample_ids`` was passed to ``fit``) and ``X_subset`` the matching rows. The
answer is one label per question, given as a class value; ``None``, NaN or a
masked entry means "abstain" (the expert could not tell).
"""

import hashlib
import numbers

import numpy as np

__all__ = ["SimulatedOracle", "validate_oracle_labels"]

_MAX_LISTED = 10  # indices quoted in an error message before "..."


def _listed(values):
    """Short printable list for error messages."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    head = ", ".join(repr(v) for v in values[:_MAX_LISTED])
    return f"[{head}{', ...' if len(values) > _MAX_LISTED else ''}]"


def _is_abstention(value):
    if value is None or value is np.ma.masked:
        return True
    # NaN is the only value that is not equal to itself; strings never are NaN.
    return isinstance(value, numbers.Real) and value != value


class UnknownLabelError(ValueError):
    """An oracle answered with labels outside the known classes.

    ``encoded`` holds the encoded answers (-1 for abstentions and for the
    unknown labels) and ``valid`` marks the answers that are usable, so that a
    campaign keeps them instead of discarding the whole batch."""

    def __init__(self, message, encoded, valid):
        super().__init__(message)
        self.encoded, self.valid = encoded, valid


def validate_oracle_labels(answers, classes, *, n_expected, round_=None, indices=None):
    """Check an oracle's answers and encode them as indices into ``classes``.

    Parameters
    ----------
    answers : array-like of shape (n_expected,)
        One label per question, as class values. ``None``, NaN and masked
        entries (``numpy.ma``) are abstentions.
    classes : ndarray of shape (n_classes,)
        The known classes (``classes_`` of the cleaner).
    n_expected : int
        Number of questions asked.
    round_ : int, default=None
        Round number, quoted in error messages.
    indices : array-like of int, default=None
        Sample indices of the questions, quoted in error messages.

    Returns
    -------
    labels_encoded : ndarray of int of shape (n_expected,)
        Position of each answer in ``classes``; ``-1`` for an abstention.
    answered : ndarray of bool of shape (n_expected,)
        False where the oracle abstained.

    Raises
    ------
    ValueError
        If the number of answers differs from ``n_expected`` or an answer is
        not one of ``classes`` (:class:`UnknownLabelError`, which carries the
        usable answers); the message names the round and the indices.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active import validate_oracle_labels
    >>> enc, answered = validate_oracle_labels(
    ...     ["cat", None, "dog"], np.array(["cat", "dog"]), n_expected=3)
    >>> enc, answered
    (array([ 0, -1,  1]), array([ True, False,  True]))
    """
    where = f" in round {round_}" if round_ is not None else ""
    idx = np.arange(n_expected) if indices is None else np.asarray(indices)
    if isinstance(answers, (str, bytes)) or np.ndim(answers) == 0:
        raise ValueError(
            f"The oracle{where} returned {answers!r}; expected a sequence of "
            f"{n_expected} labels, one per queried sample {_listed(idx)}."
        )
    mask = np.ma.getmaskarray(answers) if np.ma.isMaskedArray(answers) else None
    values = list(np.ma.getdata(answers)) if mask is not None else list(answers)
    if len(values) != n_expected:
        raise ValueError(
            f"The oracle{where} returned {len(values)} labels for {n_expected} "
            f"queried samples (indices {_listed(idx)}); expected exactly one "
            "label per sample (None to abstain)."
        )
    lookup = {c: k for k, c in enumerate(np.asarray(classes).tolist())}
    # True == 1 and hashes like it: without this, True would be class 1.
    bool_classes = all(isinstance(c, bool) for c in lookup)
    encoded = np.full(n_expected, -1, dtype=np.intp)
    answered = np.ones(n_expected, dtype=bool)
    bad = []
    for pos, value in enumerate(values):
        if (mask is not None and mask[pos]) or _is_abstention(value):
            answered[pos] = False
            continue
        key = value.item() if isinstance(value, np.generic) else value
        if isinstance(key, bool) and not bool_classes:
            bad.append(pos)
            continue
        try:
            encoded[pos] = lookup[key]
        except (KeyError, TypeError):  # TypeError: unhashable answer
            bad.append(pos)
    if bad:
        valid = np.ones(n_expected, dtype=bool)
        valid[bad] = False
        raise UnknownLabelError(
            f"The oracle{where} returned labels {_listed(values[p] for p in bad)} "
            f"for samples {_listed(idx[bad].tolist())} that are not among the "
            f"known classes {_listed(np.asarray(classes).tolist())}"
            f"{' (True/False are not classes here)' if not bool_classes else ''}. "
            "Answer with class values, or None to abstain.",
            encoded,
            valid,
        )
    return encoded, answered


def _row_digest(row):
    """Digest of one sample (a feature row, an image or a file path)."""
    arr = np.asarray(row)
    digest = hashlib.blake2b(digest_size=16)
    if arr.dtype.kind in "OUS":
        digest.update("\x1f".join(map(str, arr.ravel().tolist())).encode())
    else:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.digest()


class SimulatedOracle:
    """Oracle that answers with known true labels (for benchmarks and tests).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The true label of every sample of the full data set.
    X : array-like of shape (n_samples, ...), default=None
        The full data set, row ``i`` belonging to ``y_true[i]``. When given,
        the oracle finds each queried sample by the content of its row, so it
        answers correctly even when the cleaner is fitted on a subset (inside
        ``GridSearchCV`` or ``cross_validate``) without ``sample_ids``. Rows
        that occur several times with different true labels are ambiguous and
        raise an error; pass ``sample_ids`` to ``fit`` for such data.

    Notes
    -----
    Without ``X`` the oracle answers ``y_true[ids]``: the ids are indices into
    ``y_true``. A cleaner fitted on the full data passes exactly those; inside
    cross-validation pass ``sample_ids=np.arange(n_samples)`` to ``fit`` (the
    search slices it per fold) or give ``X`` here.

    The oracle never changes after construction, so copies share it:
    ``copy.deepcopy`` (which ``sklearn.clone`` uses for parameters) returns the
    same object instead of duplicating ``X`` for every fold.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active import SimulatedOracle
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> oracle = SimulatedOracle(np.array(["a", "b", "c"]), X=X)
    >>> oracle([0, 1], X[[2, 0]]).tolist()  # ids are ignored when X is known
    ['c', 'a']
    >>> SimulatedOracle(np.array([7, 8, 9]))(np.array([2, 0]), None).tolist()
    [9, 7]
    """

    def __init__(self, y_true, *, X=None):
        self.y_true = y_true
        self.X = X

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        source = "" if self.X is None else ", X=<rows>"
        return f"SimulatedOracle(<{len(self.y_true)} labels>{source})"

    def _table(self):
        # Built on first use and cached: a dict from row digest to row number.
        table = self.__dict__.get("_digest_table")
        if table is None:
            X = np.asarray(self.X)
            table = {}
            for i in range(X.shape[0]):
                table.setdefault(_row_digest(X[i]), []).append(i)
            self.__dict__["_digest_table"] = table
        return table

    def _positions_from_rows(self, X_subset):
        X = np.asarray(self.X)
        sub = np.asarray(X_subset)
        if sub.dtype != X.dtype and X.dtype.kind not in "OUS":
            # The cleaner may have converted the rows (e.g. int -> float64);
            # bring them back to the dtype the table was built from.
            cast = sub.astype(X.dtype)
            if not np.array_equal(cast, sub):
                raise ValueError(
                    f"SimulatedOracle cannot match rows of dtype {sub.dtype} to "
                    f"its X of dtype {X.dtype}; pass X with the dtype used in fit."
                )
            sub = cast
        y_true = np.asarray(self.y_true)
        table = self._table()
        positions = np.empty(sub.shape[0], dtype=np.intp)
        for k in range(sub.shape[0]):
            rows = table.get(_row_digest(sub[k]))
            if rows is None:
                raise ValueError(
                    f"SimulatedOracle: queried sample {k} of this batch does not "
                    "match any row of the X given to the oracle. Give the oracle "
                    "the same data the cleaner is fitted on (or a superset)."
                )
            if len(rows) > 1 and len(set(y_true[rows].tolist())) > 1:
                raise ValueError(
                    f"SimulatedOracle: a queried row occurs {len(rows)} times in "
                    "X with different true labels; pass sample_ids to fit and "
                    "build the oracle without X."
                )
            positions[k] = rows[0]
        return positions

    def __call__(self, ids, X_subset):
        """Return the true labels of the queried samples.

        Parameters
        ----------
        ids : array-like of int of shape (n_queries,)
            Sample ids (indices into ``y_true``); ignored when ``X`` is set.
        X_subset : array-like of shape (n_queries, ...)
            The queried rows; used when ``X`` is set.

        Returns
        -------
        labels : ndarray of shape (n_queries,)
        """
        y_true = np.asarray(self.y_true)
        if self.X is not None:
            return y_true[self._positions_from_rows(X_subset)]
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(
                "SimulatedOracle without X needs integer sample ids (indices "
                f"into y_true); got dtype {ids.dtype}."
            )
        out_of_range = (ids < 0) | (ids >= y_true.shape[0])
        if out_of_range.any():
            raise ValueError(
                f"SimulatedOracle got sample ids {_listed(ids[out_of_range])} "
                f"outside y_true's {y_true.shape[0]} labels. Inside "
                "cross-validation pass sample_ids to fit, or X to the oracle."
            )
        return y_true[ids]
