"""Consensus of several annotators: pure functions on answer arrays.

An answer table is three integer vectors of equal length: ``index`` (the
sample), ``annotator`` (a position in the list of annotators) and ``label``
(a position in ``classes``; -1, an abstention, is ignored here). The rules:

- :func:`majority`: the most frequent answer; a tie is left open (-1);
- :func:`dawid_skene`: Dawid and Skene's (1979) EM over one confusion matrix
  per annotator (shrunk towards the annotator's overall accuracy and
  everyone's wrong answers, see ``pooling``), optionally with a
  classifier's probabilities as one more voter;
- :func:`crowdlab`: CROWDLAB (Goh, Mueller and Tkachenko 2022): a weighted
  average of the classifier's probabilities and each annotator's answer, the
  weights from how often each agrees with the others beyond what always
  answering the most common class would;

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
    "crowdlab",
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
    pooling=10.0,
    max_iter=500,
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
    pooling : float, default=10.0
        Pseudo-counts pulling each annotator's accuracy on a class towards
        its accuracy over all classes, and its distribution of *wrong*
        answers for a class towards all annotators' pooled one (look-alike
        classes fool everyone). 0 is classic Dawid--Skene, every confusion
        row free. Why: with a few hundred answers the classic model's free
        rows overfit. Two weaker readers agreeing on a look-alike outvote the
        best one and come out overrated (worst gap to the realised accuracy
        0.053 on the digits of ``benchmarks/bench_annotators.py``), and a
        class with almost no samples (vasc on HAM10000) gets a row that
        absorbs another class's samples (46 nv samples called vasc, the best
        reader's accuracy estimated 0.75 for a realised 0.89). Pooled, the
        worst gaps are 0.039 and 0.035 (``benchmarks/RESULTS.md``; tests on
        simulated readers).
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
    for _ in range(max_iter):
        # M step: class prior and one confusion matrix per annotator.
        prior = post[answered].sum(axis=0) + 1.0
        prior = prior / prior.sum()
        soft = np.zeros((n_annotators, k, k))
        np.add.at(soft, (annotator, slice(None), label), post[index])
        confusion = _confusion(soft, smoothing, pooling)
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


def _confusion(soft, smoothing, pooling):
    """Dawid--Skene's M step for the confusion matrices from the soft counts
    ``soft[j, k, l]``. The diagonal (annotator ``j``'s accuracy on class
    ``k``): ``(c_jkk + pooling * a_j + 2 s) / (c_jk + pooling + (K + 1) s)``,
    ``a_j`` its accuracy over all classes; the rest of the row split as its
    own wrong answers plus ``pooling`` times everyone's pooled error
    distribution (plus ``s``)."""
    m, k, _ = soft.shape
    diag = np.arange(k)
    right, total = soft[:, diag, diag], soft.sum(axis=2)
    overall = (right.sum(axis=1) + 1.0) / (total.sum(axis=1) + 2.0)
    accuracy = (right + pooling * overall[:, None] + 2 * smoothing) / (
        total + pooling + (k + 1) * smoothing
    )
    wrong = soft.copy()
    wrong[:, diag, diag] = 0.0
    shared = wrong.sum(axis=0) + smoothing
    shared[diag, diag] = 0.0
    shared /= np.maximum(shared.sum(axis=1, keepdims=True), 1e-300)  # K = 1
    own = wrong + pooling * shared + smoothing
    own[:, diag, diag] = 0.0
    own /= np.maximum(own.sum(axis=2, keepdims=True), 1e-300)
    confusion = (1.0 - accuracy)[:, :, None] * own
    confusion[:, diag, diag] = accuracy
    return confusion


_FLOOR = 1e-6  # the smallest weight a voter gets (CROWDLAB's clipping bound)


def _majority_model_ties(counts, proba):
    """:func:`majority`, a tie broken by the model's probabilities where it
    has some (left open where it has none or ties too)."""
    out = majority(counts)
    tied = (out < 0) & (counts.sum(axis=1) > 0) & np.isfinite(proba).all(axis=1)
    for i in np.flatnonzero(tied):
        top = counts[i] == counts[i].max()
        out[i] = consensus_of(np.where(top, proba[i], -1.0)[None])[0]
    return out


def crowdlab(index, annotator, label, n_samples, n_annotators, n_classes, proba):
    """CROWDLAB's consensus: the classifier as one more voter.

    Each answered sample's posterior is a weighted average of the model's
    probabilities and of one vote per answer (``L`` on the answered class,
    ``(1 - L) / (K - 1)`` on each other, ``L`` the mean agreement with the
    majority on samples with several answers). An annotator weighs
    ``1 - e / e0``, its disagreement ``e`` with the other annotators on
    shared samples over ``e0``, the error of always answering the most
    common majority class; the model weighs ``1 - e_M / e0``, its error
    against the majority (a tie broken by the model), times the square root
    of the mean number of answers per sample. Weights are at least
    ``1e-6``; an annotator who shares no sample with another gets the mean
    weight of those who do.

    Parameters
    ----------
    index, annotator, label : array-like of int
        The answer table (``label`` -1 is ignored).
    n_samples, n_annotators, n_classes : int
    proba : ndarray of shape (n_samples, n_classes)
        The classifier's out-of-sample probabilities; a NaN row: the model
        does not vote on that sample.

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_classes)
        NaN rows for samples without an answer.
    annotator_weight : ndarray of shape (n_annotators,)
    model_weight : float

    Examples
    --------
    Annotator 2 agrees with the others no more than always answering the
    most common class would, so it weighs nothing; the model, right wherever
    the majority is, settles the tie on sample 3.

    >>> import numpy as np
    >>> from noisyactive.active._consensus import crowdlab
    >>> idx = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    >>> ann = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 2]
    >>> lab = [0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1]
    >>> proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]])
    >>> post, w, wm = crowdlab(idx, ann, lab, 4, 3, 2, proba)
    >>> post.argmax(1).tolist(), w.round(3).tolist(), round(wm, 3)
    ([0, 1, 1, 0], [0.25, 0.667, 0.0], 1.658)
    """
    index, annotator, label = _valid(index, annotator, label)
    k = n_classes
    proba = np.asarray(proba, dtype=float)
    counts = vote_counts(index, label, n_samples, k)
    n_answers = counts.sum(axis=1)
    answered = n_answers > 0
    majority_ = _majority_model_ties(counts, proba)
    settled = majority_ >= 0
    if settled.any():
        common = np.bincount(majority_[settled], minlength=k).max()
        base_error = max(1.0 - common / settled.sum(), _FLOOR)
    else:
        base_error = 1.0
    # each annotator's agreement with the others, on the samples they share
    shared = n_answers[index] > 1
    others = (counts[index, label] - 1) / np.maximum(n_answers[index] - 1, 1)
    total = np.bincount(annotator[shared], minlength=n_annotators)
    agree = np.bincount(
        annotator[shared], weights=others[shared], minlength=n_annotators
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = np.where(total > 0, agree / np.maximum(total, 1), np.nan)
    weight = np.clip(1.0 - (1.0 - agree) / base_error, _FLOOR, None)
    fallback = np.nanmean(weight) if np.isfinite(weight).any() else 1.0
    weight = np.where(np.isfinite(weight), weight, fallback)
    # the model, against the majority where it votes
    votes = np.isfinite(proba).all(axis=1)
    judged = votes & settled
    model_error = (
        np.mean(proba[judged].argmax(axis=1) != majority_[judged])
        if judged.any()
        else 1.0
    )
    mean_answers = n_answers[answered].mean() if answered.any() else 1.0
    model_weight = max(1.0 - model_error / base_error, _FLOOR) * np.sqrt(mean_answers)
    # how likely an answer is right: the agreement with the majority
    several = settled & (n_answers > 1)
    if several.any():
        rows = np.flatnonzero(several)
        likely = np.mean(counts[rows, majority_[rows]] / n_answers[rows])
    else:
        likely = 1.0
    other = (1.0 - likely) / max(k - 1, 1)
    score = np.zeros((n_samples, k))
    mass = np.zeros(n_samples)
    np.add.at(score, index, weight[annotator, None] * other)
    np.add.at(score, (index, label), weight[annotator] * (likely - other))
    np.add.at(mass, index, weight[annotator])
    score[votes] += model_weight * proba[votes]
    mass[votes] += model_weight
    with np.errstate(invalid="ignore", divide="ignore"):
        post = score / mass[:, None]
    post[~answered] = np.nan
    return post, weight, float(model_weight)


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
