"""Estimators as plain data, and fitted models as safe files.

:func:`params_to_json` describes an estimator's constructor call as JSON;
:func:`params_from_json` rebuilds it, importing only classes (and, for
functions, only a short named list) from an allow-list: noisyactive, scikit-learn,
skorch, ``torch.nn``, ``torch.optim`` and torchvision, plus the modules a user
names in ``trusted``. A module outside the list is never imported, so a
received checkpoint cannot run its code; no module named ``__main__`` is ever
imported, and no skorch callback class is taken from a file (a callback
writes files when the network trains). Fitted scikit-learn objects go
through :mod:`skops.io`: besides the types skops trusts itself, a file may
hold only the classes of :data:`SKOPS_CLASSES` (the helper objects inside
the scikit-learn classifiers noisyactive saves), each resolved and checked
to be that very class; a function, or a class outside that list, in any
node (a reduce constructor included) is refused unless the user trusts it.
Networks go through ``torch.save`` / ``torch.load(weights_only=True)``.

This module saves and loads the fitted models and re-exports the rest: the
allow-list in :mod:`~noisyactive.active._trust`, the parameters as JSON in
:mod:`~noisyactive.active._params`.
"""

import hashlib
import io
import json
import os
import sys
import zipfile

from noisyactive.active._archive import check_archive
from noisyactive.active._errors import CheckpointCorruptedError
from noisyactive.active._open import atomic_write, inside, read_bytes
from noisyactive.active._params import (  # noqa: F401 - re-exported
    params_from_json,
    params_to_json,
    user_types,
)
from noisyactive.active._trust import (  # noqa: F401 - re-exported
    SKOPS_CLASSES,
    TRUSTED_MODULES,
    UntrustedCheckpointError,
    _resolve,
    _within,
)

__all__ = [
    "TRUSTED_MODULES",
    "SKOPS_CLASSES",
    "UntrustedCheckpointError",
    "params_to_json",
    "params_from_json",
    "user_types",
    "save_model",
    "read_model",
    "load_model",
]


def _torch_state(model):
    import torch

    state = model.get_torch_state()
    # The nets' shuffle and augmentation generators continue where they were,
    # so a resumed fine-tune draws what an uninterrupted one draws.
    net = getattr(model, "net_", None)
    state["generators"] = {
        name: gen.get_state()
        for name, gen in sorted(vars(net).items() if net is not None else [])
        if isinstance(gen, torch.Generator)
    }
    return state


def save_model(directory, stem, model):
    """Save a fitted model; returns ``(file name, format, sha256)``."""
    if hasattr(model, "get_torch_state"):
        import torch

        name, fmt = f"{stem}.pt", "torch"
        state = _torch_state(model)
        data = io.BytesIO()
        torch.save(state, data)
        blob = data.getvalue()
    else:
        import skops.io as sio

        name, fmt, blob = f"{stem}.skops", "skops", sio.dumps(model)
    path = os.path.join(directory, name)
    atomic_write(path, lambda fh: fh.write(blob))
    return name, fmt, hashlib.sha256(blob).hexdigest()


def _skops_nodes(blob):
    """``(module, name)`` of every node of a skops file's schema (what skops
    would import), read as plain JSON: nothing is imported here."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, name = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                found.add((module, name))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _skops_allowed(module, name, trusted):
    """Whether a type a skops file names (and skops does not trust by itself)
    may be built: one of :data:`SKOPS_CLASSES`, a type or function of the
    objects the user passed (``trusted`` holds their dotted names; their
    modules are loaded already), or one from a module the user names in
    ``trusted``; each resolved and checked to be what the name says."""
    dotted = f"{module}.{name}"
    if dotted in trusted and module in sys.modules:  # the user's own objects
        obj = getattr(sys.modules[module], name, None)
        real = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        return real == dotted
    if dotted not in SKOPS_CLASSES and not _within(module, tuple(trusted)):
        return False
    try:
        obj = _resolve(f"{module}:{name}", trusted)
    except (UntrustedCheckpointError, ImportError, AttributeError):
        return False
    if not isinstance(obj, type):  # a function: only from a module the user named
        return _within(getattr(obj, "__module__", "") or "", tuple(trusted))
    return f"{obj.__module__}.{obj.__qualname__}" == dotted or _within(
        obj.__module__, tuple(trusted)
    )


def _check_skops_types(blob, trusted, name):
    """Refuse a skops file naming anything but the types skops trusts itself
    and :func:`_skops_allowed` admits; returns the names to pass to skops."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=blob)
        nodes = _skops_nodes(blob)
    except Exception as exc:
        raise CheckpointCorruptedError(
            f"{name} is damaged ({type(exc).__name__}: {exc})."
        ) from exc
    trusted = tuple(trusted)
    bad = []
    for type_name in untrusted:
        pairs = [(m, n) for m, n in nodes if f"{m}.{n}" == type_name]
        if not pairs or not all(_skops_allowed(m, n, trusted) for m, n in pairs):
            bad.append(type_name)
    if bad:
        raise UntrustedCheckpointError(
            f"{name} names {sorted(bad)}: not classes noisyactive saves in a "
            "model file (functions are never loaded from one). Nothing was "
            "loaded or imported from it. If you trust the folder's author, pass "
            "trusted=(<those names or their modules>,), or pass the estimators "
            "yourself."
        )
    return untrusted


def read_model(directory, name, fmt, sha256, *, what=""):
    """The bytes of a model file saved by :func:`save_model`, checked.

    The file is read once, without following a link; its checksum and the
    sizes it declares are checked on those bytes. Nothing is built (and
    torch is not imported): :func:`load_model` builds from these bytes.
    """
    path = inside(directory, name)
    if fmt not in ("torch", "skops"):
        raise CheckpointCorruptedError(
            f"The checkpoint gives {name!r} the format {fmt!r}; only 'torch' "
            "(weights only) and 'skops' files are read."
        )
    if not os.path.lexists(path):
        raise CheckpointCorruptedError(f"{path} is missing.{what}")
    blob = read_bytes(path)
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise CheckpointCorruptedError(f"{path} is damaged (checksum).{what}")
    check_archive(blob, path)
    return blob


def load_model(
    directory, name, fmt, sha256, template, *, trusted=(), what="", blob=None
):
    """Load a model saved by :func:`save_model` after checking its checksum.

    The bytes are those of :func:`read_model` (read now, or given as
    ``blob`` when they were read and checked before). ``template`` (an
    unfitted clone) receives torch state; skops files are checked against
    :data:`SKOPS_CLASSES` and ``trusted`` first.
    """
    if blob is None:
        blob = read_model(directory, name, fmt, sha256, what=what)
    if fmt == "torch":
        import torch

        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        template.set_torch_state(state)
        net = getattr(template, "net_", None)
        for gen_name, gen_state in state.get("generators", {}).items():
            getattr(net, gen_name).set_state(gen_state)
        return template
    import skops.io as sio

    untrusted = _check_skops_types(blob, trusted, name)
    return sio.loads(blob, trusted=untrusted)
