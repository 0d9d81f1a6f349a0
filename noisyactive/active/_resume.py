"""Resuming a campaign from its checkpoint folder: :func:`load_cleaner`."""

from noisyactive.active._cleaner import ActiveLabelCleaner

__all__ = ["load_cleaner"]


def load_cleaner(
    checkpoint,
    cleaner=None,
    *,
    estimator=None,
    classifier=None,
    trusted=(),
    labels_only=False,
):
    """Restore a fitted :class:`~noisyactive.ActiveLabelCleaner` from its checkpoint.

    Use it to continue an ask/tell campaign in a new session (``query`` the
    next samples, ``teach`` the answers) or to export its labels. Answers
    journaled after the last state are replayed; nothing is asked again. A
    refit or a round's report that a stopped process left undone is done
    (the refit when the training data are file paths, else at the next
    ``query`` or ``teach``); stale model files are removed.

    Parameters
    ----------
    checkpoint : str or path-like
        The cleaner's ``checkpoint`` folder.
    cleaner : ActiveLabelCleaner, default=None
        A cleaner with the parameters of the campaign (cloned); its
        estimators are trusted. When None, the cleaner is rebuilt from the
        parameters stored as JSON, importing only classes of the trusted
        modules (noisyactive, scikit-learn, skorch, ``torch.nn``,
        ``torch.optim``, torchvision, and ``trusted``).
    estimator, classifier : estimator, default=None
        Used instead of the stored description of these parameters (for
        estimators from modules you do not want to trust by name).
    trusted : tuple of str, default=()
        Further module names whose classes and functions may be imported and
        whose types may be loaded from the folder's ``.skops`` files. Only
        name modules whose author you trust: importing runs their code.
    labels_only : bool, default=False
        Restore the state only (labels, masks, history), without the
        classifier: for exporting the labels of a folder whose classifier
        file is damaged.

    Returns
    -------
    cleaner : ActiveLabelCleaner
        Fitted; ``checkpoint`` set to the given folder.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.active import ActiveLabelCleaner, load_cleaner
    >>> X, y = make_classification(60, random_state=0)
    >>> folder = tempfile.mkdtemp()
    >>> cleaner = ActiveLabelCleaner(LogisticRegression(), LogisticRegression(),
    ...     start="noisy", batch_size=5, checkpoint=folder, random_state=0)
    >>> cleaner = cleaner.fit(X, y)  # no oracle: nothing relabeled yet
    >>> ask = cleaner.query(X)
    >>> later = load_cleaner(folder)
    >>> bool((later.pending_indices_ == ask).all())
    True
    """
    return ActiveLabelCleaner.from_checkpoint(
        checkpoint,
        cleaner,
        estimator=estimator,
        classifier=classifier,
        trusted=trusted,
        labels_only=labels_only,
    )
