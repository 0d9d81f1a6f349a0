"""The campaign's training data checked against its fingerprint, and the
atomic CSV writer that ask/tell and the export share."""

import csv
import io
import os

from noisyactive.active._checks import check_input, data_fingerprint
from noisyactive.active._files import atomic_write

__all__ = ["training_data"]


def _write_csv(path, header, rows):
    """Write a UTF-8 CSV atomically (a reader never sees half a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(directory, exist_ok=True)
    data = buffer.getvalue().encode("utf-8")
    atomic_write(os.path.abspath(os.fspath(path)), lambda fh: fh.write(data))


def training_data(campaign, X):
    """The training data of the campaign: ``X`` checked to be it (the file
    paths of the state when ``X`` is None)."""
    s = campaign.state
    if X is None:
        if s.input_paths is None:
            raise ValueError(
                "X is needed: the cleaner was fitted on arrays (X may be "
                "omitted only when fit received file paths)."
            )
        X = s.input_paths
    X = check_input(campaign.cleaner, X, input_is_paths=s.input_is_paths)
    fp = data_fingerprint(X, s.classes, s.y_noisy, paths=s.input_is_paths)
    if fp["x"] != s.fingerprint["x"]:
        saved = s.fingerprint
        raise ValueError(
            "X is not the data this cleaner was fitted on (fitted on shape "
            f"{tuple(saved['x_shape'])}, dtype {saved['x_dtype']}; got shape "
            f"{tuple(X.shape)}, dtype {X.dtype}, or the same shape with other "
            "values or changed files). query and teach need the training "
            "data, in the same order."
        )
    return X
