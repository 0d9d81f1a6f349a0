"""A skorch ``NeuralNet`` over in-memory arrays, shared by the estimators.

skorch runs the loop: ``fit`` -> ``partial_fit`` -> ``fit_loop`` ->
``run_single_epoch`` -> ``train_step`` -> ``train_step_single``, with its callbacks
and ``history``. This subclass changes only skorch's override points:

- ``get_dataset`` / ``get_iterator``: the arrays become tensors once per fit (on
  the GPU when they fit) and batches are cut by tensor indexing
  (:class:`ArrayBatches`) instead of a per-sample ``DataLoader``. A batch is
  ``({"x": images, "index": positions}, y)``, so skorch's two-item batch
  protocol holds and Co-teaching knows which samples it sees.
- ``train_step_single`` / ``validation_step`` / ``evaluation_step``: uint8 -> float,
  on-device augmentation, channels-last, bf16 autocast on CUDA, and the ensemble
  (Co-teaching's two networks) at validation and prediction time.
- ``on_batch_end`` (the net's own hook): a check that the training loss skorch
  recorded is finite (a diverging fit raises :class:`FloatingPointError` naming
  epoch, batch and lr). ``partial_fit`` and ``run_single_epoch`` are skorch's.
- The cosine schedule is skorch's :class:`~skorch.callbacks.LRScheduler` with a
  ``LambdaLR`` factor that stays at 0 after ``max_epochs`` (torch's
  ``CosineAnnealingLR`` rises again after ``T_max``, the oscillation the
  reference code had). A user's own ``LRScheduler`` in ``callbacks`` replaces it.
- Validation is skorch's: ``train_split=predefined_split(valid)``, a
  ``valid_loss`` and an :class:`~skorch.callbacks.EpochScoring` macro-F1
  (``valid_f1``, ``valid_f1_best``), and :class:`RestoreBestEpoch` keeps the best
  epoch's weights.

What skorch cannot do here, and why:

- ``Checkpoint(load_best=True)`` writes the weights to files at every improvement
  (two ResNet18s, ~90 MB, per improving epoch) and restores ``module_`` only;
  :class:`RestoreBestEpoch` keeps copies of every network of the ensemble in
  memory instead. A user's ``Checkpoint`` still works as in skorch.
- ``iterator_train__*`` / ``iterator_valid__*`` / ``dataset__*`` parameters have no
  effect on array input: no ``DataLoader`` is built for it.
- skorch's batch history reads the loss on the host once per batch (one
  synchronisation per batch on CUDA); the finite-loss check reads that record.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import (
    EpochScoring,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
)
from skorch.helper import predefined_split
from torch import nn

from noisyactive._netcore._arrays import ArrayBatches, ArrayDataset
from noisyactive._netcore._callbacks import (
    CosineDecay,
    EpochProgress,
    PlainPrintLog,
    RestoreBestEpoch,
    SlowFitWarning,
    macro_f1,
)
from noisyactive.nets import augment_images, capture_features, final_linear

__all__ = ["ArrayNet"]


class ArrayNet(NeuralNet):
    """Plain cross-entropy network trained on in-memory arrays.

    Parameters (beyond skorch's) are set by the owning estimator.

    Parameters
    ----------
    module : callable
        Zero-argument network builder (called once per network, seeded).
    settings : dict
        ``is_image``, ``augment``, ``unit_range``, ``amp_dtype``,
        ``channels_last``, ``seed``, ``lr_schedule`` (``"cosine"`` or None),
        ``finetune_lr``; see :meth:`noisyactive.base.BaseNetEstimator._net_kwargs`.
    valid_data : (X, y) or None
        Validation arrays (labels encoded; -1 for a class the net cannot predict).
    """

    def __init__(self, module, *, settings=None, valid_data=None, **kwargs):
        kwargs.setdefault("criterion", nn.CrossEntropyLoss)
        if valid_data is not None:
            X_val, y_val = (
                torch.as_tensor(np.ascontiguousarray(a)) for a in valid_data
            )
            kwargs["train_split"] = predefined_split(ArrayDataset(X_val, y_val.long()))
        kwargs.setdefault("train_split", None)
        super().__init__(module, **kwargs)
        self.settings = dict(settings or {})
        self.valid_data = valid_data

    def _setting(self, name, default=None):
        return self.settings.get(name, default)

    # --- components -------------------------------------------------------------
    def get_default_callbacks(self):
        cbs = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]
        if self.train_split is not None:
            cbs += [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                ("valid_f1", EpochScoring(macro_f1, False, name="valid_f1")),
                ("restore_best", RestoreBestEpoch("valid_f1_best")),
            ]
        user = [cb[1] if isinstance(cb, tuple) else cb for cb in self.callbacks or []]
        own_lr = any(isinstance(cb, LRScheduler) for cb in user)
        if self._setting("lr_schedule") == "cosine" and not own_lr:
            policy = torch.optim.lr_scheduler.LambdaLR
            cosine = LRScheduler(policy, lr_lambda=CosineDecay(self.max_epochs))
            cbs.append(("lr_scheduler", cosine))
        progress = EpochProgress(self._setting("progress_desc", "training"))
        slow = SlowFitWarning(hint=self._setting("speed_hint", ""))
        cbs.append(("slow_fit_warning", slow))
        return cbs + [("progress", progress), ("print_log", PlainPrintLog())]

    def _build(self, offset=0):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._setting("seed", 0) + offset)
            net = self.module()
        net = net.to(self.device)
        if self._channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net

    @property
    def _channels_last(self):
        return bool(self._setting("channels_last")) and self._setting("is_image")

    def initialize_module(self):
        self.module_ = self._build()
        return self

    def ensemble(self):
        """The networks whose softmax outputs are averaged at prediction time."""
        return [self.module_]

    def initialize(self):
        super().initialize()
        seed = self._setting("seed", 0)
        self.shuffle_gen_ = torch.Generator().manual_seed(seed + 101)
        dev = torch.device(self.device)
        self.augment_gen_ = torch.Generator(device=dev).manual_seed(seed + 202)
        self.n_epochs_done_ = 0
        self.finetuning_ = False
        return self

    def get_rng_state(self):
        """States of the shuffling and augmentation generators (tensors), for a
        bit-identical resume with :meth:`set_rng_state`."""
        return {
            "shuffle": self.shuffle_gen_.get_state(),
            "augment": self.augment_gen_.get_state(),
        }

    def set_rng_state(self, state):
        """Restore generator states saved with :meth:`get_rng_state`."""
        self.shuffle_gen_.set_state(state["shuffle"].cpu())
        self.augment_gen_.set_state(state["augment"].cpu())
        return self

    def start_finetuning(self):
        """Switch to a constant ``finetune_lr`` (default ``lr / 10``) for later
        ``partial_fit`` calls; the cosine schedule belongs to the first fit."""
        if any(name == "lr_scheduler" for name, _ in self.callbacks_):
            self.set_params(callbacks__lr_scheduler=None)
            self.initialize_callbacks()  # drops the disabled callback
        lr = self._setting("finetune_lr")
        lr = 0.1 * self.lr if lr is None else lr
        self.finetuning_ = True
        if "_pending_optimizer" in self.__dict__:
            self._finetune_lr = lr  # applied when the optimizer is built
            return self
        for group in self.optimizer_.param_groups:
            group["lr"] = lr
        return self

    # --- an optimizer built only for training ------------------------------------
    # torch builds every optimizer under ``torch._disable_dynamo``, whose first
    # call imports ``torch._dynamo`` (1-2 s on a CPU). A net restored only to
    # predict (``noisyactive export``, ``query``) never needs one.
    def defer_optimizer(self, state):
        """At the next :meth:`initialize`, skip building the optimizer; build it
        from ``state`` (an optimizer ``state_dict``) when training starts."""
        self._defer_next = True
        self._pending_optimizer = state
        return self

    def initialize_optimizer(self, *args, **kwargs):
        if self.__dict__.pop("_defer_next", False):
            if "optimizer" not in self._optimizers:  # as setting it would
                self._register_attribute("optimizer", None)
            return self
        self.__dict__.pop("_pending_optimizer", None)
        return super().initialize_optimizer(*args, **kwargs)

    def ensure_optimizer(self):
        """Build the optimizer a :meth:`defer_optimizer` left out."""
        state = self.__dict__.pop("_pending_optimizer", None)
        if state is None:
            return self
        super().initialize_optimizer()
        self.optimizer_.load_state_dict(state)
        lr = self.__dict__.pop("_finetune_lr", None)
        if lr is not None:
            for group in self.optimizer_.param_groups:
                group["lr"] = lr
        return self

    def optimizer_state(self):
        """The optimizer's ``state_dict`` (the deferred one, unchanged)."""
        if "_pending_optimizer" in self.__dict__:
            return self._pending_optimizer
        return self.optimizer_.state_dict()

    # --- data -------------------------------------------------------------------
    def to_tensors(self, X, y=None):
        """Tensors for X and y, moved to the device when the data fit comfortably."""
        if isinstance(X, np.ndarray) and not X.flags.writeable:
            # A memory-mapped image cache is read-only; torch needs its own copy,
            # made once per fit (decoding, the expensive part, is not repeated).
            X = np.array(X)
        X_t = torch.as_tensor(np.ascontiguousarray(X))
        y_t = None if y is None else torch.as_tensor(np.asarray(y), dtype=torch.long)
        dev = torch.device(self.device)
        if dev.type == "cuda":
            free, _ = torch.cuda.mem_get_info(dev)
            if X_t.numel() * X_t.element_size() < 0.25 * free:
                X_t = X_t.to(dev)
                y_t = None if y_t is None else y_t.to(dev)
        return X_t, y_t

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        return ArrayDataset(*self.to_tensors(X, y))

    def get_iterator(self, dataset, training=False, batch_size=None):
        if not isinstance(dataset, ArrayDataset):
            return super().get_iterator(dataset, training=training)
        return ArrayBatches(
            dataset,
            batch_size or self.batch_size,
            shuffle=training,
            generator=self.shuffle_gen_,
            device=self.device,
        )

    def prepare_batch(self, xb, training):
        """uint8 -> [0, 1] float, augmentation (images, training), channels-last."""
        if self._setting("views"):
            # Cached frozen-trunk features (n, views, ...): a random view per
            # sample is the augmentation; prediction reads view 0 (the image).
            pick = torch.zeros(len(xb), dtype=torch.long, device=xb.device)
            if training and xb.shape[1] > 1:
                pick = torch.randint(
                    xb.shape[1],
                    (len(xb),),
                    generator=self.augment_gen_,
                    device=self.augment_gen_.device,
                ).to(xb.device)
            xb = xb[torch.arange(len(xb), device=xb.device), pick].float()
        if xb.dtype == torch.uint8:
            xb = xb.float().div_(255.0)
        if training and self._setting("augment") and self._setting("is_image"):
            clamp = self._setting("unit_range", True)
            xb = augment_images(xb, self.augment_gen_, clamp=clamp)
        if self._channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        return xb

    def autocast(self):
        dev = torch.device(self.device).type
        amp = self._setting("amp_dtype")
        return torch.autocast(dev, dtype=amp, enabled=amp is not None)

    # --- the loop (skorch's, through its override points) -----------------------
    def partial_fit(self, X, y=None, classes=None, epochs=None, **fit_params):
        """skorch's ``partial_fit`` with an ``epochs`` count (default
        ``max_epochs``) that the progress callbacks read; a callback's
        ``KeyboardInterrupt`` (``EarlyStopping``) ends training, as in skorch."""
        self.epochs_planned_ = self.max_epochs if epochs is None else epochs
        self.ensure_optimizer()
        return super().partial_fit(X, y, classes=classes, epochs=epochs, **fit_params)

    def on_epoch_end(self, net, **kwargs):
        self.n_epochs_done_ += 1

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        """Refuse a non-finite training loss, read from the batch history that
        skorch's ``run_single_epoch`` has just written (no second host read)."""
        if not training:
            return
        batches = self.history[-1]["batches"]
        loss = batches[-1]["train_loss"]
        if not math.isfinite(loss):
            lr = self.optimizer_.param_groups[0]["lr"]
            raise FloatingPointError(
                f"Training diverged: the loss is {loss} in epoch "
                f"{self.n_epochs_done_} at batch {len(batches) - 1} (lr={lr:g}). "
                "Lower lr, or check the input for extreme values."
            )

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xb, yb = batch
        x = self.prepare_batch(Xb["x"], training=True)
        with self.autocast():
            logits = self.module_(x)
        loss = self.get_loss(logits.float(), yb, X=Xb, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def _ensemble_proba(self, xb):
        x = self.prepare_batch(xb, training=False)
        with self.autocast():
            probs = sum(torch.softmax(m(x).float(), 1) for m in self.ensemble())
        return probs / len(self.ensemble())

    def validation_step(self, batch, **fit_params):
        """Log of the ensemble's mean softmax; the loss ignores labels the
        network cannot predict (-1)."""
        self._set_training(False)
        Xb, yb = batch
        with torch.inference_mode():
            log_p = self._ensemble_proba(Xb["x"]).clamp_min(1e-12).log()
            known = yb >= 0
            nll = F.nll_loss(log_p, yb.clamp_min(0), reduction="none")
            loss = (nll * known).sum() / known.sum().clamp_min(1)
        return {"loss": loss, "y_pred": log_p}

    def evaluation_step(self, batch, training=False):
        self._set_training(False)
        with torch.inference_mode():
            return self._ensemble_proba(batch[0]["x"]).clamp_min(1e-12).log()

    # --- inference --------------------------------------------------------------
    def _eval_batches(self, X, batch_size):
        self._set_training(False)
        dataset = self.get_dataset(X)
        return self.get_iterator(dataset, training=False, batch_size=batch_size)

    @torch.inference_mode()
    def predict_proba_arrays(self, X, batch_size=None):
        """Average softmax of the ensemble, in eval mode."""
        out = [
            self._ensemble_proba(Xb["x"]).cpu()
            for Xb, _ in self._eval_batches(X, batch_size)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)

    @torch.inference_mode()
    def embed_arrays(self, X, batch_size=None):
        """Input of the first network's final linear layer (penultimate features)."""
        out = []
        with capture_features(final_linear(self.module_)) as store:
            for Xb, _ in self._eval_batches(X, batch_size):
                with self.autocast():
                    self.module_(self.prepare_batch(Xb["x"], training=False))
                out.append(store["h"].float().flatten(1).cpu())
        return torch.cat(out).numpy()
