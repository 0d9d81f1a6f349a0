"""A frozen trunk and a trained top, with the trunk's output cached on disk.

``freeze=`` names how much of a network's trunk stays fixed (pure arithmetic in
:func:`n_frozen_units`). The frozen units keep their weights and stay in eval
mode (batch-norm statistics fixed). For the named pretrained networks
(``efficientnet_lite*``, ``resnet18`` with ``weights=``), the frozen part's
output is computed once per image and per augmentation view — the 8 flips and
right-angle rotations, to which dermoscopy and histology are invariant — and
kept in a :class:`TrunkFeatureCache` beside the image cache, so that the two
Co-teaching networks, the noise-rate cross-fits, every round of the cleaner and
every ``GridSearchCV`` candidate train only the top (with a cache folder;
without one the features are computed again at every call). A hand-written cache: the
rows are looked up by content (a digest per image), so a subset of the data (a
cross-validation fold, the cleaner's clean part) reuses what the full set
computed; joblib.Memory keys whole calls and would recompute every subset.
"""

import hashlib
import os
import uuid
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from torch import nn

from noisyactive.nets._heads import final_linear

__all__ = [
    "FrozenTrunkNet",
    "PartlyFrozen",
    "TrunkFeatureCache",
    "dihedral_views",
    "freeze_units",
    "n_frozen_units",
    "trunk_units",
]

#: Trunk forward passes (images x views) computed by this process, for tests and
#: benchmarks that check what the cache saves.
TRUNK_IMAGES_COMPUTED = {"count": 0}


def trunk_units(body):
    """The trunk of ``body`` in forward order: its own ``trunk_units()`` where it
    has one (ResNet18: stem + 8 residual blocks; EfficientNet-Lite: stem + 16
    blocks + head), else its top-level children with parameters other than the
    one holding the final linear layer."""
    own = getattr(body, "trunk_units", None)
    if callable(own):
        return list(own())
    last = final_linear(body)
    kids = [c for c in body.children() if any(True for _ in c.parameters())]
    return [c for c in kids if not any(m is last for m in c.modules())]


def n_frozen_units(freeze, n_units):
    """How many trunk units ``freeze`` fixes, from the input side.

    ``None``/``0``: none; ``"trunk"``: all of them (only the final linear layer
    is trained); a float in (0, 1]: that fraction of the units, rounded down; an
    int ``k >= 1``: the first ``k``.

    Examples
    --------
    >>> n_frozen_units(None, 18), n_frozen_units("trunk", 18)
    (0, 18)
    >>> n_frozen_units(0.5, 18), n_frozen_units(12, 18), n_frozen_units(1.0, 9)
    (9, 12, 9)
    >>> n_frozen_units(19, 18)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: freeze=19 but the network's trunk has only 18 units; ...
    """
    if freeze is None or freeze is False:
        return 0
    if isinstance(freeze, str):
        if freeze != "trunk":
            raise ValueError(f"freeze={freeze!r}; expected 'trunk', an int or a float.")
        return n_units
    if isinstance(freeze, Integral):
        if freeze < 0 or freeze > n_units:
            raise ValueError(
                f"freeze={freeze} but the network's trunk has only {n_units} units; "
                f"pass at most {n_units}, a fraction in (0, 1], or 'trunk'."
            )
        return int(freeze)
    if isinstance(freeze, Real) and 0 < freeze <= 1:
        return int(np.floor(freeze * n_units + 1e-9))
    raise ValueError(f"freeze={freeze!r}; expected a fraction in (0, 1].")


def freeze_units(units):
    """Fix the parameters of ``units`` (no gradient) and put them in eval mode."""
    for unit in units:
        unit.eval()
        for p in unit.parameters():
            p.requires_grad_(False)


def _keep_frozen_in_eval(module, frozen, mode):
    for unit in frozen:
        unit.train(False)
    return module


class PartlyFrozen(nn.Module):
    """``body`` with its first ``k`` trunk units fixed and kept in eval mode (for
    any network; the trunk runs at every step, so this saves the backward pass of
    the frozen part only)."""

    def __init__(self, body, k):
        super().__init__()
        self.body, self.k = body, int(k)
        freeze_units(self._frozen())

    def _frozen(self):
        return trunk_units(self.body)[: self.k]

    def train(self, mode=True):
        super().train(mode)
        return _keep_frozen_in_eval(self, self._frozen(), mode)

    def forward(self, x):
        return self.body(x)


class FrozenTrunkNet(nn.Module):
    """A network split at trunk unit ``k``: :meth:`features` runs the frozen part
    (input normalisation included) and :meth:`forward` the trained top on those
    features. ``body`` must offer ``forward_to(x, k)`` and ``forward_from(h, k)``
    (the named ResNet18 and EfficientNet-Lite do)."""

    def __init__(self, body, k, mean, std):
        super().__init__()
        self.body, self.k = body, int(k)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        freeze_units(trunk_units(body)[: self.k])

    @staticmethod
    def supports(body):
        return callable(getattr(body, "forward_to", None)) and callable(
            getattr(body, "forward_from", None)
        )

    def train(self, mode=True):
        super().train(mode)
        return _keep_frozen_in_eval(self, trunk_units(self.body)[: self.k], mode)

    @torch.no_grad()
    def features(self, x):
        """Frozen-trunk output of images ``x`` in [0, 1], shape (n, C, H, W)."""
        return self.body.forward_to((x - self.mean) / self.std, self.k)

    def forward(self, h):
        return self.body.forward_from(h, self.k)

    def fingerprint(self):
        """A digest of everything the cached features depend on: the frozen
        units' weights and buffers, the split point and the normalisation."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{type(self.body).__qualname__}:{self.k}".encode())
        # Settings without weights that shape the features (the "same" padding
        # of EfficientNet-Lite is computed from its image size).
        digest.update(repr(getattr(self.body, "config", None)).encode())
        for t in (self.mean, self.std):
            digest.update(t.detach().cpu().numpy().tobytes())
        for unit in trunk_units(self.body)[: self.k]:
            for name, t in unit.state_dict().items():
                digest.update(name.encode())
                digest.update(t.detach().cpu().float().numpy().tobytes())
        return digest.hexdigest()


def dihedral_views(x, n_views):
    """The first ``n_views`` of the 8 flips and right-angle rotations of images
    ``x`` (n, C, H, W), stacked on axis 1; view 0 is the image itself.

    Examples
    --------
    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2)
    >>> v = dihedral_views(x, 8)
    >>> v.shape, bool((v[:, 0] == x).all()), v[0, 4, 0].tolist()
    (torch.Size([1, 8, 1, 2, 2]), True, [[1.0, 0.0], [3.0, 2.0]])
    """
    # A right-angle rotation of a non-square image changes its shape: those
    # images get the 4 views that keep it (flips and the half turn).
    turns = range(4) if x.shape[-1] == x.shape[-2] else (0, 2)
    views = []
    for flip in (False, True):
        base = torch.flip(x, dims=(-1,)) if flip else x
        for r in turns:
            views.append(torch.rot90(base, r, dims=(-2, -1)))
    views = views[:n_views]
    views += views[: n_views - len(views)]  # repeated to keep n_views per image
    return torch.stack(views, dim=1)


def _row_digests(X):
    flat = np.ascontiguousarray(X).reshape(len(X), -1)
    return np.array(
        [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat],
        dtype="S16",
    )


class TrunkFeatureCache:
    """Frozen-trunk features of images, looked up per image by content.

    Parameters
    ----------
    folder : path or None
        Where the features live (``<folder>/<fingerprint>-v<views>/``, one pair
        of ``.npy`` files per chunk of rows computed together); None keeps them
        in memory for this object only.
    n_views : int
        Views per image (8 with augmentation, else 1).
    batch_size : int, default=256
    """

    def __init__(self, folder, n_views, batch_size=256):
        self.folder = None if folder is None else Path(folder)
        self.n_views, self.batch_size = int(n_views), int(batch_size)
        self._memory = []

    def _chunks(self, key):
        if self.folder is None:
            return [c for c in self._memory if c[0] == key]
        where = self.folder / key
        if not where.is_dir():
            return []
        out = []
        for rows in sorted(where.glob("*.rows.npy")):
            feats = rows.with_name(rows.name.replace(".rows.npy", ".feats.npy"))
            if feats.is_file():
                out.append(
                    (
                        key,
                        np.load(rows),
                        np.load(feats, mmap_mode="r", allow_pickle=False),
                    )
                )
        return out

    def _store(self, key, digests, feats):
        if self.folder is None:
            self._memory.append((key, digests, feats))
            return
        where = self.folder / key
        where.mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        for suffix, arr in ((".feats.npy", feats), (".rows.npy", digests)):
            tmp = where / f".tmp-{stem}{suffix}"
            np.save(tmp, arr)
            os.replace(tmp, where / f"{stem}{suffix}")  # rows last: a chunk is whole

    def features(self, net, X, device="cpu"):
        """Features of images ``X`` (uint8 or float in [0, 1], NCHW) through
        ``net`` (a :class:`FrozenTrunkNet`), shape (n, n_views, C, H, W), float16.
        Rows seen before (by content) are read, the rest computed and added."""
        shape = "x".join(map(str, X.shape[1:]))
        key = f"{net.fingerprint()}-v{self.n_views}-{shape}-{np.dtype(X.dtype).str}"
        if len(X) == 0:
            with torch.no_grad():
                probe = net.features(torch.zeros((1, *X.shape[1:]), device=device))
            return np.empty((0, self.n_views, *probe.shape[1:]), dtype=np.float16)
        digests = _row_digests(X)
        chunks, found = [], {}  # digest -> (chunk number, row in that chunk)
        for _, rows, feats in self._chunks(key):
            chunks.append(feats)
            for i, d in enumerate(rows):
                found.setdefault(bytes(d), (len(chunks) - 1, i))
        missing = [i for i, d in enumerate(digests) if bytes(d) not in found]
        if missing:
            fresh = self._compute(net, X[missing], device)
            self._store(key, digests[missing], fresh)
            chunks.append(fresh)
            for j, i in enumerate(missing):
                found[bytes(digests[i])] = (len(chunks) - 1, j)
        where = np.array([found[bytes(d)] for d in digests])
        out = np.empty((len(X), *chunks[where[0, 0]].shape[1:]), dtype=np.float16)
        for c in np.unique(where[:, 0]):  # one gather per chunk, not per row
            take = np.flatnonzero(where[:, 0] == c)
            out[take] = chunks[c][where[take, 1]]
        return out

    def _compute(self, net, X, device):
        was_training = net.training
        net.eval()
        parts = []
        try:
            for start in range(0, len(X), self.batch_size):
                xb = torch.as_tensor(np.asarray(X[start : start + self.batch_size]))
                xb = xb.to(device)
                xb = xb.float().div_(255.0) if xb.dtype == torch.uint8 else xb.float()
                views = dihedral_views(xb, self.n_views)
                n, v = views.shape[:2]
                h = net.features(views.flatten(0, 1))
                parts.append(
                    h.reshape(n, v, *h.shape[1:]).to(torch.float16).cpu().numpy()
                )
                TRUNK_IMAGES_COMPUTED["count"] += n * v
        finally:
            net.train(was_training)
        return np.concatenate(parts)
