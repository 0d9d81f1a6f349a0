"""The paper's training augmentations, batched on the device.

Random crop (scale and shift), horizontal flip, colour jitter and Gaussian blur are
drawn per sample but applied as a few batched tensor operations (one ``grid_sample``,
elementwise jitter, one depthwise convolution), so augmentation runs where the data
is — on the GPU when there is one — with no per-image Python loop.
"""

import torch
import torch.nn.functional as F

__all__ = ["augment_images"]


def _gaussian_kernel(sigma, size, device, dtype):
    ax = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    k = torch.exp(-(ax**2) / (2 * sigma**2))
    k = k / k.sum()
    return k[:, None] * k[None, :]


def augment_images(
    x,
    generator=None,
    *,
    crop_scale=(0.8, 1.0),
    flip=True,
    jitter=0.2,
    blur_prob=0.5,
    blur_sigma=1.0,
    clamp=True,
):
    """Augment a batch of images in [0, 1].

    Parameters
    ----------
    x : torch.Tensor of shape (n, C, H, W)
        Float images in [0, 1].
    generator : torch.Generator, optional
        Source of randomness, on ``x``'s device, for reproducible augmentation.
    crop_scale : tuple of float, default=(0.8, 1.0)
        Range of the side length of the random crop, relative to the image; the crop
        is resized back to the full size.
    flip : bool, default=True
        Random horizontal flip with probability 0.5.
    jitter : float, default=0.2
        Brightness, contrast and (for 3 channels) saturation factors are drawn from
        ``[1 - jitter, 1 + jitter]``.
    blur_prob : float, default=0.5
        Probability of a 3x3 Gaussian blur (images of 16 px or more).
    blur_sigma : float, default=1.0
        Standard deviation of that blur.
    clamp : bool, default=True
        Clip the result to [0, 1]; turn off for images in another range.

    Returns
    -------
    x_aug : torch.Tensor
        Augmented images, same shape, clipped to [0, 1].

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> augment_images(torch.rand(4, 3, 16, 16), g).shape
    torch.Size([4, 3, 16, 16])
    """
    n, c, h, w = x.shape
    dev, dt = x.device, x.dtype

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device=dev, dtype=dt)

    lo, hi = crop_scale
    scale = lo + (hi - lo) * rand(n)
    shift = (1 - scale)[:, None] * (2 * rand(n, 2) - 1)
    sign = (
        torch.where(rand(n) < 0.5, -1.0, 1.0).to(dt) if flip else torch.ones_like(scale)
    )
    theta = torch.zeros(n, 2, 3, device=dev, dtype=dt)
    theta[:, 0, 0] = scale * sign
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, (n, c, h, w), align_corners=False)
    x = F.grid_sample(
        x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )

    if jitter:
        factors = 1 + jitter * (2 * rand(n, 3) - 1)
        x = x * factors[:, 0, None, None, None]
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factors[:, 1, None, None, None] + mean
        if c == 3:
            gray = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).expand_as(
                x
            )
            x = (x - gray) * factors[:, 2, None, None, None] + gray

    if blur_prob and min(h, w) >= 16:
        kernel = _gaussian_kernel(blur_sigma, 3, dev, dt).expand(c, 1, 3, 3)
        blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, groups=c)
        x = torch.where((rand(n) < blur_prob)[:, None, None, None], blurred, x)
    return x.clamp_(0, 1) if clamp else x
