"""Variance of Gradients (Agarwal et al. 2022) in closed form, kept in a ring buffer.

For cross-entropy the gradient of sample ``i``'s own loss with respect to the final
linear layer's bias and weight row of its label ``y_i`` is
``g_i = (p_{i,y_i} - 1) * [1, h_i]``, where ``h_i`` is that layer's input and ``p``
the softmax. Both are already computed by the training forward pass, so VOG costs
one small elementwise product per batch: no extra pass over the data, no per-sample
autograd, and no ``1/b`` batch-mean factor (which would make samples of a smaller
last batch look noisier — a fault of the reference code).
"""

import torch

__all__ = ["VOGBuffer", "vog_gradients", "normalize_by_class"]


def vog_gradients(logits, features, y):
    """Per-sample gradient of the cross-entropy w.r.t. the label's bias and weight row.

    Parameters
    ----------
    logits : torch.Tensor of shape (b, k)
    features : torch.Tensor of shape (b, D)
        Input of the final linear layer.
    y : torch.LongTensor of shape (b,)
        The (noisy) labels, encoded.

    Returns
    -------
    grads : torch.Tensor of shape (b, D + 1)
        ``[d loss_i / d bias_{y_i}, d loss_i / d W_{y_i, :}]``, in float32.

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.0, 0.0]])
    >>> vog_gradients(logits, torch.tensor([[2.0, -4.0]]), torch.tensor([1])).tolist()
    [[-0.5, -1.0, 2.0]]
    """
    with torch.no_grad():
        p_y = torch.softmax(logits.float(), dim=1).gather(1, y[:, None])
        coef = p_y - 1.0
        return torch.cat([coef, coef * features.float()], dim=1)


class VOGBuffer:
    """Preallocated ring buffer of the last ``window`` per-sample gradient vectors.

    Parameters
    ----------
    n_samples : int
    dim : int
        Length of a gradient vector (``D + 1``).
    window : int
        ``t``, epochs of history.
    dtype : torch.dtype, default=torch.float32
        Storage type; ``torch.float16`` halves the memory.
    device : str or torch.device, default="cpu"

    Examples
    --------
    >>> import torch
    >>> buf = VOGBuffer(n_samples=2, dim=1, window=2)
    >>> buf.write(torch.tensor([0, 1]), torch.tensor([[1.0], [3.0]]))
    >>> buf.end_epoch(); buf.ready
    False
    >>> buf.write(torch.tensor([1, 0]), torch.tensor([[5.0], [1.0]]))
    >>> buf.end_epoch(); buf.scores().tolist()
    [0.0, 1.0]
    """

    def __init__(self, n_samples, dim, window, dtype=torch.float32, device="cpu"):
        self.window = int(window)
        self.data = torch.zeros(
            (n_samples, self.window, dim), dtype=dtype, device=device
        )
        self.n_epochs = 0

    @property
    def nbytes(self):
        """Bytes held by the buffer."""
        return self.data.numel() * self.data.element_size()

    @property
    def ready(self):
        """True once ``window`` complete epochs are stored."""
        return self.n_epochs >= self.window

    @property
    def slot(self):
        return self.n_epochs % self.window

    def write(self, indices, grads):
        """Store the current epoch's gradients of the samples ``indices``."""
        self.data[indices, self.slot] = grads.to(self.data.dtype)

    def end_epoch(self):
        """Advance the ring: the next writes go to the oldest slot."""
        self.n_epochs += 1

    def scores(self, chunk_size=8192):
        """VOG: mean over dimensions of the population std over the window.

        Computed in chunks of samples, so the temporaries stay small.
        """
        n = self.data.shape[0]
        out = torch.empty(n, dtype=torch.float32, device=self.data.device)
        for start in range(0, n, chunk_size):
            block = self.data[start : start + chunk_size].float()
            # Two passes rather than Tensor.std(dim=1): the same population std,
            # but 15-35x faster on CPU for a reduction over the middle axis.
            dev = block - block.mean(dim=1, keepdim=True)
            out[start : start + chunk_size] = dev.square_().mean(1).sqrt_().mean(1)
        return out


def normalize_by_class(scores, labels, n_classes):
    """Z-score ``scores`` within each class of ``labels`` (as in Agarwal et al.).

    Classes with a single sample or zero spread get a standard deviation of 1.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([1.0, 3.0, 10.0, 30.0])
    >>> normalize_by_class(s, torch.tensor([0, 0, 1, 1]), 2).tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    scores = scores.float()
    count = torch.bincount(labels, minlength=n_classes).clamp_min(1).float()
    mean = torch.zeros(n_classes, device=scores.device).index_add_(0, labels, scores)
    mean = mean / count
    sq = torch.zeros(n_classes, device=scores.device)
    sq = sq.index_add_(0, labels, (scores - mean[labels]) ** 2)
    std = (sq / count).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (scores - mean[labels]) / std[labels]
