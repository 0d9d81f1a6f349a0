"""In-memory data for the skorch nets: the input normalisation layer, a dataset
of tensors and its batches cut by tensor indexing."""

import math

import torch
from torch import nn

__all__ = ["ArrayBatches", "ArrayDataset", "InputNorm"]


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


class ArrayDataset(torch.utils.data.Dataset):
    """Tensors ``X`` (and ``y``) of one fit; item ``i`` is
    ``({"x": X[i], "index": i}, y[i])``."""

    def __init__(self, X, y=None):
        self.X, self.y = X, y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        y = torch.tensor(-1) if self.y is None else self.y[i]
        return {"x": self.X[i], "index": torch.tensor(i)}, y


class ArrayBatches:
    """Mini-batches of an :class:`ArrayDataset` by tensor indexing, reshuffled
    with ``generator`` every epoch."""

    def __init__(self, dataset, batch_size, *, shuffle, generator, device):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle, self.generator, self.device = shuffle, generator, device

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        X, y, n = self.dataset.X, self.dataset.y, len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if order is None:
            order = torch.arange(n)
        on_device = X.device.type != "cpu"
        # Data left on the host (too large for the GPU) go over in pinned batches.
        transfer = not on_device and torch.device(self.device).type == "cuda"
        if on_device:
            order = order.to(X.device)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            xb = X[idx]
            yb = torch.full_like(idx, -1) if y is None else y[idx]
            if transfer:
                xb = xb.pin_memory().to(self.device, non_blocking=True)
                yb = yb.to(self.device, non_blocking=True)
                idx = idx.to(self.device, non_blocking=True)
            yield {"x": xb, "index": idx}, yb
