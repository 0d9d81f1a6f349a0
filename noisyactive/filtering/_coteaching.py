"""Two co-taught networks in one skorch net (Han et al. 2018 + VOG mix)."""

import numpy as np
import torch
import torch.nn.functional as F

from noisyactive.classifiers._net import ArrayNet
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

__all__ = ["CoTeachingNet"]


class CoTeachingNet(ArrayNet):
    """skorch net holding ``module_`` and ``module2_``, co-taught per batch.

    Per batch: per-sample losses of both networks; each network selects ``R``
    samples (small loss, mixed with small VOG after the warm-up); each network is
    updated on the other's selection. One optimizer over both parameter sets and
    one backward of ``loss1 + loss2`` is the same as two separate updates because
    the parameter sets are disjoint. VOG vectors come in closed form from this same
    forward pass and go into a preallocated ring buffer per network.
    """

    def __init__(
        self,
        module,
        *,
        n_classes,
        mix_ratio=0.0,
        forget_rate="auto",
        num_gradual=10,
        exponent=1.0,
        vog_window=5,
        vog_normalize=None,
        vog_dtype=torch.float32,
        selection="batch",
        transition_matrix=None,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.n_classes = n_classes
        self.mix_ratio = mix_ratio
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual
        self.exponent = exponent
        self.vog_window = vog_window
        self.vog_normalize = vog_normalize
        self.vog_dtype = vog_dtype
        self.selection = selection
        self.transition_matrix = transition_matrix

    def initialize_module(self):
        self.module_ = self._build(0)
        self.module2_ = self._build(1)  # a different initialisation
        return self

    def ensemble(self):
        return [self.module_, self.module2_]

    # --- per-sample state ---------------------------------------------------------
    def begin_training(self, X_t, y_t):
        n, dev, t = X_t.shape[0], torch.device(self.device), self.vog_window
        self.layers_ = [final_linear(m) for m in self.ensemble()]
        self.vog_ = [
            VOGBuffer(n, layer.in_features + 1, t, self.vog_dtype, dev)
            for layer in self.layers_
        ]
        self.labels_ = y_t.to(dev)
        self.noisy_counts_ = np.bincount(y_t.cpu().numpy(), minlength=self.n_classes)
        self.loss_epoch_ = torch.zeros(2, n, device=dev)
        self.loss_prev_ = None
        self.selected_epoch_ = torch.zeros(n, dtype=torch.bool, device=dev)
        self.selected_hist_ = torch.zeros(n, t, dtype=torch.bool, device=dev)
        self.rate_estimates_ = []
        self.forget_rate_ = (
            None if self.forget_rate == "auto" else float(self.forget_rate)
        )

    def current_forget_rate(self):
        """The final forget rate tau: given, or estimated during warm-up."""
        if self.forget_rate_ is not None:
            return self.forget_rate_
        if self.loss_prev_ is None:
            return 0.0
        rate = estimate_noise_rate(self.loss_prev_.mean(0).cpu().numpy())
        self.rate_estimates_.append(rate)
        if self.n_epochs_done_ >= self.num_gradual:
            # Frozen once the warm-up ends, as the median over its second half:
            # single late estimates sink as the networks start to memorise noise.
            late = self.rate_estimates_[len(self.rate_estimates_) // 2 :]
            self.forget_rate_ = rate = float(np.median(late))
        return rate

    def begin_epoch(self):
        e = self.n_epochs_done_
        tau = self.current_forget_rate()
        self.tau_e_ = forget_rate_schedule(e, tau, self.num_gradual, self.exponent)
        use_vog = self.mix_ratio > 0 and e >= self.num_gradual and self.vog_[0].ready
        self.vog_epoch_ = None
        if use_vog:
            self.vog_epoch_ = [self._vog_scores(buf) for buf in self.vog_]
        self.keep_ = None
        if self.selection == "class_quota":
            self.keep_ = self._class_keep_sets(tau)
            self.selected_epoch_.copy_(self.keep_[0])
        else:
            self.selected_epoch_.zero_()
        self.history.record("forget_rate", self.tau_e_)

    def _vog_scores(self, buf):
        scores = buf.scores()
        if self.vog_normalize == "class":
            scores = normalize_by_class(scores, self.labels_, self.n_classes)
        return scores

    def _class_keep_sets(self, tau):
        n = self.labels_.shape[0]
        if self.loss_prev_ is None:
            full = torch.ones(n, dtype=torch.bool, device=self.labels_.device)
            return [full, full]
        clean = estimate_class_clean_counts(
            self.noisy_counts_, tau, transition_matrix=self.transition_matrix
        )
        self.class_clean_counts_ = clean
        progress = self.tau_e_ / tau if tau > 0 else 0.0
        quotas = class_keep_quotas(self.noisy_counts_, clean, progress)
        keep = []
        for j in range(2):
            vog = None if self.vog_epoch_ is None else self.vog_epoch_[j]
            keep.append(
                select_per_class(
                    self.loss_prev_[j], vog, self.labels_, quotas, self.mix_ratio
                )
            )
        return keep

    def run_train_epoch(self, iterator):
        self.begin_epoch()
        super().run_train_epoch(iterator)

    def after_train_epoch(self):
        for buf in self.vog_:
            buf.end_epoch()
        slot = (self.vog_[0].n_epochs - 1) % self.vog_window
        self.selected_hist_[:, slot] = self.selected_epoch_
        self.loss_prev_ = self.loss_epoch_.clone()
        self.history.record("n_selected", int(self.selected_epoch_.sum()))

    # --- the co-teaching step -------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        xb, yb, idx = batch
        x = self.prepare_batch(xb, training=True)
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
        self.loss_epoch_[0, idx] = loss1.detach()
        self.loss_epoch_[1, idx] = loss2.detach()

        if self.keep_ is not None:  # class quotas: global keep sets
            keep1, keep2 = self.keep_[0][idx].float(), self.keep_[1][idx].float()
            loss = (loss1 * keep2).sum() / keep2.sum().clamp_min(1.0) + (
                loss2 * keep1
            ).sum() / keep1.sum().clamp_min(1.0)
        else:
            r = n_remember(yb.shape[0], self.tau_e_)
            v1 = v2 = None
            if self.vog_epoch_ is not None:
                v1, v2 = self.vog_epoch_[0][idx], self.vog_epoch_[1][idx]
            sel1 = select_small_loss_and_vog(loss1, v1, r, self.mix_ratio)
            sel2 = select_small_loss_and_vog(loss2, v2, r, self.mix_ratio)
            self.selected_epoch_[idx[sel1]] = True
            if r == 0:
                loss = 0.0 * (loss1.sum() + loss2.sum())
            else:  # cross update: each network learns from the other's choice
                loss = loss1[sel2].mean() + loss2[sel1].mean()
        loss.backward()
        return {"loss": loss, "y_pred": logits1}

    def release_training_state(self):
        """Fitted per-sample results as numpy; frees the buffers."""
        n_hist = min(self.vog_[0].n_epochs, self.vog_window)
        vog = self.vog_[0].scores().cpu().numpy()
        if not self.vog_[0].ready:
            vog = np.full_like(vog, np.nan)
        result = {
            "clean_mask": self.selected_epoch_.cpu().numpy().copy(),
            "selection_rate": (self.selected_hist_.float().sum(1) / max(n_hist, 1))
            .cpu()
            .numpy(),
            "vog_scores": vog,
            "loss_scores": self.loss_epoch_.mean(0).cpu().numpy(),
            "vog_buffer_nbytes": sum(buf.nbytes for buf in self.vog_),
            "forget_rate": self.forget_rate_
            if self.forget_rate_ is not None
            else (self.rate_estimates_[-1] if self.rate_estimates_ else 0.0),
            "rate_estimates": list(self.rate_estimates_),
            "class_clean_counts": getattr(self, "class_clean_counts_", None),
        }
        for name in ("vog_", "labels_", "loss_epoch_", "loss_prev_", "selected_epoch_"):
            setattr(self, name, None)
        self.selected_hist_ = self.keep_ = self.vog_epoch_ = self.layers_ = None
        return result
