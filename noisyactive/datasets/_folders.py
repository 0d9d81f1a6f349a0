"""Index real image data on disk (never downloads anything).

Two layouts cover the paper's data sets: one folder per class (NCT-CRC-HE-100K,
an ISIC-2019 export) and a CSV of ``path,label`` rows. Both return image paths
and string labels only; pixels are read later by :func:`load_images`.
"""

import csv
import os

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "load_image_folder", "load_image_csv"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def _check_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    try:
        exts = tuple(
            ("." + e.lower().lstrip(".")) if isinstance(e, str) else None
            for e in extensions
        )
    except TypeError as exc:
        raise TypeError(
            f"extensions must be a sequence of strings such as ('.png', '.jpg'); got "
            f"{extensions!r}."
        ) from exc
    if not exts or None in exts:
        raise TypeError(
            f"extensions must be a non-empty sequence of strings such as ('.png', "
            f"'.jpg'); got {extensions!r}."
        )
    return exts


def _check_inside(path, root, where):
    real = os.path.realpath(path)
    if os.path.commonpath([real, os.path.realpath(root)]) != os.path.realpath(root):
        raise ValueError(
            f"{where}: {path!r} resolves to {real!r}, outside the data root "
            f"{root!r}; refusing it (confine=True)."
        )


def load_image_folder(root, *, extensions=IMAGE_EXTENSIONS, confine=False):
    """List the images of a class-per-folder directory.

    ``root/<class name>/<...>/<image>``: every immediate sub-folder of ``root``
    is a class, and every file below it (at any depth) whose extension is in
    ``extensions`` (case-insensitive) is one of its images. Hidden files and
    folders (starting with ``.``) are skipped.

    Parameters
    ----------
    root : str or path-like
        The data set folder.
    extensions : sequence of str, default=IMAGE_EXTENSIONS
        Accepted file extensions, with or without the dot.
    confine : bool, default=False
        Refuse images that resolve (through symbolic links) outside ``root``.

    Returns
    -------
    paths : ndarray of str, shape (n_images,)
        Absolute paths, sorted by class name, then by path within the class.
    labels : ndarray of str, shape (n_images,)
        The class (folder) name of each image.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist or is not a folder.
    ValueError
        If ``root`` has no class sub-folder, or a class folder holds no image.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from noisyactive.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["ADI/a.png", "ADI/b.png", "TUM/c.tif"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> paths, labels = load_image_folder(root)
    >>> labels.tolist()
    ['ADI', 'ADI', 'TUM']
    """
    exts = _check_extensions(extensions)
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"image folder {root!r} does not exist or is not a directory; expected "
            "one sub-folder per class, each holding that class's images."
        )
    class_dirs = sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    if not class_dirs:
        raise ValueError(
            f"image folder {root!r} has no class sub-folders; expected the layout "
            "root/<class name>/<image files>."
        )
    paths, labels, empty = [], [], []
    for name in class_dirs:
        found = []
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name)):
            # Sort in place so os.walk visits sub-folders deterministically.
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            found.extend(
                os.path.join(dirpath, f)
                for f in filenames
                if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts
            )
        if not found:
            empty.append(name)
        for path in found if confine else ():
            _check_inside(path, root, f"image folder {root!r}")
        paths.extend(sorted(found))
        labels.extend([name] * len(found))
    if empty:
        raise ValueError(
            f"class folder(s) {empty} in {root!r} contain no image with an extension "
            f"in {list(exts)}; remove them or pass extensions=..."
        )
    return np.asarray(paths, dtype=str), np.asarray(labels, dtype=str)


def load_image_csv(
    csv_path, *, path_column="path", label_column="label", root=None, confine=False
):
    """Read image paths and labels from a CSV file with a header row.

    Parameters
    ----------
    csv_path : str or path-like
        The CSV file (comma-separated, UTF-8, first row = column names).
    path_column : str, default="path"
        Column with the image paths.
    label_column : str, default="label"
        Column with the labels (returned as strings).
    root : str or path-like, default=None
        Folder against which relative paths are resolved; default: the folder
        of ``csv_path``. Absolute paths are kept.
    confine : bool, default=False
        Refuse every row whose path resolves (``..``, an absolute path, a
        symbolic link) outside that folder; the error names the line.

    Returns
    -------
    paths : ndarray of str, shape (n_rows,)
        Absolute, normalised paths, in the order of the file. Existence is not
        checked here; :func:`load_images` names any missing file.
    labels : ndarray of str, shape (n_rows,)

    Raises
    ------
    FileNotFoundError
        If the CSV file does not exist.
    ValueError
        If a column is missing, the file has no data row, or a path or label
        cell is empty (the row number is given).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from noisyactive.datasets import load_image_csv
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "labels.csv").write_text("path,label\\nimg/a.png,mel\\n")
    >>> paths, labels = load_image_csv(folder / "labels.csv")
    >>> paths[0].endswith("img/a.png"), labels.tolist()
    (True, ['mel'])
    """
    csv_path = os.path.abspath(os.fspath(csv_path))
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(
            f"CSV file {csv_path!r} does not exist; expected a file with a header "
            f"row and the columns {path_column!r} and {label_column!r}."
        )
    base = os.path.dirname(csv_path) if root is None else os.fspath(root)
    base = os.path.abspath(base)
    # utf-8-sig drops the byte-order mark that spreadsheet exports add.
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in (path_column, label_column) if c not in columns]
        if missing:
            raise ValueError(
                f"CSV file {csv_path!r} has no column(s) {missing}; its columns are "
                f"{columns}. Pass path_column=... / label_column=... to choose."
            )
        paths, labels = [], []
        # Row numbers count the header as line 1, as a spreadsheet shows them.
        for line, row in enumerate(reader, start=2):
            p = (row.get(path_column) or "").strip()
            lab = (row.get(label_column) or "").strip()
            if not p or not lab:
                which = path_column if not p else label_column
                raise ValueError(
                    f"CSV file {csv_path!r}, line {line}: empty {which!r} cell; every "
                    "row needs an image path and a label."
                )
            paths.append(os.path.normpath(os.path.join(base, p)))
            if confine:
                _check_inside(paths[-1], base, f"CSV file {csv_path!r}, line {line}")
            labels.append(lab)
    if not paths:
        raise ValueError(f"CSV file {csv_path!r} has a header but no data rows.")
    return np.asarray(paths, dtype=str), np.asarray(labels, dtype=str)
