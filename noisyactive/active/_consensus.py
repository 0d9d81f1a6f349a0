"""Consensus of several annotators: pure functions on answer arrays.

An answer table is three integer vectors of equal length: ``index`` (the
sample), ``annotator`` (a position in the list of annotators) and ``label``
(a position in ``classes``; -1, an abstention, is ignored here). The rules:

- :func:`majority`: the most frequent answer; a tie is left open (-1);
- :func:`dawid_skene`: Dawid and Skene's (1979) EM over one confusion matrix
  per annotator, optionally with a classifier's probabilities as one more
  voter (CROWDLAB-style, Goh et al. 2022);

and what a campaign reports of them: :func:`agreement` (the share of each
sample's answers that agree with its consensus) and
:func:`annotator_accuracy` (each annotator's share of answers that agree,
weighted by the posterior under Dawid--Skene).
"""

import numpy as np

__all__ = [
    "vote_counts",
    "majority",
    "dawid_skene",
    "agreement",
    "annotator_accuracy",
]


def _valid(index, annotator, label):
    index = np.asarray(index, dtype=np.intp)
    annotator = np.asarray(annotator, dtype=np.intp)
    label = np.asarray(label, dtype=np.intp)
    ok = label >= 0
    return index[ok], annotator[ok], label[ok]


def vote_counts(index, label, n_samples, n_classes):
    """``(n_samples, n_classes)`` counts of the answers (abstentions ignored).

    Examples
    --------
    >>> from noisyactive.active._consensus import vote_counts
    >>> vote_counts([0, 0, 1, 2], [1, 1, 0, -1], 3, 2).tolist()
    [[0, 2], [1, 0], [0, 0]]
    """
    index, _, label = _valid(index, np.zeros(len(index)), label)
    counts = np.zeros((n_samples, n_classes), dtype=np.int64)
    np.add.at(counts, (index, label), 1)
    return counts


def majority(counts):
    """The most frequent answer per row of ``counts``; -1 without answers or
    on a tie (left open: no label is chosen).

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._consensus import majority
    >>> majority(np.array([[2, 1], [1, 1], [0, 0], [0, 3]])).tolist()
    [0, -1, -1, 1]
    """
    counts = np.asarray(counts)
    top = counts.max(axis=1)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    out = counts.argmax(axis=1).astype(np.intp)
    out[(top == 0) | tied] = -1
    return out


def dawid_skene(
    index,
    annotator,
    label,
    n_samples,
    n_annotators,
    n_classes,
    *,
    proba=None,
    model_weight=1.0,
    smoothing=0.1,
    max_iter=100,
    tol=1e-6,
):
    """Dawid--Skene EM: each sample's posterior over the true class.

    Parameters
    ----------
    index, annotator, label : array-like of int
        The answer table (``label`` -1 is ignored).
    n_samples, n_annotators, n_classes : int
    proba : ndarray of shape (n_samples, n_classes), default=None
        A classifier's probabilities, one more voter on every answered
        sample (its log-probabilities times ``model_weight`` are added).
    smoothing : float, default=0.1
        Dirichlet pseudo-count of every confusion entry (and twice that on
        the diagonal), so that a class an annotator rarely saw does not get a
        confusion row of zeros.
    max_iter, tol : int, float
        EM stops when no posterior moves by more than ``tol``.

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_classes)
        NaN rows for samples without an answer.
    confusion : ndarray of shape (n_annotators, n_classes, n_classes)
        ``confusion[j, k, l]``: probability that annotator ``j`` answers
        ``l`` for a sample of true class ``k``.
    soft_counts : ndarray of shape (n_annotators, n_classes)
        The posterior mass behind each confusion row (its evidence).

    Examples
    --------
    Two reliable annotators and one who always answers 1: the third is
    outvoted, and its confusion row for class 0 says so.

    >>> from noisyactive.active._consensus import dawid_skene
    >>> idx = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    >>> ann = [0, 1, 2, 0, 1, 2, 0, 1, 2]
    >>> lab = [0, 0, 1, 1, 1, 1, 0, 0, 1]
    >>> post, conf, _ = dawid_skene(idx, ann, lab, 3, 3, 2)
    >>> post.argmax(1).tolist(), bool(conf[2, 0, 1] > 0.5)
    ([0, 1, 0], True)
    """
    index, annotator, label = _valid(index, annotator, label)
    k = n_classes
    answered = np.zeros(n_samples, dtype=bool)
    answered[index] = True
    counts = vote_counts(index, label, n_samples, k).astype(float)
    post = counts + 1e-9
    log_model = None
    if proba is not None:
        log_model = model_weight * np.log(np.clip(np.asarray(proba, float), 1e-6, 1))
        post = post * np.exp(log_model)
    post = post / post.sum(axis=1, keepdims=True)
    prior_eye = smoothing * (np.ones((k, k)) + np.eye(k))
    for _ in range(max_iter):
        # M step: class prior and one confusion matrix per annotator.
        prior = post[answered].sum(axis=0) + 1.0
        prior = prior / prior.sum()
        soft = np.zeros((n_annotators, k, k))
        np.add.at(soft, (annotator, slice(None), label), post[index])
        confusion = soft + prior_eye
        confusion /= confusion.sum(axis=2, keepdims=True)
        # E step: the posterior of every answered sample.
        logp = np.tile(np.log(prior), (n_samples, 1))
        np.add.at(logp, index, np.log(confusion[annotator, :, label]))
        if log_model is not None:
            logp = logp + log_model
        logp -= logp.max(axis=1, keepdims=True)
        new = np.exp(logp)
        new /= new.sum(axis=1, keepdims=True)
        delta = np.abs(new[answered] - post[answered]).max() if answered.any() else 0
        post = new
        if delta < tol:
            break
    soft = np.zeros((n_annotators, k, k))
    np.add.at(soft, (annotator, slice(None), label), post[index])
    post[~answered] = np.nan
    return post, confusion, soft.sum(axis=2)


def consensus_of(posterior):
    """The most probable class per row; -1 for NaN rows and exact ties."""
    post = np.nan_to_num(np.asarray(posterior, dtype=float), nan=0.0)
    return majority(post) if post.size else np.zeros(0, np.intp)


def agreement(index, label, consensus):
    """The share of each sample's answers equal to its ``consensus``; NaN
    without an answer. Where the consensus is open (-1, a tie), the share of
    the most frequent answer.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._consensus import agreement
    >>> agreement([0, 0, 0, 1, 1], [2, 2, 1, 0, 1], np.array([2, -1, -1]))
    array([0.66666667, 0.5       ,        nan])
    """
    consensus = np.asarray(consensus, dtype=np.intp)
    n = consensus.shape[0]
    index, _, label = _valid(index, np.zeros(len(index)), label)
    n_classes = max(int(label.max(initial=-1)), int(consensus.max(initial=-1))) + 1
    counts = vote_counts(index, label, n, max(n_classes, 1))
    total = counts.sum(axis=1)
    agree = np.where(
        consensus >= 0,
        counts[np.arange(n), np.maximum(consensus, 0)],
        counts.max(axis=1),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, agree / np.maximum(total, 1), np.nan)


def annotator_accuracy(
    index, annotator, label, n_annotators, consensus, posterior=None
):
    """Each annotator's estimated accuracy: the share of its answers that
    agree with the consensus (samples with an open consensus left out), or
    with ``posterior`` the expected share (the posterior probability of each
    answer). NaN for an annotator without such answers.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._consensus import annotator_accuracy
    >>> annotator_accuracy([0, 0, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0], 2,
    ...                    np.array([1, 0])).tolist()
    [1.0, 0.5]
    """
    index, annotator, label = _valid(index, annotator, label)
    consensus = np.asarray(consensus, dtype=np.intp)
    if posterior is not None:
        right = np.nan_to_num(np.asarray(posterior)[index, label])
        used = np.ones(index.size, dtype=bool)
    else:
        used = consensus[index] >= 0
        right = (consensus[index] == label).astype(float)
    total = np.bincount(annotator[used], minlength=n_annotators).astype(float)
    hits = np.bincount(annotator[used], weights=right[used], minlength=n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / np.maximum(total, 1), np.nan)
