"""Images for the review page: array samples rendered as PNG, files re-encoded
only when a browser cannot show them."""

import io
import os

import numpy as np

__all__ = ["array_to_png", "file_for_browser"]

_BROWSER_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}


def _as_hwc(array):
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 1:  # flat features: a square image when they fill one
        side = int(round(np.sqrt(a.size)))
        if side * side != a.size:
            a = a[None, :]
        else:
            a = a.reshape(side, side)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3):
        raise ValueError(f"Cannot show a sample of shape {np.shape(array)} as image.")
    return a


def array_to_png(array, *, min_side=256):
    """Encode one sample as PNG bytes, scaled to 0..255 and enlarged (nearest
    neighbour, so pixels stay sharp) until its short side is ``min_side``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.review._images import array_to_png
    >>> array_to_png(np.eye(8))[:4]
    b'\\x89PNG'
    """
    from PIL import Image

    a = _as_hwc(array)
    finite = a[np.isfinite(a)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    scaled = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)
    pixels = np.nan_to_num(scaled * 255).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    factor = max(1, int(np.ceil(min_side / max(1, min(image.size)))))
    if factor > 1:
        image = image.resize(
            (image.width * factor, image.height * factor), Image.Resampling.NEAREST
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def file_for_browser(path):
    """``(bytes_or_path, mimetype)``: the file itself when browsers show its
    type, else a PNG conversion (TIFF, DICOM-exported formats PIL reads)."""
    mimetype = _BROWSER_TYPES.get(os.path.splitext(path)[1].lower())
    if mimetype is not None:
        return path, mimetype
    from PIL import Image

    with Image.open(path) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="PNG")
    return out.getvalue(), "image/png"
