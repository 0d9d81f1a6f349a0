"""NoisyLabelFilter: phase 1 of Khanal et al. (2024)."""

import numpy as np
import torch
from sklearn.utils import Bunch

from noisyactive.base import BaseNetEstimator
from noisyactive.filtering._coteaching import (
    CoTeachingConfig,
    CoTeachingNet,
    check_trained_networks,
    load_trained_networks,
    trained_states,
)
from noisyactive.filtering._filter_noise import NoiseEstimateMixin
from noisyactive.filtering._final import FinalSelectionMixin
from noisyactive.filtering._noise_estimator import loss_mixture_bunch
from noisyactive.filtering._quota import estimate_class_clean_counts
from noisyactive.filtering._rules import SELECTION_RULES
from noisyactive.filtering._schedule import (
    warn_if_batch_keeps_nothing,
    warn_if_kept_nothing,
)
from noisyactive.utils import check_transition_matrix
from noisyactive.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    Real,
    StrOptions,
    _fit_context,
)

__all__ = ["NoisyLabelFilter"]


class NoisyLabelFilter(FinalSelectionMixin, NoiseEstimateMixin, BaseNetEstimator):
    """Co-teaching with a Variance-of-Gradients mix: robust training on noisy labels
    that splits the training set into a clean and a noisy part.

    Two networks are trained together. In every batch each network keeps the
    ``R = floor((1 - tau_e) b)`` samples it trusts most — ``ceil((1 - m) R)`` with
    the smallest loss and the rest with the smallest VOG among the others — and
    each network is updated on the other's selection (Han et al. 2018; Khanal et
    al. 2024). ``tau_e = tau * min(e / num_gradual, 1) ** exponent``. VOG (Agarwal
    et al. 2022) is the spread over the last ``vog_window`` epochs of each sample's
    gradient with respect to the final layer's label row, computed in closed form
    from the training forward pass; it is used only after the warm-up
    (``num_gradual`` epochs) and once ``vog_window`` epochs of history exist.

    Parameters
    ----------
    module : "auto", "resnet18", "efficientnet_lite0", "mlp", "small_cnn", \
nn.Module class or instance
        ``"auto"``: ResNet18 for images (3x3 stem for images of 64 px or less on
        a GPU, :func:`noisyactive.base.auto_small_input`), an
        MLP for 2-D input. Any module ending in ``nn.Linear`` works.
    module_kwargs : dict, default=None
        Extra constructor arguments of the module.
    weights : None, "imagenet" or path, default=None
        Local pretrained weights, never downloaded (see
        :class:`~noisyactive.NetClassifier`).
    mix_ratio : float in [0, 1], default=0.0
        ``m``: share of the kept samples chosen by VOG. 0 is plain Co-teaching.
    forget_rate : float in [0, 1) or "auto", default="auto"
        ``tau``, normally the noise rate. ``"auto"`` estimates it with
        ``noise_estimator``. A ``UserWarning`` names the numbers when the
        estimate is unstable, would leave a class without a clean sample, or
        comes from a network no better than the class prior (see
        :ref:`noise_rate`). Its measured error is in ``benchmarks/RESULTS.md``
        (``benchmarks/bench_noise_rate.py``).
    noise_estimator : "cross_fit", "loss_mixture" or object, default="cross_fit"
        How ``forget_rate="auto"`` estimates the rate (ignored for a given
        rate).

        - ``"cross_fit"``, before training: three stratified 2-fold cross-fits
          of this filter's network (a :class:`~noisyactive.NetClassifier` at
          half of ``max_epochs``) give out-of-sample probabilities; their
          confident joint (Northcutt et al. 2021) gives per-class rates, whose
          global rate is corrected for the classifier's own errors by the
          agreement of the cross-fits
          (:class:`~noisyactive.filtering.CrossFitNoiseEstimator`). Needs at
          least 2 samples of every class.
        - ``"loss_mixture"``, during the warm-up, no extra training: at the
          start of every warm-up epoch a two-component Gaussian mixture on the
          previous epoch's per-sample log-losses
          (:func:`~noisyactive.filtering.estimate_noise_rate`); the rate
          freezes at the median of the warm-up's second half
          (:func:`~noisyactive.filtering.warmup_forget_rate`). Per-class rates
          then follow the symmetric formula.
        - an object with ``estimate(X, y)`` (X as prepared for the network, y
          encoded as ``0 .. n_classes-1``), called before training; it returns
          the rate, or a mapping with ``rate`` and optionally ``rate_std``,
          ``transition`` (``P(noisy | true)``, rows true) and ``warnings``.
    num_gradual : int, default=10
        ``Tk``, warm-up epochs over which the forget rate ramps up.
    exponent : float, default=1.0
        ``c`` of the ramp.
    vog_window : int >= 2, default=5
        ``t``, epochs of gradient history per sample.
    vog_normalize : None or "class", default=None
        ``"class"`` z-scores VOG within each noisy class before selecting.
    vog_dtype : {"float32", "float16"}, default="float32"
        Storage of the VOG ring buffer (``2 n t (D + 1)`` values).
    selection : {"batch", "class_quota"}, default="batch"
        ``"batch"`` is the paper's per-batch rule. ``"class_quota"`` (noisyactive's
        own) keeps, per noisy class, an estimated number of clean samples with the
        smallest previous-epoch loss (and VOG mix), so rare classes are not thrown
        away; see ``class_clean_counts_``.
    final_selection : "auto", None, str or rule object, default="auto"
        What decides ``clean_mask_`` after training (the training itself is the
        same). ``"auto"``: ``"gmm_loss"`` for plain Co-teaching
        (``selection="batch"``, ``mix_ratio=0``), else None. ``"gmm_loss"``
        fits per noisy class a two-component mixture to the networks' losses,
        weighted by the class's estimated clean share, and keeps the samples
        more likely clean than not: on HAM10000 (p = 0.4, 3 seeds) it kept clean
        samples of all seven classes in every seed (Co-teaching's small-loss
        mask lost df in one), and its classifier was better than that mask's at
        every round of relabeling (``benchmarks/RESULTS.md``). None:
        Co-teaching's selection of the last epoch, the paper's (with
        ``mix_ratio > 0`` its VOG mix, with ``selection="class_quota"`` the
        per-class quota). Otherwise a
        name of ``noisyactive.filtering.SELECTION_RULES`` — ``"coteaching"``,
        ``"loss"``, ``"vog"``, ``"vog_predicted"`` (VOG of the predicted
        class's gradient, recorded during training), ``"vog_eval"`` (VOG from
        an eval-mode, un-augmented pass in the last ``vog_window`` epochs),
        ``"vog_loss_bands"``, ``"gmm_loss"`` (per-class loss mixtures),
        ``"knn"`` (neighbour label agreement in the embedding), ``"knn_vote"``
        (with the two networks' small-loss votes), ``"confident_joint"``
        (cleanlab, optional) or ``"ensemble"`` (Co-teaching, kNN and
        cleanlab) — or an object with ``decide(ctx, quota)`` (see
        :class:`~noisyactive.filtering.VoteRule`). :meth:`rescore` applies another
        one to the same fit.
    final_quota : None or "class", default=None
        ``"class"`` makes the final selection keep, per noisy class,
        ``class_clean_counts_`` samples with its lowest scores.
    transition_matrix : array of shape (k, k), default=None
        Known noise transition matrix for the class-clean-count estimate
        (otherwise the estimated one with ``forget_rate="auto"``, symmetric
        noise at a given ``forget_rate``). A given matrix takes precedence for
        ``class_clean_counts_`` / ``class_noise_rates_`` even with
        ``forget_rate="auto"``, where the estimate then sets ``forget_rate_``
        only; pass both a matrix and a number to avoid the estimate's cost.
    max_epochs, batch_size, lr, momentum, weight_decay, lr_schedule, augment, \
image_size, cache_dir, device, precision, optimizer, freeze, callbacks, \
random_state, verbose
        As in :class:`~noisyactive.NetClassifier` (SGD 0.01, momentum 0.9, weight
        decay 1e-4, cosine schedule, the paper's augmentations for images, CUDA with
        bf16 autocast when present). A ``batch_size`` larger than the data trains
        on one full batch.
    warm_start : bool, default=False
        A second ``fit`` starts each network from its trained weights (new
        optimizer and schedules, same network parameters), reusing a frozen
        trunk's cached features: the cleaner's Co-teaching refit does this.

    Attributes
    ----------
    clean_mask_ : ndarray of bool, shape (n_samples,)
        Samples ``final_selection`` keeps (True = kept as clean); when it is
        None (or ``"auto"`` resolves to None), those network 1 selected during
        the last epoch.
    issue_table_ : pandas DataFrame (dict of columns without pandas)
        One row per training sample: ``given_label``, ``suggested_label`` (the
        networks' argmax after fit), ``loss``, ``vog``, ``selection_rate``, the
        final selection's own scores (``selection_score``: lower = cleaner),
        ``coteaching_kept`` and ``kept`` (= ``clean_mask_``).
    selection_rate_ : ndarray of shape (n_samples,)
        Share of the last ``vog_window`` epochs in which each sample was selected.
    vog_scores_ : ndarray of shape (n_samples,)
        Network 1's VOG at the end of training (NaN with fewer epochs than the
        window).
    loss_scores_ : ndarray of shape (n_samples,)
        Mean per-sample training loss of the two networks in the last epoch.
    forget_rate_ : float
        The forget rate used (given, or the estimated share of wrong labels).
    forget_rate_std_ : float
        Bootstrap standard deviation of the estimate (0 when given; NaN with
        ``noise_estimator="loss_mixture"``, which has none; an object's
        ``rate_std``).
    class_noise_rates_ : ndarray of shape (n_classes,)
        Estimated ``P(true label != c | noisy label = c)`` per noisy class (from
        the estimate with ``"auto"``, from the symmetric formula or
        ``transition_matrix`` with a given rate).
    class_clean_counts_ : ndarray of shape (n_classes,)
        Estimated number of correctly labeled samples per noisy class,
        ``m_c (1 - class_noise_rates_[c])``; the keep counts of
        ``selection="class_quota"``.
    noise_estimate_ : Bunch or None
        With ``"auto"``, the full estimate: always ``rate``, ``rate_std``,
        ``transition`` (None when unknown), ``warnings`` and ``method``
        (``"cross_fit"``, ``"loss_mixture"`` or the object's class name); with
        ``"cross_fit"`` everything of
        :func:`~noisyactive.filtering.estimate_noise` (``class_rates``,
        ``joint``, ...); with ``"loss_mixture"`` ``epoch_rates``, the estimate
        of every warm-up epoch. None for a given rate.
    vog_buffer_nbytes_ : int
        Memory held by the two VOG buffers during training.
    classes_, n_features_in_, net_, history_, best_epoch_

    References
    ----------
    .. [1] B. Han et al., "Co-teaching: Robust training of deep neural networks
       with extremely noisy labels", NeurIPS 2018.
    .. [2] C. Agarwal, D. D'souza, S. Hooker, "Estimating example difficulty using
       variance of gradients", CVPR 2022.
    .. [3] B. Khanal et al., "Active label refinement for robust training of
       imbalanced medical image classification tasks in the presence of high label
       noise", MICCAI 2024.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from noisyactive.datasets import inject_label_noise
    >>> X, y = make_classification(300, 10, n_informative=6, random_state=0)
    >>> y_noisy = inject_label_noise(y, 0.3, random_state=0)
    >>> filt = NoisyLabelFilter(mix_ratio=0.2, forget_rate=0.3, num_gradual=3,
    ...                         vog_window=2, max_epochs=6, lr=0.05, random_state=0)
    >>> filt.fit(X, y_noisy).clean_mask_.shape
    (300,)
    """

    #: The skorch net class fit builds (a subclass of CoTeachingNet may replace it).
    _net_class = CoTeachingNet

    _parameter_constraints = {
        **BaseNetEstimator._parameter_constraints,
        "mix_ratio": [Interval(Real, 0, 1, closed="both")],
        "forget_rate": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "noise_estimator": [
            StrOptions({"cross_fit", "loss_mixture"}),
            HasMethods(["estimate"]),
        ],
        "num_gradual": [Interval(Integral, 0, None, closed="left")],
        "exponent": [Interval(Real, 0, None, closed="neither")],
        "vog_window": [Interval(Integral, 2, None, closed="left")],
        "vog_normalize": [StrOptions({"class"}), None],
        "vog_dtype": [StrOptions({"float32", "float16"})],
        "selection": [StrOptions({"batch", "class_quota"})],
        "warm_start": ["boolean"],
        "transition_matrix": ["array-like", None],
        "final_selection": [
            StrOptions(set(SELECTION_RULES) | {"auto"}),
            HasMethods(["decide"]),
            None,
        ],
        "final_quota": [StrOptions({"class"}), None],
    }

    def __init__(
        self,
        module="auto",
        *,
        module_kwargs=None,
        weights=None,
        mix_ratio=0.0,
        forget_rate="auto",
        noise_estimator="cross_fit",
        num_gradual=10,
        exponent=1.0,
        vog_window=5,
        vog_normalize=None,
        vog_dtype="float32",
        selection="batch",
        transition_matrix=None,
        final_selection="auto",
        final_quota=None,
        max_epochs=30,
        batch_size=128,
        lr=0.01,
        momentum=0.9,
        weight_decay=1e-4,
        lr_schedule="cosine",
        augment=True,
        image_size=224,
        cache_dir="auto",
        device="auto",
        precision="auto",
        optimizer=torch.optim.SGD,
        freeze=None,
        warm_start=False,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.module = module
        self.module_kwargs = module_kwargs
        self.weights = weights
        self.mix_ratio = mix_ratio
        self.forget_rate = forget_rate
        self.noise_estimator = noise_estimator
        self.num_gradual = num_gradual
        self.exponent = exponent
        self.vog_window = vog_window
        self.vog_normalize = vog_normalize
        self.vog_dtype = vog_dtype
        self.selection = selection
        self.transition_matrix = transition_matrix
        self.final_selection = final_selection
        self.final_quota = final_quota
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.augment = augment
        self.image_size = image_size
        self.cache_dir = cache_dir
        self.device = device
        self.precision = precision
        self.optimizer = optimizer
        self.freeze = freeze
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def _check_transition_matrix(self):
        if self.transition_matrix is None:
            return None
        return check_transition_matrix(self.transition_matrix, len(self.classes_))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Co-teach two networks on (X, noisy y) and record the clean mask.

        Parameters
        ----------
        X : array of shape (n, d), (n, C, H, W), (n, H, W, C), or (n,) paths
        y : array-like of shape (n,)
            Noisy labels (any hashable values; encoded through ``classes_``).
        X_val, y_val : optional validation data
            Predictions then use the weights of the epoch with the best validation
            macro-F1 (the paper's protocol); ``clean_mask_`` stays the last epoch's.

        Returns
        -------
        self
        """
        # Everything is checked before any training (the cross-fit included).
        # The cross-fit gets the inputs; the networks, X as they read it.
        trained = trained_states(self, y) if self.warm_start else None
        X_in, y = self._prepare(X, y, reset=True, net_input=False)
        X = self._net_input(X_in)
        y_enc = self._encode_labels(y)
        transition = self._check_transition_matrix()
        valid = self._validation_arrays(X_val, y_val, all_known=True)
        kwargs = self._net_kwargs(X, len(self.classes_))  # device, precision
        kwargs["batch_size"] = min(self.batch_size, X.shape[0])
        if trained is not None:  # refuse a mismatch before any training
            check_trained_networks(trained, kwargs["module"])
        before = self.forget_rate == "auto" and not self._estimates_in_warmup()
        if before:
            self._check_cross_fit_counts(y_enc)
            kwargs["module"]()  # the network builds (module, kwargs, weights)

        noise = self._estimate_noise(X_in, y_enc) if before else None
        if self.forget_rate != "auto":  # symmetric noise unless T is given
            noise = Bunch(rate=float(self.forget_rate), rate_std=0.0, transition=None)
        if transition is None and noise is not None:
            transition = noise.transition
        rate = "auto" if noise is None else noise.rate
        warn_if_batch_keeps_nothing(kwargs["batch_size"], rate)
        config = CoTeachingConfig.from_estimator(
            self,
            n_classes=len(self.classes_),
            transition_matrix=transition,
            forget_rate=rate,
            record=self._selection_recordings(),
        )
        self.net_ = self._net_class(coteaching=config, valid_data=valid, **kwargs)
        if trained is None:
            self.net_.fit(X, y_enc)
        else:  # skorch's own warm start: no new initialisation
            load_trained_networks(self.net_.initialize(), trained)
            self.net_.partial_fit(X, y_enc)
        result = self.net_.release_training_state()
        self.clean_mask_ = result["clean_mask"]
        self.selection_rate_ = result["selection_rate"]
        self.vog_scores_ = result["vog_scores"]
        self.loss_scores_ = result["loss_scores"]
        self.vog_buffer_nbytes_ = int(result["vog_buffer_nbytes"])
        self.forget_rate_ = float(result["forget_rate"])
        if noise is None:  # the warm-up's loss mixture
            noise = loss_mixture_bunch(self.forget_rate_, result["rate_estimates"])
        counts = np.bincount(y_enc, minlength=len(self.classes_))
        self.class_clean_counts_ = estimate_class_clean_counts(
            counts, self.forget_rate_, transition_matrix=transition
        )
        self.class_noise_rates_ = 1.0 - self.class_clean_counts_ / np.maximum(counts, 1)
        self.forget_rate_std_ = float(noise.rate_std)
        self.noise_estimate_ = noise if self.forget_rate == "auto" else None
        self._finish_training()
        self._finish_selection(X, y_enc, result)
        warn_if_kept_nothing(self.clean_mask_, self.forget_rate_, kwargs["batch_size"])
        return self

    def fit_resample(self, X, y, **fit_params):
        """Fit, then return the samples kept as clean (imbalanced-learn's sampler
        protocol, so the filter can change ``y`` inside an imblearn ``Pipeline``).

        Returns
        -------
        X_clean, y_clean
        """
        self.fit(X, y, **fit_params)
        mask = self.clean_mask_
        X_out = X[mask] if hasattr(X, "shape") else np.asarray(X, dtype=object)[mask]
        return X_out, np.asarray(y)[mask]
