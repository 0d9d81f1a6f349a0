"""A skorch ``NeuralNet`` over in-memory arrays, shared by the estimators.

skorch supplies the loop (``fit_loop``, ``train_step``, callbacks, history); this
subclass replaces the per-sample ``Dataset``/``DataLoader`` with batched tensor
indexing of arrays that already sit in memory (on the GPU when they fit), records
losses per epoch instead of calling ``.item()`` per batch (no host synchronisation
per batch), runs mixed precision and channels-last on CUDA, and augments on the
device.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PrintLog
from torch import nn

from noisyactive.nets import augment_images, capture_features, final_linear

__all__ = ["InputNorm", "ArrayNet", "cosine_lr"]


def cosine_lr(base_lr, epoch, n_epochs):
    """Cosine decay from ``base_lr`` at epoch 0 towards 0 at ``n_epochs``; it never
    rises again (the reference code's schedule oscillated across rounds)."""
    e = min(epoch, n_epochs)
    return 0.5 * base_lr * (1 + math.cos(math.pi * e / max(n_epochs, 1)))


class InputNorm(nn.Module):
    """Standardise the input, then run ``body``; keeps the statistics in the state
    dict so a saved network needs nothing else."""

    def __init__(self, body, mean, std):
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x):
        return self.body((x - self.mean) / self.std)


class _Batches:
    """Mini-batches of (X, y, index) by tensor indexing, reshuffled every epoch."""

    def __init__(self, X, y, batch_size, *, shuffle, generator, device):
        self.X, self.y = X, y
        self.batch_size = max(1, int(batch_size))
        self.shuffle, self.generator, self.device = shuffle, generator, device

    def __len__(self):
        return math.ceil(self.X.shape[0] / self.batch_size)

    def __iter__(self):
        n = self.X.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        on_device = self.X.device.type != "cpu"
        # Data left on the host (too large for the GPU) go over in pinned batches.
        transfer = not on_device and torch.device(self.device).type == "cuda"
        if on_device:
            order = order.to(self.X.device)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            xb = self.X[idx]
            yb = None if self.y is None else self.y[idx]
            if transfer:
                xb = xb.pin_memory().to(self.device, non_blocking=True)
                yb = None if yb is None else yb.to(self.device, non_blocking=True)
                idx = idx.to(self.device, non_blocking=True)
            yield xb, yb, idx


class ArrayNet(NeuralNet):
    """Plain cross-entropy network trained on in-memory arrays.

    Extra parameters (beyond skorch's) are set by the owning estimator:
    ``is_image``, ``augment``, ``unit_range``, ``amp_dtype``, ``channels_last``,
    ``seed``, ``lr_schedule`` (``"cosine"`` or ``None``), ``finetune_lr``.
    """

    def __init__(
        self,
        module,
        *,
        is_image=False,
        augment=False,
        unit_range=True,
        amp_dtype=None,
        channels_last=False,
        seed=0,
        lr_schedule="cosine",
        finetune_lr=None,
        valid_data=None,
        **kwargs,
    ):
        kwargs.setdefault("criterion", nn.CrossEntropyLoss)
        kwargs.setdefault("train_split", None)
        super().__init__(module, **kwargs)
        self.is_image = is_image
        self.augment = augment
        self.unit_range = unit_range
        self.amp_dtype = amp_dtype
        self.channels_last = channels_last
        self.seed = seed
        self.lr_schedule = lr_schedule
        self.finetune_lr = finetune_lr
        self.valid_data = valid_data

    # --- components -------------------------------------------------------------
    def get_default_callbacks(self):
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

    def _build(self, offset=0):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + offset)
            net = self.module()
        net = net.to(self.device)
        if self.channels_last and self.is_image:
            net = net.to(memory_format=torch.channels_last)
        return net

    def initialize_module(self):
        self.module_ = self._build()
        return self

    def ensemble(self):
        """The networks whose softmax outputs are averaged at prediction time."""
        return [self.module_]

    def initialize(self):
        super().initialize()
        self.shuffle_gen_ = torch.Generator().manual_seed(self.seed + 101)
        dev = torch.device(self.device)
        self.augment_gen_ = torch.Generator(device=dev).manual_seed(self.seed + 202)
        self.n_epochs_done_ = 0
        self.finetuning_ = False
        self.best_score_, self.best_state_ = -np.inf, None
        return self

    # --- data -------------------------------------------------------------------
    def to_tensors(self, X, y=None):
        """Tensors for X and y, moved to the device when the data fit comfortably."""
        if not X.flags.writeable:
            # A memory-mapped image cache is read-only; torch needs its own copy,
            # made once per fit (decoding, the expensive part, is not repeated).
            X = np.array(X)
        X_t = torch.from_numpy(np.ascontiguousarray(X))
        y_t = None if y is None else torch.as_tensor(np.asarray(y), dtype=torch.long)
        dev = torch.device(self.device)
        if dev.type == "cuda":
            free, _ = torch.cuda.mem_get_info(dev)
            if X_t.numel() * X_t.element_size() < 0.25 * free:
                X_t = X_t.to(dev)
                y_t = None if y_t is None else y_t.to(dev)
        return X_t, y_t

    def batches(self, X_t, y_t, *, training, batch_size=None):
        return _Batches(
            X_t,
            y_t,
            batch_size or self.batch_size,
            shuffle=training,
            generator=self.shuffle_gen_,
            device=self.device,
        )

    def prepare_batch(self, xb, training):
        """uint8 -> [0, 1] float, augmentation (images, training), channels-last."""
        if xb.dtype == torch.uint8:
            xb = xb.float().div_(255.0)
        if training and self.augment and self.is_image:
            xb = augment_images(xb, self.augment_gen_, clamp=self.unit_range)
        if self.channels_last and self.is_image:
            xb = xb.contiguous(memory_format=torch.channels_last)
        return xb

    def autocast(self):
        dev = torch.device(self.device).type
        enabled = self.amp_dtype is not None and dev == "cuda"
        return torch.autocast(dev, dtype=self.amp_dtype, enabled=enabled)

    # --- training ---------------------------------------------------------------
    def fit_arrays(self, X, y, *, epochs=None):
        """Train on arrays (re-initialising unless already initialised)."""
        X_t, y_t = self.to_tensors(X, y)
        self.data_ = (X_t, y_t)
        self.begin_training(X_t, y_t)
        try:
            self.notify("on_train_begin", X=X, y=y)
            n = self.max_epochs if epochs is None else epochs
            for _ in range(n):
                self.notify("on_epoch_begin", dataset_train=None, dataset_valid=None)
                self.set_epoch_lr()
                self.run_train_epoch(self.batches(X_t, y_t, training=True))
                self.after_train_epoch()
                self.score_validation()
                self.n_epochs_done_ += 1
                self.notify("on_epoch_end", dataset_train=None, dataset_valid=None)
            self.notify("on_train_end", X=X, y=y)
        finally:
            self.data_ = None
        return self

    def begin_training(self, X_t, y_t):
        """Hook for subclasses: allocate per-sample state."""

    def after_train_epoch(self):
        """Hook for subclasses: per-epoch bookkeeping."""

    def set_epoch_lr(self):
        if self.finetuning_:
            lr = self.finetune_lr if self.finetune_lr is not None else 0.1 * self.lr
        elif self.lr_schedule == "cosine":
            lr = cosine_lr(self.lr, self.n_epochs_done_, self.max_epochs)
        else:
            lr = self.lr
        for group in self.optimizer_.param_groups:
            group["lr"] = lr
        self.history.record("lr", lr)

    def run_train_epoch(self, iterator):
        total, count = None, 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=True)
            step = self.train_step(batch)
            loss = step["loss"].detach() * batch[0].shape[0]
            total = loss if total is None else total + loss
            count += batch[0].shape[0]
            self.notify("on_batch_end", batch=batch, training=True, **step)
        # One host synchronisation per epoch, not per batch.
        self.history.record("train_loss", float(total / max(count, 1)))

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        xb, yb, _ = batch
        x = self.prepare_batch(xb, training=True)
        with self.autocast():
            logits = self.module_(x)
        loss = F.cross_entropy(logits.float(), yb)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def score_validation(self):
        """Macro-F1 on the validation data; keeps the best epoch's weights."""
        if self.valid_data is None:
            return
        from sklearn.metrics import f1_score

        X_val, y_val = self.valid_data
        pred = self.predict_proba_arrays(X_val).argmax(1)
        score = f1_score(y_val, pred, average="macro", zero_division=0)
        self.history.record("valid_f1", score)
        if score > self.best_score_:
            self.best_score_ = score
            self.best_state_ = [
                {k: v.detach().clone() for k, v in m.state_dict().items()}
                for m in self.ensemble()
            ]
            self.history.record("valid_f1_best", True)

    def restore_best(self):
        if self.best_state_ is not None:
            for m, state in zip(self.ensemble(), self.best_state_):
                m.load_state_dict(state)
        self.best_state_ = None

    # --- inference --------------------------------------------------------------
    @torch.no_grad()
    def predict_proba_arrays(self, X, batch_size=None):
        """Average softmax of the ensemble, in eval mode."""
        self._set_training(False)
        X_t, _ = self.to_tensors(X)
        out = []
        for xb, _, _ in self.batches(X_t, None, training=False, batch_size=batch_size):
            x = self.prepare_batch(xb, training=False)
            with self.autocast():
                probs = sum(torch.softmax(m(x).float(), 1) for m in self.ensemble())
            out.append((probs / len(self.ensemble())).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)

    @torch.no_grad()
    def embed_arrays(self, X, batch_size=None):
        """Input of the first network's final linear layer (penultimate features)."""
        self._set_training(False)
        X_t, _ = self.to_tensors(X)
        out = []
        layer = final_linear(self.module_)
        with capture_features(layer) as store:
            for xb, _, _ in self.batches(
                X_t, None, training=False, batch_size=batch_size
            ):
                with self.autocast():
                    self.module_(self.prepare_batch(xb, training=False))
                out.append(store["h"].float().flatten(1).cpu())
        return torch.cat(out).numpy()
