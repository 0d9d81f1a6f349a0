"""HAM10000 dermatoscopy images from a local folder (never downloaded).

HAM10000 (Tschandl et al., Sci. Data 2018; CC BY-NC 4.0) is the offline
stand-in for the paper's ISIC-2019: 10,015 images, 7 classes, imbalance 58,
several images per lesion. The expected layout is the one of the shared copy::

    <path>/metadata.csv        lesion_id,image_id,dx,dx_type,age,sex,localization
    <path>/images/<image_id>.jpg
"""

import csv
import os

import numpy as np
from sklearn.utils import Bunch

from noisyactive.datasets._images import load_images

__all__ = ["load_ham10000"]

_REQUIRED = ("lesion_id", "image_id", "dx")
_EXTRA = ("dx_type", "age", "sex", "localization")


def _read_metadata(meta_path):
    with open(meta_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            raise ValueError(
                f"{meta_path!r} lacks the column(s) {missing}; HAM10000 metadata has "
                f"{list(_REQUIRED + _EXTRA)}, this file has {columns}."
            )
        rows = list(reader)
    if not rows:
        raise ValueError(f"{meta_path!r} has a header but no rows.")
    return rows, columns


def load_ham10000(path, *, size=64, cache_dir=None, verbose=False, n_jobs=1):
    """Load HAM10000 from a local folder as uint8 images, labels and lesion groups.

    Parameters
    ----------
    path : str or path-like
        Folder holding ``metadata.csv`` and ``images/ISIC_*.jpg`` (here the
        shared copy lives in ``/work/shared/data/ham10000``; the path is never
        assumed by the package).
    size : int, (int, int) or None, default=64
        Decode and resize every image to this ``(height, width)`` with
        :func:`load_images` (aspect ratio not kept). ``None`` skips decoding and
        leaves ``images=None`` (use ``paths``).
    cache_dir : str or path-like, default=None
        Cache folder of :func:`load_images`: decoded once, then memory-mapped.
    verbose : bool, default=False
        Progress bar while decoding.
    n_jobs : int, default=1
        Decoding threads (``-1``: every CPU).

    Returns
    -------
    data : Bunch
        - ``images``: uint8 ``(n, 3, H, W)`` (a read-only memmap with
          ``cache_dir``) or None,
        - ``labels``: str ``(n,)``, the diagnosis ``dx``,
        - ``groups``: str ``(n,)``, the ``lesion_id`` (split by it),
        - ``image_ids``: str ``(n,)``, ``paths``: str ``(n,)``,
        - ``classes``: sorted distinct diagnoses,
        - ``metadata``: dict of the other columns (``age`` as float, NaN when
          unknown), ``DESCR``.

        Rows are in the order of ``metadata.csv``.

    Raises
    ------
    FileNotFoundError
        If the folder or ``metadata.csv`` is missing.
    ImageDecodeError
        If image files are missing or corrupt (listed by path).

    Examples
    --------
    >>> from noisyactive.datasets import load_ham10000
    >>> data = load_ham10000("/work/shared/data/ham10000", size=32)  # doctest: +SKIP
    >>> data.images.shape, len(data.classes)  # doctest: +SKIP
    ((10015, 3, 32, 32), 7)
    """
    root = os.path.abspath(os.fspath(path))
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"HAM10000 folder {root!r} does not exist; expected a folder with "
            "metadata.csv and images/<image_id>.jpg."
        )
    meta_path = os.path.join(root, "metadata.csv")
    if not os.path.isfile(meta_path):
        raise FileNotFoundError(
            f"{meta_path!r} not found; a HAM10000 folder holds metadata.csv (columns "
            f"{list(_REQUIRED + _EXTRA)}) and images/<image_id>.jpg."
        )
    rows, columns = _read_metadata(meta_path)

    def column(name):
        return np.asarray([r[name].strip() for r in rows], dtype=str)

    image_ids = column("image_id")
    labels = column("dx")
    groups = column("lesion_id")
    paths = np.asarray(
        [os.path.join(root, "images", f"{i}.jpg") for i in image_ids], dtype=str
    )
    metadata = {}
    for name in _EXTRA:
        if name not in columns:
            continue
        if name == "age":
            metadata[name] = np.asarray(
                [float(r[name]) if r[name].strip() else np.nan for r in rows]
            )
        else:
            metadata[name] = column(name)
    images = None
    if size is not None:
        images = load_images(
            paths,
            size=size,
            mode="RGB",
            cache_dir=cache_dir,
            n_jobs=n_jobs,
            verbose=verbose,
        )
    return Bunch(
        images=images,
        labels=labels,
        groups=groups,
        image_ids=image_ids,
        paths=paths,
        classes=np.unique(labels),
        metadata=metadata,
        DESCR=(
            "HAM10000 dermatoscopy images (Tschandl et al. 2018, CC BY-NC 4.0) read "
            f"from {root}; labels = dx, groups = lesion_id (split by group)."
        ),
    )
