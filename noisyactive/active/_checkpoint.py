"""Checkpoint files of a cleaning campaign: atomic, versioned, fingerprinted.

A checkpoint directory holds

- ``state.npz``: every array of the campaign (labels, masks, queried indices,
  the relabel log) plus a JSON header (format version, data fingerprint,
  seed, round, budget, history, the cleaner's parameters). It is the commit
  point: it is written to a temporary file and moved into place with
  ``os.replace``, so a crash leaves either the old or the new state, never a
  torn one. It is read with ``allow_pickle=False``.
- ``classifier-<round>.pt`` (noisyactive networks: ``torch.save`` of state
  dicts, read back with ``weights_only=True``) or ``classifier-<round>.joblib``
  (any other scikit-learn classifier), written *before* the state that names
  it; older ones are removed after the state moved.
- ``estimator.joblib``: the fitted phase-1 estimator, written once.

``.joblib`` files are pickles: load a checkpoint only from a source you trust.
"""

import hashlib
import importlib
import json
import os
import tempfile
import types

import numpy as np

__all__ = [
    "CHECKPOINT_VERSION",
    "data_fingerprint",
    "params_to_json",
    "params_from_json",
    "write_state",
    "read_state",
    "save_model",
    "load_model",
    "save_pickle",
    "load_pickle",
    "remove_stale",
]

CHECKPOINT_VERSION = 1
STATE_FILE = "state.npz"
_HEADER_KEY = "__header__"
_CHUNK_BYTES = 1 << 24


def _hash_array(arr, digest):
    arr = np.asarray(arr)
    digest.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    if arr.dtype.kind in "OUS":
        for value in arr.ravel().tolist():
            digest.update(str(value).encode() + b"\x1f")
        return
    rows = max(1, _CHUNK_BYTES // max(1, arr[:1].nbytes)) if arr.ndim else 1
    if arr.ndim == 0:
        digest.update(arr.tobytes())
        return
    for start in range(0, arr.shape[0], rows):
        digest.update(np.ascontiguousarray(arr[start : start + rows]).tobytes())


def data_fingerprint(X, classes, y_encoded):
    """Digests that identify the data of a campaign.

    Parameters
    ----------
    X : ndarray
        Training data as validated by the cleaner (features, images or paths).
    classes : ndarray of shape (n_classes,)
    y_encoded : ndarray of int of shape (n_samples,)
        The noisy labels as positions in ``classes``.

    Returns
    -------
    fingerprint : dict
        ``{"x": hex, "y": hex, "x_shape": list, "x_dtype": str}``.

    Examples
    --------
    >>> import numpy as np
    >>> from noisyactive.active._checkpoint import data_fingerprint
    >>> a = data_fingerprint(np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1]))
    >>> b = data_fingerprint(np.ones((2, 3)), np.array([0, 1]), np.array([0, 1]))
    >>> a["x"] == b["x"], a["y"] == b["y"]
    (False, True)
    """
    x_digest = hashlib.blake2b(digest_size=20)
    _hash_array(X, x_digest)
    y_digest = hashlib.blake2b(digest_size=20)
    _hash_array(np.asarray(classes), y_digest)
    _hash_array(np.asarray(y_encoded, dtype=np.int64), y_digest)
    X = np.asarray(X)
    return {
        "x": x_digest.hexdigest(),
        "y": y_digest.hexdigest(),
        "x_shape": list(X.shape),
        "x_dtype": X.dtype.str,
    }


# -- parameters as JSON -------------------------------------------------------


class _NotStorable(Exception):
    pass


def _reference(obj):
    module, qualname = getattr(obj, "__module__", None), obj.__qualname__
    if module is None or "<" in qualname:  # lambdas and local definitions
        raise _NotStorable(repr(obj))
    return {"__ref__": f"{module}:{qualname}"}


def _encode(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return _reference(value)
    if hasattr(value, "get_params") and not isinstance(value, type):
        return params_to_json(value)
    raise _NotStorable(repr(value))


def params_to_json(estimator):
    """Describe an estimator's constructor call as JSON-compatible data.

    Parameters that cannot be described (a lambda, an arbitrary object) are
    recorded as ``{"__unstorable__": repr}``; :func:`params_from_json` turns
    them into an error, except for ``oracle``, which becomes ``None``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from noisyactive.active._checkpoint import params_from_json, params_to_json
    >>> spec = params_to_json(LogisticRegression(C=0.5))
    >>> spec["class"], spec["params"]["C"]
    ('sklearn.linear_model._logistic:LogisticRegression', 0.5)
    >>> params_from_json(spec)
    LogisticRegression(C=0.5)
    """
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        try:
            params[name] = _encode(value)
        except _NotStorable as exc:
            params[name] = {"__unstorable__": str(exc)}
    cls = type(estimator)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params}


def _resolve(ref):
    module, _, qualname = ref.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _decode(value, name):
    if isinstance(value, list):
        return [_decode(v, name) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, name) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, name) for k, v in value["__dict__"].items()}
    if "__ref__" in value:
        try:
            return _resolve(value["__ref__"])
        except (ImportError, AttributeError) as exc:
            raise ValueError(
                f"Parameter {name!r} refers to {value['__ref__']}, which cannot be "
                f"imported here ({exc}); pass the cleaner it was made with, "
                "load_cleaner(checkpoint, cleaner=ActiveLabelCleaner(...))."
            ) from exc
    if "__unstorable__" in value:
        if name == "oracle":  # not needed to query/teach; a human answers
            return None
        raise ValueError(
            f"Parameter {name!r} ({value['__unstorable__']}) could not be stored "
            "in the checkpoint; pass the cleaner it was made with, "
            "load_cleaner(checkpoint, cleaner=ActiveLabelCleaner(...))."
        )
    return params_from_json(value)


def params_from_json(spec):
    """Rebuild an (unfitted) estimator from :func:`params_to_json` output.

    This imports the classes named in ``spec``: only use specs from a trusted
    checkpoint.
    """
    cls = _resolve(spec["class"])
    return cls(**{k: _decode(v, k) for k, v in spec["params"].items()})


# -- files ---------------------------------------------------------------------


def _atomic_write(path, write):
    """Write through ``write(fileobj)`` into a temporary file, then rename."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_state(directory, header, arrays):
    """Atomically write the campaign state (header dict + numpy arrays)."""
    os.makedirs(directory, exist_ok=True)
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[_HEADER_KEY] = np.array(json.dumps(header))
    _atomic_write(
        os.path.join(directory, STATE_FILE), lambda fh: np.savez(fh, **payload)
    )


def read_state(directory):
    """Read ``(header, arrays)`` from a checkpoint directory, or None if absent."""
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        header = json.loads(str(arrays.pop(_HEADER_KEY)))
    except Exception as exc:
        raise ValueError(
            f"{path} is not a readable ActiveLabelCleaner checkpoint ({exc})."
        ) from exc
    version = header.get("format_version")
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {version!r}; this version of "
            f"noisyactive reads version {CHECKPOINT_VERSION}."
        )
    return header, arrays


def save_pickle(directory, name, obj):
    """Atomically ``joblib.dump`` an object (a pickle: trusted sources only)."""
    import joblib

    _atomic_write(os.path.join(directory, name), lambda fh: joblib.dump(obj, fh))
    return name


def load_pickle(directory, name):
    """``joblib.load`` a file written by :func:`save_pickle`."""
    import joblib

    return joblib.load(os.path.join(directory, name))


def save_model(directory, stem, model):
    """Save a fitted classifier; returns ``(file name, format)``.

    Models with ``get_torch_state`` (noisyactive networks) are stored as
    tensors with ``torch.save``; anything else with joblib.
    """
    if hasattr(model, "get_torch_state"):
        import torch

        name = f"{stem}.pt"
        state = model.get_torch_state()
        _atomic_write(os.path.join(directory, name), lambda fh: torch.save(state, fh))
        return name, "torch"
    return save_pickle(directory, f"{stem}.joblib", model), "joblib"


def load_model(directory, name, fmt, template):
    """Load a classifier saved by :func:`save_model`.

    For ``fmt="torch"`` the tensors are read with ``weights_only=True`` and
    restored into ``template`` (an unfitted clone) with ``set_torch_state``.
    """
    path = os.path.join(directory, name)
    if fmt == "torch":
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        template.set_torch_state(state)
        return template
    return load_pickle(directory, name)


def remove_stale(directory, prefix, keep):
    """Delete files ``prefix*`` in ``directory`` except ``keep``."""
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry != keep:
            try:
                os.remove(os.path.join(directory, entry))
            except OSError:  # another process may hold it; harmless leftover
                pass
