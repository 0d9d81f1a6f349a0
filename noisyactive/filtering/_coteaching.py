"""Two co-taught networks in one skorch net (Han et al. 2018 + VOG mix)."""

import copy
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from noisyactive._netcore._net import ArrayNet
from noisyactive.filtering._candidates import predicted_class_vog_gradients
from noisyactive.filtering._epoch_rules import (
    cross_update_loss,
    cross_update_loss_masked,
    uses_vog,
    warmup_forget_rate,
)
from noisyactive.filtering._noise_rate import estimate_noise_rate
from noisyactive.filtering._quota import (
    class_keep_quotas,
    estimate_class_clean_counts,
    select_per_class,
)
from noisyactive.filtering._schedule import forget_rate_schedule, n_remember
from noisyactive.filtering._selection import select_small_loss_and_vog
from noisyactive.filtering._vog import VOGBuffer, normalize_by_class, vog_gradients
from noisyactive.nets import capture_features, final_linear

__all__ = ["CoTeachingConfig", "CoTeachingNet"]


@dataclass(frozen=True, eq=False)
class CoTeachingConfig:
    """The Co-teaching + VOG settings of one fit (see
    :class:`~noisyactive.NoisyLabelFilter` for their meaning); the field names
    are the filter's parameter names."""

    n_classes: int
    mix_ratio: float = 0.0
    forget_rate: object = "auto"
    num_gradual: int = 10
    exponent: float = 1.0
    vog_window: int = 5
    vog_normalize: object = None
    vog_dtype: str = "float32"
    selection: str = "batch"
    transition_matrix: object = None
    #: Extra per-sample recordings for the final selection: "vog_predicted"
    #: (VOG of the predicted class's gradient) and "vog_eval" (label VOG from an
    #: eval-mode, un-augmented pass at the end of the last ``vog_window`` epochs).
    record: frozenset = frozenset()

    @classmethod
    def from_estimator(cls, estimator, **values):
        """The config with every field the estimator has as a parameter, then
        ``values`` (validated values such as the transition matrix)."""
        names = {f.name for f in fields(cls)} - set(values)
        params = estimator.get_params(deep=False)
        return cls(**{n: params[n] for n in names if n in params}, **values)


def trained_states(estimator, y):
    """A copy of each fitted network's weights (``warm_start``), or None for an
    estimator not fitted yet; refuses labels whose classes differ."""
    net = getattr(estimator, "net_", None)
    if net is None:
        return None
    old, new = np.asarray(estimator.classes_), np.unique(np.asarray(y))
    if old.shape != new.shape or not np.array_equal(old, new):
        raise ValueError(_MISMATCH.format(f"classes {old.tolist()} → {new.tolist()}"))
    return [copy.deepcopy(m.state_dict()) for m in net.ensemble()]


_MISMATCH = (
    "warm_start=True, but the networks this fit builds differ from the fitted "
    "ones ({}): keep module, module_kwargs, weights, freeze and the classes as "
    "they were, or set warm_start=False."
)


def check_trained_networks(states, build):
    """Refuse a ``warm_start`` whose networks (``build()`` makes one new
    network) differ in shape from the fitted ones, before any training."""
    shapes = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    for state in states:
        if {k: tuple(v.shape) for k, v in state.items()} != shapes:
            raise ValueError(_MISMATCH.format("their weights' shapes"))


def load_trained_networks(net, states):
    """Load ``states`` (one state dict per network, as a fitted filter's
    ensemble had them) into the initialised ``net``: ``warm_start``."""
    for module, state in zip(net.ensemble(), states, strict=True):
        module.load_state_dict(state)
    return net


class CoTeachingNet(ArrayNet):
    """skorch net holding ``module_`` and ``module2_``, co-taught per batch.

    Per batch: per-sample losses of both networks; each network selects ``R``
    samples (small loss, mixed with small VOG after the warm-up); each network is
    updated on the other's selection (:func:`cross_update_loss`). VOG vectors
    come in closed form from this same forward pass and go into a preallocated
    ring buffer per network. The epoch protocol (forget-rate schedule and
    freeze, when VOG joins) runs in skorch's ``on_epoch_begin`` /
    ``on_epoch_end`` of the net itself, through the pure functions of
    :mod:`noisyactive.filtering._epoch_rules`.

    Parameters
    ----------
    module : callable
        Network builder, called twice (two seeds).
    coteaching : CoTeachingConfig
    **kwargs
        As :class:`~noisyactive._netcore._net.ArrayNet`.
    """

    def __init__(self, module, *, coteaching, **kwargs):
        super().__init__(module, **kwargs)
        self.coteaching = coteaching

    def initialize_module(self):
        self.module_ = self._build(0)
        self.module2_ = self._build(1)  # a different initialisation
        return self

    def ensemble(self):
        return [self.module_, self.module2_]

    # --- per-sample state (skorch's on_train_begin of the net) --------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        cfg = self.coteaching
        n, dev, t = len(y), torch.device(self.device), cfg.vog_window
        dtype = getattr(torch, cfg.vog_dtype)
        self.layers_ = [final_linear(m) for m in self.ensemble()]
        self.vog_ = [
            VOGBuffer(n, layer.in_features + 1, t, dtype, dev) for layer in self.layers_
        ]
        self.vog_extra_ = {
            name: VOGBuffer(n, self.layers_[0].in_features + 1, t, dtype, dev)
            for name in ("vog_predicted", "vog_eval")
            if name in cfg.record
        }
        y = np.asarray(y)
        self.labels_ = torch.as_tensor(y, dtype=torch.long, device=dev)
        self.noisy_counts_ = np.bincount(y, minlength=cfg.n_classes)
        self.loss_epoch_ = torch.zeros(2, n, device=dev)
        self.loss_prev_ = None
        self.selected_epoch_ = torch.zeros(n, dtype=torch.bool, device=dev)
        self.selected_hist_ = torch.zeros(n, t, dtype=torch.bool, device=dev)
        self.rate_estimates_ = []
        fixed = cfg.forget_rate != "auto"
        self.forget_rate_ = float(cfg.forget_rate) if fixed else None

    def current_forget_rate(self):
        """The final forget rate tau: given (estimated before training or
        not), or with ``forget_rate="auto"`` in the config
        (``noise_estimator="loss_mixture"``) estimated during the warm-up."""
        if self.forget_rate_ is not None:
            return self.forget_rate_
        if self.loss_prev_ is not None:
            losses = self.loss_prev_.mean(0).cpu().numpy()
            self.rate_estimates_.append(estimate_noise_rate(losses))
        rate, frozen = warmup_forget_rate(
            self.rate_estimates_, self.n_epochs_done_, self.coteaching.num_gradual
        )
        if frozen:
            self.forget_rate_ = rate
        return rate

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        cfg, e = self.coteaching, self.n_epochs_done_
        tau = self.current_forget_rate()
        self.tau_e_ = forget_rate_schedule(e, tau, cfg.num_gradual, cfg.exponent)
        self.vog_epoch_ = None
        if uses_vog(cfg.mix_ratio, e, cfg.num_gradual, self.vog_[0].ready):
            self.vog_epoch_ = [self._vog_scores(buf) for buf in self.vog_]
        self.keep_ = None
        if cfg.selection == "class_quota":
            self.keep_ = self._class_keep_sets(tau)
            self.selected_epoch_.copy_(self.keep_[0])
        else:
            self.selected_epoch_.zero_()
        self.history.record("forget_rate", self.tau_e_)

    def _vog_scores(self, buf):
        scores = buf.scores()
        if self.coteaching.vog_normalize == "class":
            scores = normalize_by_class(scores, self.labels_, self.coteaching.n_classes)
        return scores

    def _class_keep_sets(self, tau):
        n, cfg = self.labels_.shape[0], self.coteaching
        if self.loss_prev_ is None:
            full = torch.ones(n, dtype=torch.bool, device=self.labels_.device)
            return [full, full]
        clean = estimate_class_clean_counts(
            self.noisy_counts_, tau, transition_matrix=cfg.transition_matrix
        )
        progress = self.tau_e_ / tau if tau > 0 else 0.0
        quotas = class_keep_quotas(self.noisy_counts_, clean, progress)
        keep = []
        for j in range(2):
            vog = None if self.vog_epoch_ is None else self.vog_epoch_[j]
            loss = self.loss_prev_[j]
            keep.append(
                select_per_class(loss, vog, self.labels_, quotas, cfg.mix_ratio)
            )
        return keep

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        for buf in self.vog_:
            buf.end_epoch()
        if "vog_predicted" in self.vog_extra_:
            self.vog_extra_["vog_predicted"].end_epoch()
        if "vog_eval" in self.vog_extra_ and dataset_train is not None:
            self._record_eval_vog(self.vog_extra_["vog_eval"], dataset_train)
        slot = (self.vog_[0].n_epochs - 1) % self.coteaching.vog_window
        self.selected_hist_[:, slot] = self.selected_epoch_
        self.loss_prev_ = self.loss_epoch_.clone()
        self.history.record("n_selected", int(self.selected_epoch_.sum()))
        super().on_epoch_end(net, dataset_train=dataset_train, **kwargs)

    def _record_eval_vog(self, buf, dataset):
        """Network 1's label VOG vectors from an eval-mode, un-augmented,
        no-grad pass over the training set, in the last ``vog_window`` planned
        epochs only (``vog_window`` extra forward passes in all). It draws no
        random numbers, so training is the same with or without it."""
        planned = getattr(self, "epochs_planned_", None) or self.max_epochs
        if self.n_epochs_done_ < planned - buf.window:
            return
        self._set_training(False)
        with torch.no_grad(), capture_features(self.layers_[0]) as store:
            for Xb, yb in self.get_iterator(dataset, training=False):
                with self.autocast():
                    logits = self.module_(self.prepare_batch(Xb["x"], training=False))
                buf.write(Xb["index"], vog_gradients(logits, store["h"].flatten(1), yb))
        buf.end_epoch()

    # --- the co-teaching step -------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xb, yb = batch
        idx = Xb["index"]
        x = self.prepare_batch(Xb["x"], training=True)
        with (
            capture_features(self.layers_[0]) as s1,
            capture_features(self.layers_[1]) as s2,
            self.autocast(),
        ):
            logits1 = self.module_(x)
            logits2 = self.module2_(x)
        loss1 = F.cross_entropy(logits1.float(), yb, reduction="none")
        loss2 = F.cross_entropy(logits2.float(), yb, reduction="none")
        self.vog_[0].write(idx, vog_gradients(logits1, s1["h"].flatten(1), yb))
        self.vog_[1].write(idx, vog_gradients(logits2, s2["h"].flatten(1), yb))
        if "vog_predicted" in self.vog_extra_:
            grads = predicted_class_vog_gradients(logits1, s1["h"].flatten(1))
            self.vog_extra_["vog_predicted"].write(idx, grads)
        self.loss_epoch_[0, idx] = loss1.detach()
        self.loss_epoch_[1, idx] = loss2.detach()

        if self.keep_ is not None:  # class quotas: keep sets fixed for the epoch
            keep1, keep2 = self.keep_[0][idx].float(), self.keep_[1][idx].float()
            loss = cross_update_loss_masked(loss1, loss2, keep1, keep2)
        else:
            r, m = n_remember(yb.shape[0], self.tau_e_), self.coteaching.mix_ratio
            v1 = v2 = None
            if self.vog_epoch_ is not None:
                v1, v2 = self.vog_epoch_[0][idx], self.vog_epoch_[1][idx]
            sel1 = select_small_loss_and_vog(loss1, v1, r, m)
            sel2 = select_small_loss_and_vog(loss2, v2, r, m)
            self.selected_epoch_[idx[sel1]] = True
            loss = cross_update_loss(loss1, loss2, sel1, sel2)
        loss.backward()
        return {"loss": loss, "y_pred": logits1}

    def release_training_state(self):
        """Fitted per-sample results as numpy; frees the buffers."""
        n_hist = min(self.vog_[0].n_epochs, self.coteaching.vog_window)
        vog = _scores_or_nan(self.vog_[0])
        rate = self.forget_rate_
        if rate is None:  # training ended before the warm-up did
            rate = self.rate_estimates_[-1] if self.rate_estimates_ else 0.0
        rate_hist = self.selected_hist_.float().sum(1) / max(n_hist, 1)
        result = {
            "clean_mask": self.selected_epoch_.cpu().numpy().copy(),
            "selection_rate": rate_hist.cpu().numpy(),
            "vog_scores": vog,
            "loss_scores": self.loss_epoch_.mean(0).cpu().numpy(),
            "vog_buffer_nbytes": sum(
                buf.nbytes for buf in [*self.vog_, *self.vog_extra_.values()]
            ),
            "loss_per_net": self.loss_epoch_.cpu().numpy().copy(),
            "forget_rate": rate,
            "rate_estimates": list(self.rate_estimates_),
        }
        for name, buf in self.vog_extra_.items():
            result[name] = _scores_or_nan(buf)
        self.vog_extra_ = {}
        for name in ("vog_", "labels_", "loss_epoch_", "loss_prev_", "selected_epoch_"):
            setattr(self, name, None)
        self.selected_hist_ = self.keep_ = self.vog_epoch_ = self.layers_ = None
        return result


def _scores_or_nan(buf):
    """A buffer's VOG, NaN before a full window of history."""
    vog = buf.scores().cpu().numpy()
    return vog if buf.ready else np.full_like(vog, np.nan)
