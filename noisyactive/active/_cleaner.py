"""ActiveLabelCleaner: phase 2 of Khanal et al. (2024), budgeted relabeling.

``fit`` reads as the algorithm: check everything, start (or resume) the
campaign, then rank, ask, record, refit until the budget or the rounds are
spent. The campaign (:class:`~noisyactive.active._campaign.Campaign`) owns
the state, the models, the budget and the folder; the fitted attributes are
read from it.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from noisyactive.active import _ask_tell, _methods, _params
from noisyactive.active._audit import check_audit_size
from noisyactive.active._campaign import Campaign
from noisyactive.active._checks import (
    CLEANER_CONSTRAINTS,
    check_fit_input,
    check_resume,
    check_validation,
    classifier_has,
    data_fingerprint,
)
from noisyactive.active._multi import ask_audit, ask_round, check_annotators
from noisyactive.active._ranking import next_batch
from noisyactive.active._state import CampaignState, resolve_batch_size
from noisyactive.query import get_query_strategy
from noisyactive.utils._param_validation import _fit_context

__all__ = ["ActiveLabelCleaner"]


class ActiveLabelCleaner(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Budgeted active label cleaning after a noisy-label filter.

    Phase 2 of Khanal et al. (2024). A clone of ``estimator`` (phase 1, e.g.
    :class:`~noisyactive.NoisyLabelFilter`) splits the data into a clean part
    (``clean_mask_``) and the rest; a ``classifier`` is trained on the clean
    part. Then, for ``n_rounds`` rounds, the ``query_strategy`` ranks the
    samples that are neither clean nor already relabeled, the top
    ``batch_size`` go to the ``oracle``, its answers replace the noisy labels,
    those samples join the clean part and the classifier is refit.

    Parameters
    ----------
    estimator : estimator, default=None
        Phase-1 estimator; after ``fit(X, y)`` it must expose ``clean_mask_``
        when ``start="filter"``. Always cloned into ``estimator_``. None means
        ``NoisyLabelFilter()``. With ``start="noisy"`` or ``"none"`` phase 1
        is skipped: ``estimator_`` is an unfitted clone, used only to pick
        the default classifier.
    classifier : classifier, default=None
        Trained on the clean part with plain cross-entropy. None means the
        phase-1 network family (``estimator._make_classifier()`` when the
        estimator has it, else :class:`~noisyactive.NetClassifier`).
    query_strategy : str, strategy object or callable, default="entropy"
        Anything :func:`noisyactive.query.get_query_strategy` accepts: a name
        (``"random"``, ``"entropy"``, ``"margin"``, ``"least_confidence"``,
        ``"coreset"``, ``"label_cleaning"``, ``"label_cleaning_ambiguity"``),
        a strategy object or a plain callable.
    oracle : callable or dict of str to callable, default=None
        ``oracle(ids, X_subset) -> labels``, or several annotators by name,
        each asked (by default) about every queried sample; ``ids`` are the indices into
        ``X`` (or ``sample_ids[indices]`` when ``sample_ids`` is passed to
        ``fit``). Answer with class values; ``None``/NaN/masked abstains (the
        sample is skipped, not counted and not asked again). None: no rounds
        in ``fit``; use :meth:`query` and :meth:`teach` instead.
    batch_size : int or float, default=70
        Labels asked per round (the paper's ``a``); a float in (0, 1) is a
        share of the training set.
    n_rounds : int, default=8
        Number of rounds (the paper's ``M``). The budget is ``batch_size *
        n_rounds`` labels; a budget larger than the samples that can be
        relabeled is clamped to them, with a warning.
    refit : {"finetune", "scratch"}, default="finetune"
        After a round: ``"finetune"`` calls ``partial_fit`` ``refit_epochs``
        times on the training part when the classifier has ``partial_fit`` and
        knows every class in it (else fits from scratch), keeping the epoch
        with the best validation macro-F1 when validation data are given;
        ``"scratch"`` fits a fresh clone. The training part is the clean part,
        or every sample with its current label for ``start="noisy"``.
    refit_epochs : int, default=5
        ``partial_fit`` calls (epochs) per round with ``refit="finetune"``.
    start : {"filter", "noisy", "none"}, default="filter"
        ``"filter"``: the method (clean part from phase 1; kept samples keep
        their *noisy* label). ``"noisy"``: the CE + AL baseline (classifier
        trained on all samples with their current labels: the noisy ones,
        replaced by the oracle's answers round by round; the clean part holds
        only the relabeled samples). ``"none"``: the
        AL-only baseline (nothing trained; round 1 asks random samples).
    checkpoint : str or path-like, default=None
        Folder for the campaign state (see :doc:`/user_guide/checkpoints`).
        Every answer is journaled (fsynced) before it is used and the state
        is written atomically after every step; a later ``fit`` on the same
        data with the same folder resumes where the campaign stopped, asks
        nothing already answered and asks the same questions as an
        uninterrupted run. Data that do not match the checkpoint's
        fingerprint are refused. One process at a time: ``fit`` holds a lock
        on the folder (:class:`~noisyactive.active.CheckpointLock`). Leave it
        None inside cross-validation (every fold would claim the folder).
    audit_share : float in [0, 1], default=0.3
        Share of each round's batch spent on auditing samples phase 1 kept
        (those whose current label the classifier finds least probable
        first). Corrections of kept samples count against the budget and
        feed the noise estimate. (Not the random audit of ``audit_size``.)
        The paper asks only about rejected samples (``0.0``); the default
        also reaches the wrong labels phase 1 kept, which those rounds never
        see: with the filter's default selection it was above every baseline
        at every round but one (a tie) on pretrained HAM10000 at p = 0.4 and
        0.5 (3 seeds, mean − std), where 0.0 fell short at five rounds
        (``benchmarks/RESULTS.md``, "share run").
    audit_size : int, default=0
        Samples audited before the first round (0: no audit): drawn at random
        within each noisy class so that every class is seen (rare classes
        oversampled; ``audit_weights_`` undo it), asked like a round (oracle,
        ``query``/``teach``, review page, CSV) and counted in the budget,
        which becomes ``audit_size + batch_size * n_rounds`` (times the
        answers per sample with several annotators; the audit counts each
        sample's consensus). Their answers join the clean part; the first
        classifier is trained after them. The audit is ``history_[0]``
        (``"kind": "audit"``, round 0 of ``relabel_log_``); its wrong-label
        counts update phase 1's estimate into one posterior (``noise_rate_``);
        ``n_rounds=0`` runs the audit alone. It needs a sample per class.
    refit_after_audit : {"auto"} or bool, default="auto"
        Fit phase 1 again after the audit with ``forget_rate`` set to the
        audited rate: ``"auto"`` when that rate lies outside phase 1's
        interval, True always, False never (only with ``start="filter"`` and
        a phase-1 estimator that has ``forget_rate``).
    consensus : {"majority", "dawid_skene", "crowdlab"} or None, default=None
        How several answers make a label: None, the latest answer is the
        truth; ``"majority"``, ties left open (not relabeled);
        ``"dawid_skene"``, EM over each annotator's confusion matrix;
        ``"crowdlab"``, the classifier votes too (CROWDLAB, Goh et al. 2022).
    max_answers_per_sample, answers_per_query : int, default=None
        Answers a sample may get in all (None: one per annotator) and per
        query (None: every annotator of a dict oracle; 1 for a person). The
        budget counts answers: ``batch_size`` samples times this per round.
    on_round_end : callable, default=None
        ``on_round_end(cleaner, record)``, called after the first classifier
        (round 0) and after every round, ``record`` being the entry just
        appended to ``history_`` (e.g. to score a held-out set).
    random_state : int, RandomState instance or None, default=None
        Seeds the rounds (and ``estimator``/``classifier`` when their own
        ``random_state`` is None). A resumed campaign reuses the seed stored
        in its checkpoint.
    verbose : int, default=0
        Print one line per round (asked, answered, changed, budget, val F1).

    Every parameter is checked when ``fit`` starts, before any training.

    Attributes
    ----------
    estimator_, classifier_ : estimator
        Phase-1 estimator and current classifier (None until a clean part
        with two classes exists). ``estimator_`` is fitted by ``fit`` with
        ``start="filter"``; after :func:`load_cleaner` or a resumed ``fit``
        it is an unfitted clone (the checkpoint keeps its result, the
        initial clean mask, not the model).
    classes_ : ndarray of shape (n_classes,)
    labels_ : ndarray of shape (n_samples,)
        Current labels: noisy ones, replaced by the oracle's answers.
    initial_clean_mask_, clean_mask_, relabeled_mask_, abstained_mask_ : ndarray of bool
        Phase-1 clean part; clean part now (initial + relabeled); samples
        relabeled; samples the oracle abstained on.
    queried_indices_ : list of ndarray
        Indices asked in each round.
    pending_indices_ : ndarray of int
        Indices handed out by :meth:`query` and not answered yet.
    budget_used_, n_rounds_ : int
        Labels returned so far; rounds completed.
    budget_total_ : int
        ``audit_size + batch_size * n_rounds`` labels.
    input_paths_ : ndarray of str or None
        The training file paths when ``X`` was paths (then ``query``,
        ``teach`` and friends need no ``X``).
    history_ : list of dict
        Round 0 (the first classifier, or the audit: ``"kind": "audit"``,
        with ``prior_noise_rate``, ``prior_noise_rate_interval`` and
        ``refit_phase1``), then one entry per round: ``round``, ``kind``
        (``"start"``, ``"audit"``, ``"round"``), ``n_queried``,
        ``n_returned``, ``n_abstained``, ``n_changed``, ``n_audited`` (kept
        samples asked), ``budget_used``, ``n_clean``, ``source``,
        ``val_macro_f1`` (None without validation data), and ``noise_rate``
        / ``class_noise_rates``: the estimated share of wrong labels in the
        original noisy labels (global and per noisy class), phase 1's
        estimate refined by every answer so far (see
        :func:`~noisyactive.active.refine_noise_rates`; None when neither
        exists), with ``noise_rate_interval`` and
        ``class_noise_rate_intervals``, and ``remaining_noise_rate``: that
        estimate less the labels corrected so far, the share of wrong labels
        left in ``labels_`` (a Co-teaching refit's forget rate).
    noise_rate_, noise_rate_interval_ : float, (float, float)
        The share of wrong labels in ``y`` and its 95% interval: phase 1's
        cross-fitted estimate (widened when its classifier is near the class
        prior), the audit's counts and the rounds' answers combined (see
        :mod:`noisyactive.active._audit`); None without an estimate or answer.
    class_noise_rates_, class_noise_rate_intervals_, class_clean_counts_ : ndarray
        The same per noisy class; clean counts ``m_c (1 - rate_c)``.
    noise_report_ : str or None
        The estimate before the campaign, and the audit answers that would
        bring its interval under ±0.05 when it is wide (then also warned).
    audit_indices_, audit_weights_ : ndarray
        The audited samples and their inverse inclusion probabilities.
    relabel_log_ : structured ndarray
        One row per label returned: ``round``, ``index``, ``old_label``,
        ``new_label``, ``score`` (the strategy's score, NaN if it has none).
    termination_condition_ : str or None
        ``"n_rounds"``, ``"budget_exhausted"``, ``"no_candidates"`` or
        ``"no_oracle"``.
    n_features_in_ : int
    campaign_ : Campaign
        The campaign (:class:`~noisyactive.active._campaign.Campaign`): its
        state, models and folder; the attributes above are read from it.

    References
    ----------
    .. [1] Khanal, B., et al. (2024). Active label refinement for robust
       training of imbalanced medical image classification tasks in the
       presence of high label noise. MICCAI 2024.
    .. [2] Bernhardt, M., et al. (2022). Active label cleaning for improved
       dataset quality under resource constraints. Nature Communications.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.active import ActiveLabelCleaner, SimulatedOracle
    >>> X, y = make_classification(100, random_state=0)
    >>> y_noisy = y.copy(); y_noisy[:20] = 1 - y_noisy[:20]
    >>> cleaner = ActiveLabelCleaner(
    ...     estimator=LogisticRegression(), classifier=LogisticRegression(),
    ...     query_strategy="random", oracle=SimulatedOracle(y), start="noisy",
    ...     batch_size=10, n_rounds=3, random_state=0).fit(X, y_noisy)
    >>> cleaner.budget_used_, cleaner.n_rounds_, cleaner.termination_condition_
    (30, 3, 'n_rounds')
    >>> [h["round"] for h in cleaner.history_]
    [0, 1, 2, 3]
    """

    _parameter_constraints: dict = CLEANER_CONSTRAINTS  # checked when fit starts

    def __init__(
        self,
        estimator=None,
        classifier=None,
        query_strategy="entropy",
        oracle=None,
        batch_size=70,
        n_rounds=8,
        refit="finetune",
        refit_epochs=5,
        start="filter",
        checkpoint=None,
        audit_share=0.3,
        audit_size=0,
        refit_after_audit="auto",
        consensus=None,
        max_answers_per_sample=None,
        answers_per_query=None,
        on_round_end=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.classifier = classifier
        self.query_strategy = query_strategy
        self.oracle = oracle
        self.batch_size = batch_size
        self.n_rounds = n_rounds
        self.refit = refit
        self.refit_epochs = refit_epochs
        self.start = start
        self.checkpoint = checkpoint
        self.audit_share = audit_share
        self.audit_size = audit_size
        self.refit_after_audit = refit_after_audit
        self.consensus = consensus
        self.max_answers_per_sample = max_answers_per_sample
        self.answers_per_query = answers_per_query
        self.on_round_end = on_round_end
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None, sample_ids=None):
        """Run phase 1 and the relabeling rounds (or resume them).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features (2-D), images (4-D) or a 1-D sequence of image paths.
        y : array-like of shape (n_samples,)
            Noisy labels (any hashable, sortable values, e.g. strings).
        X_val, y_val : array-like, default=None
            Validation data, passed to estimators whose ``fit`` accepts them
            and used for ``val_macro_f1`` in ``history_``.
        sample_ids : array-like of shape (n_samples,), default=None
            Ids handed to the oracle instead of row indices. Cross-validation
            slices it with ``X``, so a :class:`SimulatedOracle` built without
            ``X`` still finds the true labels of each fold.

        Returns
        -------
        self : ActiveLabelCleaner
        """
        get_query_strategy(self.query_strategy)  # a misspelled name fails now
        check_annotators(self)
        X, y, paths = check_fit_input(self, X, y)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                "ActiveLabelCleaner needs samples of at least 2 classes; got 1 "
                f"class ({self.classes_[0]!r})."
            )
        check_audit_size(self.audit_size, y_enc)
        if sample_ids is not None:
            sample_ids = column_or_1d(sample_ids)
            check_consistent_length(X, sample_ids)
        validation = check_validation(self, X_val, y_val, input_is_paths=paths)
        fingerprint = data_fingerprint(X, self.classes_, y_enc, paths=paths)
        previous = vars(self).pop("campaign_", None)
        campaign = Campaign(self, trusted=previous.trusted if previous else ())
        # Raises at once when the folder is busy or read-only; fit reads it afresh.
        with campaign.locked(rereads=True):
            folder = self.checkpoint
            saved = None if folder is None else CampaignState.from_files(folder)
            self.campaign_ = campaign  # on_round_end sees the fitted attributes
            if saved is None:
                campaign.start(X, y_enc, fingerprint, validation, input_is_paths=paths)
            else:
                state, header = saved
                check_resume(state, header, fingerprint, self)
                if self.verbose:
                    print(
                        f"[ActiveLabelCleaner] resuming after round {state.n_rounds} "
                        f"({state.budget_used} labels) from {self.checkpoint}"
                    )
                campaign.resume(state, X, validation)
            if self.oracle is None:
                campaign.stop(campaign.state.termination or "no_oracle")
                return self
            campaign.warn_if_budget_exceeds_pool()
            if campaign.state.audit_open:  # the audit: round 0, before any round
                ask_audit(campaign, X, sample_ids)
                campaign.close_round(X, validation)
            k = resolve_batch_size(self.batch_size, X.shape[0])
            while campaign.state.n_rounds < self.n_rounds and self._several():
                if not ask_round(campaign, X, k, sample_ids):
                    break
                campaign.close_round(X, validation)
            while campaign.state.n_rounds < self.n_rounds and not self._several():
                n = min(k, campaign.budget_left())
                indices, scores = next_batch(campaign, X, n)
                if n <= 0 or indices.size == 0:
                    break
                ids = indices if sample_ids is None else sample_ids[indices]
                campaign.ask(self.oracle, ids, X[indices], indices, scores)
                campaign.close_round(X, validation)  # refit, save, report
            campaign.stop(
                "n_rounds"
                if campaign.state.n_rounds >= self.n_rounds
                else "budget_exhausted"
                if campaign.budget_left() <= 0
                else "no_candidates"
            )
        return self

    from_checkpoint = classmethod(_methods.from_checkpoint)

    def _several(self):
        return isinstance(self.oracle, dict)

    # -- the fitted attributes, read from the campaign ---------------------------------

    def __getattr__(self, name):
        # Called only for names the instance lacks: labels_, history_, ...
        # are views of campaign_ (Campaign.FITTED), its one copy.
        campaign = vars(self).get("campaign_")
        if name in Campaign.FITTED and campaign is not None and campaign.state:
            return Campaign.FITTED[name](campaign)
        if name in _params.deferred_params(self):  # from_checkpoint(lazy=True)
            return _params.build_deferred(self, name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    # -- ask/tell: functions of the cleaner in noisyactive.active._ask_tell ---------

    query = _ask_tell.query
    pending_table = _ask_tell.pending_table
    teach = _ask_tell.teach
    teach_from_csv = _ask_tell.teach_from_csv
    export_labels = _ask_tell.export_labels

    # -- prediction: functions of the cleaner in noisyactive.active._methods ------

    predict = _methods.predict
    predict_proba = available_if(classifier_has("predict_proba", default=True))(
        _methods.predict_proba
    )
    decision_function = available_if(
        classifier_has("decision_function", default=False)
    )(_methods.decision_function)
