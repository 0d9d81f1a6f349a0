"""Size checks of a zip archive before anything in it is decompressed.

``state.npz``, a ``.skops`` and a ``.pt`` file are zip archives; the sizes
their zip directory and their array headers declare are checked against the
file's own size before anything is decompressed or allocated
(:func:`check_archive`).
"""

import io
import zipfile

import numpy as np

from noisyactive.active._errors import CheckpointCorruptedError

__all__ = ["check_archive"]

# Decompressed bytes an archive of the folder may declare, beyond its own size
# on disk (noisyactive writes them uncompressed: stored, ratio 1).
_ARCHIVE_SLACK = 1 << 20
_ARCHIVE_RATIO = 4
_ARCHIVE_MEMBERS = 100_000


def check_archive(data, path, *, limit=None):
    """Refuse a zip archive (``state.npz``, a ``.skops`` or ``.pt`` file)
    whose members would decompress or allocate more than ``limit`` bytes.

    ``limit`` defaults to a few times the archive's own size: noisyactive
    writes these archives uncompressed. The members' sizes come from the zip
    directory (:mod:`zipfile` never inflates a member past the size it
    declares) and, for ``.npy`` members, from the array header's shape and
    dtype, which :func:`numpy.load` would otherwise allocate before reading
    a byte of data. Nothing is decompressed here.
    """
    if limit is None:
        limit = _ARCHIVE_RATIO * len(data) + _ARCHIVE_SLACK
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointCorruptedError(
            f"{path} is damaged (not a zip archive: {exc})."
        ) from exc
    with archive:
        infos = archive.infolist()
        total = sum(info.file_size for info in infos)
        if len(infos) > _ARCHIVE_MEMBERS or total > limit:
            raise CheckpointCorruptedError(
                f"{path} declares {len(infos)} members and {total} bytes once "
                f"decompressed, more than the {limit} bytes a checkpoint file of "
                f"{len(data)} bytes may hold; refusing to decompress it."
            )
        for info in infos:
            if not info.filename.endswith(".npy"):
                continue
            try:
                with archive.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = {
                        (1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0,
                    }[version]
                    shape, _, dtype = reader(fh, max_header_size=10_000)
                    header_bytes = fh.tell()
            except Exception as exc:
                raise CheckpointCorruptedError(
                    f"{path} is damaged (member {info.filename!r}: "
                    f"{type(exc).__name__}: {exc})."
                ) from exc
            count = 1
            for dim in shape:
                count *= int(dim)
            if (
                dtype.hasobject
                or count * dtype.itemsize > info.file_size - header_bytes
            ):
                raise CheckpointCorruptedError(
                    f"{path} is damaged: member {info.filename!r} declares an "
                    f"array of shape {shape} and dtype {dtype}, larger than the "
                    f"{info.file_size} bytes it holds; refusing to allocate it."
                )
