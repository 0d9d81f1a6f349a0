"""Decode images once into a uint8 array, optionally cached as a memory-mapped file.

Training reads the same images every epoch, every active-learning round and
every grid-search fit; decoding and resizing JPEGs each time would make the
data loader, not the network, the bottleneck. :func:`load_images` decodes every
file once into an ``(n, C, H, W)`` uint8 array. With ``cache_dir`` the array is
written once to a ``.npy`` file named by a hash of the inputs and later calls
(other processes included) map it read-only instead of decoding again.
"""

import hashlib
import json
import numbers
import os
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

from noisyactive.utils._progress import Progress

__all__ = ["ImageDecodeError", "load_images"]

# Bump when the decoding itself changes, so old cache files are not reused.
_CACHE_VERSION = 1
# Below this many images a progress bar is more noise than help.
_PROGRESS_MIN = 100
_CHUNK = 64
_RESAMPLE = {"bilinear": 2, "bicubic": 3, "lanczos": 1, "nearest": 0, "box": 4}
_MAX_LISTED = 20


class ImageDecodeError(ValueError):
    """Some image files are missing or cannot be decoded.

    Attributes
    ----------
    failures : list of (str, str)
        ``(path, reason)`` for every file that failed.
    paths : list of str
        The offending paths.
    """

    def __init__(self, failures):
        self.failures = [(str(p), str(r)) for p, r in failures]
        self.paths = [p for p, _ in self.failures]
        lines = [f"  {p}: {r}" for p, r in self.failures[:_MAX_LISTED]]
        if len(self.failures) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.failures) - _MAX_LISTED} more")
        super().__init__(
            f"{len(self.failures)} image file(s) could not be read (missing or not a "
            "decodable image); fix or remove them:\n" + "\n".join(lines)
        )

    def __reduce__(self):
        # Keeps the error picklable across joblib worker processes.
        return (type(self), (self.failures,))


def _check_size(size):
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = size
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in (h, w)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"size must be a positive int or a (height, width) pair of positive ints; "
            f"got {size!r}."
        )
    return int(h), int(w)


def _check_paths(paths):
    if isinstance(paths, str | bytes | os.PathLike):
        raise TypeError(
            "paths must be a sequence of image paths, not a single path; wrap it in "
            "a list."
        )
    try:
        out = [os.fspath(p) for p in paths]
    except TypeError as exc:
        raise TypeError(
            f"paths must be a sequence of str or path-like objects ({exc})."
        ) from exc
    if not out:
        raise ValueError("paths is empty; at least one image path is required.")
    return out


def _decode_image(path, size, mode, resample):
    """Read one file and return an ``(H, W)`` or ``(H, W, C)`` uint8 array."""
    from PIL import Image

    h, w = size
    with Image.open(path) as img:
        # JPEG can decode at 1/2, 1/4, 1/8 scale directly: much faster for large
        # originals and never below the requested size.
        img.draft(mode, (w, h))
        img = img.convert(mode)
        if img.size != (w, h):
            img = img.resize((w, h), resample=resample)
        return np.asarray(img, dtype=np.uint8)


def _decode_into(out, paths, indices, size, mode, resample):
    failures = []
    for i in indices:
        try:
            arr = _decode_image(paths[i], size, mode, resample)
        except FileNotFoundError:
            failures.append((paths[i], "file not found"))
            continue
        except Exception as exc:  # any decoder failure is reported by name
            failures.append((paths[i], f"{type(exc).__name__}: {exc}"))
            continue
        out[i] = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return failures


def _decode_all(out, paths, size, mode, resample, n_jobs, verbose):
    n = len(paths)
    chunks = [range(s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK)]
    show = bool(verbose) and n >= _PROGRESS_MIN
    failures = []
    bar = Progress(n, "decoding images", unit="img", enabled=show)
    try:
        if n_jobs == 1 or len(chunks) == 1:
            for chunk in chunks:
                failures += _decode_into(out, paths, chunk, size, mode, resample)
                bar.update(len(chunk))
        else:
            # Threads suffice: Pillow releases the GIL while decoding/resizing,
            # and each chunk writes its own rows of `out`.
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                futures = {
                    pool.submit(_decode_into, out, paths, c, size, mode, resample): c
                    for c in chunks
                }
                for fut in as_completed(futures):
                    failures += fut.result()
                    bar.update(len(futures[fut]))
    finally:
        bar.close()
    if failures:
        order = {p: i for i, p in enumerate(paths)}
        raise ImageDecodeError(sorted(failures, key=lambda f: order[f[0]]))


def _cache_file(cache_dir, paths, size, mode, resample):
    """Cache file name: hash of the paths, their mtimes and sizes, and settings.

    Returns None when a file cannot be stat-ed (decoding will name it).
    """
    h = hashlib.sha256()
    settings = {"v": _CACHE_VERSION, "size": size, "mode": mode, "resample": resample}
    h.update(json.dumps(settings, sort_keys=True).encode())
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            return None
        key = f"{os.path.abspath(p)}\0{st.st_mtime_ns}\0{st.st_size}\n"
        h.update(key.encode("utf-8", "surrogateescape"))
    name = f"images-{mode}-{size[0]}x{size[1]}-n{len(paths)}-{h.hexdigest()[:32]}.npy"
    return os.path.join(cache_dir, name)


def _read_cache(path, shape):
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None  # truncated or foreign file: decode again and overwrite
    if arr.shape != shape or arr.dtype != np.uint8:
        return None
    return arr


def load_images(
    paths,
    *,
    size,
    mode="RGB",
    cache_dir=None,
    n_jobs=1,
    verbose=False,
    resample="bilinear",
):
    """Decode and resize image files into one uint8 array ``(n, C, H, W)``.

    Parameters
    ----------
    paths : sequence of str or path-like
        Image files in any format Pillow reads.
    size : int or (int, int)
        Output ``(height, width)``; an int gives square images. Images are
        resized to exactly this size (the aspect ratio is not kept).
    mode : {"RGB", "L"}, default="RGB"
        Colour (C = 3) or grey-level (C = 1) output.
    cache_dir : str or path-like, default=None
        If given, the decoded array is stored there once as ``.npy``, named by
        a hash of (absolute paths, their modification times and sizes, ``size``,
        ``mode``, ``resample``), written atomically (temporary file + rename).
        Later calls with the same inputs, in any process, return the
        read-only memory map without decoding. A changed file changes the hash.
    n_jobs : int, default=1
        Decoding threads; ``-1`` uses every CPU.
    verbose : bool, default=False
        Show a progress bar (for 100 images or more) and cache messages.
    resample : {"bilinear", "bicubic", "lanczos", "nearest", "box"}, \
default="bilinear"
        Pillow resampling filter.

    Returns
    -------
    images : ndarray of uint8, shape (n, C, H, W)
        An in-memory array, or a read-only :class:`numpy.memmap` when
        ``cache_dir`` is given (copy it before writing).

    Raises
    ------
    ImageDecodeError
        (a ``ValueError``) listing every missing or undecodable file by path.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from noisyactive.datasets import load_images
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((10, 20, 3), np.uint8)).save(folder / "a.png")
    >>> load_images([folder / "a.png"], size=(4, 6)).shape
    (1, 3, 4, 6)
    """
    paths = _check_paths(paths)
    size = _check_size(size)
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L'; got {mode!r}.")
    if resample not in _RESAMPLE:
        raise ValueError(
            f"resample must be one of {list(_RESAMPLE)}; got {resample!r}."
        )
    if n_jobs is None:
        n_jobs = 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an int (-1 for all CPUs); got {n_jobs!r}.")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be >= 1 or -1; got {n_jobs}.")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    shape = (len(paths), 3 if mode == "RGB" else 1, *size)
    resample_id = _RESAMPLE[resample]

    target = None
    if cache_dir is not None:
        cache_dir = os.fspath(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
        target = _cache_file(cache_dir, paths, size, mode, resample)
    if target is None:
        out = np.empty(shape, dtype=np.uint8)
        _decode_all(out, paths, size, mode, resample_id, n_jobs, verbose)
        return out

    cached = _read_cache(target, shape) if os.path.exists(target) else None
    if cached is not None:
        if verbose:
            print(f"loaded {shape[0]} images from cache {target}", file=sys.stderr)
        return cached
    # Decode straight into the memory-mapped temporary file (no second copy in
    # RAM), then rename: readers never see a half-written cache.
    tmp = f"{target}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        _decode_all(out, paths, size, mode, resample_id, n_jobs, verbose)
        out.flush()
        del out
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if verbose:
        print(f"cached {shape[0]} decoded images in {target}", file=sys.stderr)
    return np.load(target, mmap_mode="r")
