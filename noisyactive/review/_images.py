"""Images for the review page: array samples rendered as PNG, files re-encoded
only when a browser cannot show them."""

import io
import os
import stat

import numpy as np

__all__ = ["ImageRefusedError", "array_to_png", "read_input_image"]

#: The largest image file the review page serves (bytes).
MAX_IMAGE_BYTES = 64 << 20

# what PIL calls the formats browsers show themselves
_BROWSER_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


class ImageRefusedError(ValueError):
    """A recorded input path the review page will not serve (not a regular
    file, a symlink leading out of its folder, not an image, too large)."""


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


def read_input_image(path):
    """``(bytes, mimetype)`` of one input image, for the review page.

    ``path`` is a path the campaign recorded at ``fit`` (never one from a
    request). It is served only when it is a regular image file: a symlink
    must stay inside the folder the path names, the file is opened without
    following a final symlink, and its content must be an image PIL
    recognises (sent as is when browsers show its format, else converted to
    PNG). Anything else raises :class:`ImageRefusedError`;
    a missing file raises :class:`FileNotFoundError`.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.path.abspath(os.fspath(path))
    folder = os.path.realpath(os.path.dirname(path))
    real = os.path.realpath(path)
    if os.path.commonpath([folder, real]) != folder:
        raise ImageRefusedError(
            f"{path} is a symlink leading out of its folder; not served."
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ImageRefusedError(f"{path} cannot be opened: {exc.strerror}.") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageRefusedError(f"{path} is not a regular file; not served.")
        if info.st_size > MAX_IMAGE_BYTES:
            raise ImageRefusedError(
                f"{path} has {info.st_size} bytes, more than the "
                f"{MAX_IMAGE_BYTES} the review page serves."
            )
        with os.fdopen(fd, "rb") as fh:
            fd = None
            data = fh.read(MAX_IMAGE_BYTES + 1)
    finally:
        if fd is not None:
            os.close(fd)
    try:
        with Image.open(io.BytesIO(data)) as image:
            mimetype = _BROWSER_FORMATS.get(image.format)
            if mimetype is not None:
                return data, mimetype
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageRefusedError(f"{path} is not an image file; not served.") from exc
    return out.getvalue(), "image/png"
