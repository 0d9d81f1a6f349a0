"""Crafted checkpoint folders (issue 23): each is refused, naming the cause;
files outside the folder stay byte-identical and no marker file appears."""

import hashlib
import importlib
import io
import json
import os
import pickle
import pkgutil
import re
import sys
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from noisyactive.active import (
    ActiveLabelCleaner,
    CheckpointCorruptedError,
    SimulatedOracle,
    UntrustedCheckpointError,
    load_cleaner,
    validate_oracle_labels,
)
from noisyactive.active._files import read_journal, read_state, write_state
from noisyactive.active._spec import (
    TRUSTED_MODULES,
    _resolve,
    _skops_allowed,
    params_from_json,
)

REFUSED = (UntrustedCheckpointError, CheckpointCorruptedError)


def _campaign(folder, classifier=None, n_rounds=2):
    X, y = make_classification(80, n_features=4, random_state=0)
    y_noisy = np.where(np.arange(80) % 4 == 0, 1 - y, y)
    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=classifier if classifier is not None else LogisticRegression(),
        oracle=SimulatedOracle(y),
        start="noisy",
        batch_size=5,
        n_rounds=n_rounds,
        checkpoint=folder,
        random_state=0,
    )
    return cleaner.fit(X, y_noisy), X, y_noisy


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "code from the checkpoint ran"


def _model_file(folder):
    (name,) = [f for f in os.listdir(folder) if f.startswith("classifier-")]
    return folder / name


# -- 1. no callable from a .skops file ----------------------------------------------


def _state_of(obj):
    """skops' schema for ``obj``, without ids (they could collide)."""
    import skops.io as sio

    schema = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(obj))).read("schema.json"))

    def strip(node):
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k not in ("__id__", "protocol", "_skops_version")
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(schema)


def _plant(folder, node):
    """Put ``node`` in the saved classifier's ``verbose`` and fix the header's
    checksum of the file, as a folder's author can."""
    path = _model_file(folder)
    with zipfile.ZipFile(path) as old:
        members = {n: old.read(n) for n in old.namelist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["content"]["verbose"] = node
    members["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as new:
        for name, data in members.items():
            new.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    header, arrays = read_state(folder)
    header["model_files"]["classifier"][2] = hashlib.sha256(
        buffer.getvalue()
    ).hexdigest()
    write_state(folder, header, arrays)


def _call_node(module, name, args, loader="LossNode"):
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": loader,
        "__reduce__": {"args": _state_of(tuple(args))},
        "content": _state_of({}),
    }


@pytest.fixture
def gadget_module(tmp_path, monkeypatch, marker):
    (tmp_path / "gadget_payload_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "gadget_payload_mod"
    sys.modules.pop("gadget_payload_mod", None)


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    "gadget",
    ["import_module", "numpy_load", "constructor_node", "function_node"],
)
def test_skops_gadget_is_refused(tmp_path, marker, gadget_module, gadget):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    pickled = tmp_path / "payload.npy"
    pickled.write_bytes(pickle.dumps(_Payload(str(marker))))
    node = {
        "import_module": _call_node(
            "sklearn.utils.discovery", "import_module", [gadget_module]
        ),
        "numpy_load": _call_node(
            "sklearn.externals.array_api_compat.numpy",
            "load",
            [str(pickled), None, True],
        ),
        "constructor_node": {
            **_call_node("sklearn.utils.discovery", "import_module", []),
            "__loader__": "ConstructorFromReduceNode",
            "content": _state_of((gadget_module,)),
        },
        "function_node": {
            "__class__": "load_state_dict_from_url",
            "__module__": "torchvision.models._api",
            "__loader__": "FunctionNode",
        },
    }[gadget]
    _plant(folder, node)
    with pytest.raises(UntrustedCheckpointError, match="functions are never loaded"):
        load_cleaner(folder)
    with pytest.raises(UntrustedCheckpointError):  # a plain fit resume too
        _campaign(folder)


def test_skops_gadget_is_refused_by_the_cli(tmp_path, marker, gadget_module, capsys):
    from noisyactive.cli import main

    folder = tmp_path / "ckpt"
    _, X, _ = _campaign(folder)
    data = tmp_path / "X.npz"
    np.savez(data, X=X)
    assert (
        main(["export", str(folder), str(tmp_path / "ok.csv"), "--data", str(data)])
        == 0
    )
    _plant(
        folder, _call_node("sklearn.utils.discovery", "import_module", [gadget_module])
    )
    out = tmp_path / "labels.csv"
    for argv in (
        ["export", str(folder), str(out)],
        ["query", str(folder), "--csv", str(tmp_path / "q.csv")],
        ["teach", str(folder), str(tmp_path / "ok.csv")],
    ):
        with pytest.raises((SystemExit, *REFUSED), match="functions are never loaded"):
            main([*argv, "--data", str(data)])
    assert not out.exists() and not (tmp_path / "q.csv").exists()


@pytest.mark.parametrize(
    "classifier",
    [KNeighborsClassifier(3), DecisionTreeClassifier(random_state=0)],
    ids=["knn", "tree"],
)
def test_classifiers_with_helper_classes_still_load(tmp_path, classifier):
    # Their files hold KDTree / EuclideanDistance64 / Tree: classes the package
    # saves, listed in SKOPS_CLASSES, loaded without trusted=.
    folder = tmp_path / "ckpt"
    cleaner, X, _ = _campaign(folder, classifier=classifier)
    loaded = load_cleaner(folder)
    np.testing.assert_array_equal(loaded.classifier_.predict(X), cleaner.predict(X))


# -- 1. the JSON header: no callback class, nothing from __main__ ---------------------


def _edit_header(folder, edit):
    header, arrays = read_state(folder)
    edit(header)
    write_state(folder, header, arrays)


@pytest.mark.parametrize(
    "ref, match",
    [
        ("skorch.callbacks.training:TrainEndCheckpoint", "callback"),
        ("skorch.callbacks:LoadInitState", "callback"),
        ("noisyactive.__main__:main", "__main__"),
        ("noisyactive.__main__:sys", "__main__"),
    ],
)
def test_header_refuses_callbacks_and_main(tmp_path, monkeypatch, ref, match):
    import noisyactive.cli

    ran = []
    monkeypatch.setattr(noisyactive.cli, "main", lambda *a: ran.append(a))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "ckpt"
    _campaign(folder)
    _edit_header(
        folder,
        lambda h: h["params"]["params"].update(query_strategy={"__ref__": ref}),
    )
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(UntrustedCheckpointError, match=match):
        load_cleaner(folder, trusted=("noisyactive", "skorch"))
    assert not ran and sorted(os.listdir(tmp_path)) == before


def test_importing_main_module_runs_nothing(monkeypatch):
    import noisyactive.cli

    ran = []
    monkeypatch.setattr(noisyactive.cli, "main", lambda *a: ran.append(a) or 0)
    monkeypatch.delitem(sys.modules, "noisyactive.__main__", raising=False)
    importlib.import_module("noisyactive.__main__")
    assert not ran


def test_header_estimator_must_be_a_class_description():
    with pytest.raises(UntrustedCheckpointError, match="expected"):
        params_from_json(["sklearn.linear_model:LogisticRegression"])
    with pytest.raises(UntrustedCheckpointError, match="refusing to use it"):
        params_from_json(
            {"class": "sklearn.utils.discovery:import_module", "params": {}}
        )


# -- 1. the gadget scan: loaders reachable under the allowed packages -----------------

_LOADER = re.compile(
    r"load|pickle|import|download|url|fetch|open|exec|eval|system|popen|spawn|"
    r"remove|rmtree|unlink|save|dump|write|hub",
    re.IGNORECASE,
)
_SKIP = re.compile(r"\.(tests?|_testing|testing|conftest|experiments)(\.|$)")
_KNOWN = {
    ("torchvision.models._api", "load_state_dict_from_url"),
    ("sklearn.externals.array_api_compat.torch", "load"),
    ("sklearn.externals.array_api_compat.numpy", "load"),
    ("sklearn.utils.discovery", "import_module"),
    ("sklearn.datasets._base", "urlretrieve"),
}


def _modules(prefix):
    try:
        root = importlib.import_module(prefix)
    except ImportError:
        return
    yield root
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix + "."):
        if _SKIP.search(info.name) or info.name.endswith("__main__"):
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception:  # optional dependencies missing: not reachable either
            continue


def test_no_loader_gadget_under_the_allowed_packages_is_accepted():
    """Every function with a loader-like name reachable by name under the
    allowed packages (re-exports included) is refused by both resolvers: a
    dependency upgrade adding one that is not makes this fail."""
    pytest.importorskip("torchvision")
    found = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for prefix in TRUSTED_MODULES:
            for module in _modules(prefix):
                for name in dir(module):
                    if name.startswith("__") or not _LOADER.search(name):
                        continue
                    try:
                        obj = getattr(module, name)
                    except Exception:
                        continue
                    if callable(obj) and not isinstance(obj, type):
                        found.add((module.__name__, name))
    assert _KNOWN <= found, sorted(_KNOWN - found)  # the scan sees them
    accepted = []
    for module, name in sorted(found):
        if _skops_allowed(module, name, ()):
            accepted.append(f"skops {module}.{name}")
        try:
            _resolve(f"{module}:{name}", ())
        except (UntrustedCheckpointError, ImportError, AttributeError):
            pass
        else:
            accepted.append(f"header {module}:{name}")
    assert not accepted


# -- 2. nothing outside the folder -----------------------------------------------------


def _snapshot(path):
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("name", ["answers.jsonl", "state.npz", "classifier"])
def test_symlinked_file_is_refused_and_outside_unchanged(tmp_path, name):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    if name == "classifier":
        name = _model_file(folder).name
    outside = tmp_path / "outside" / name
    outside.parent.mkdir()
    os.replace(folder / name, outside)
    os.symlink(outside, folder / name)
    before = outside.read_bytes()
    with pytest.raises(CheckpointCorruptedError, match=re.escape(name)):
        load_cleaner(folder)
    with pytest.raises(CheckpointCorruptedError, match=re.escape(name)):
        _campaign(folder, n_rounds=3)
    assert outside.read_bytes() == before


def test_symlinked_journal_with_one_outside_line_is_not_repaired(tmp_path):
    # The outside file looks like a torn journal line: nothing cuts it off.
    folder = tmp_path / "ckpt"
    _campaign(folder)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious data without a newline")
    os.remove(folder / "answers.jsonl")
    os.symlink(victim, folder / "answers.jsonl")
    with pytest.raises(CheckpointCorruptedError, match="symbolic link"):
        load_cleaner(folder)
    with pytest.raises(CheckpointCorruptedError, match="symbolic link"):
        _campaign(folder, n_rounds=3)
    assert victim.read_bytes() == b"precious data without a newline"


def test_journal_swapped_for_a_link_after_loading_is_not_written(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder, n_rounds=2)
    cleaner = load_cleaner(folder).set_params(n_rounds=3)
    X, _ = make_classification(80, n_features=4, random_state=0)
    ask = cleaner.query(X)
    dangling = tmp_path / "created-outside.jsonl"
    os.replace(folder / "answers.jsonl", tmp_path / "kept.jsonl")
    os.symlink(dangling, folder / "answers.jsonl")
    with pytest.raises(REFUSED + (RuntimeError,)):
        cleaner.teach(X, ask, cleaner.labels_[ask])
    assert not dangling.exists()


def test_classifier_linked_inside_the_folder_is_refused(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    model = _model_file(folder)
    os.replace(model, folder / "elsewhere.skops")
    os.symlink("elsewhere.skops", model)
    with pytest.raises(CheckpointCorruptedError, match="is a symbolic link"):
        load_cleaner(folder)


def test_tmp_directory_is_named(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    (folder / ".tmp-hostile").mkdir()
    with pytest.raises(CheckpointCorruptedError, match=r"\.tmp-hostile is a directory"):
        load_cleaner(folder)


def _rewrite_npz(folder, change):
    """Rewrite state.npz member by member (no checksum recomputed)."""
    path = folder / "state.npz"
    with zipfile.ZipFile(path) as old:
        members = {n: old.read(n) for n in old.namelist()}
    change(members)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as new:
        for name, data in members.items():
            new.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def _npy(arr):
    out = io.BytesIO()
    np.save(out, arr, allow_pickle=False)
    return out.getvalue()


def test_edited_header_fails_the_checksum(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)

    def edit(members):
        text = str(np.load(io.BytesIO(members["__header__.npy"])))
        header = json.loads(text)
        header["budget_used"] = 0
        members["__header__.npy"] = _npy(np.array(json.dumps(header)))

    _rewrite_npz(folder, edit)
    with pytest.raises(CheckpointCorruptedError, match="do not match their checksum"):
        load_cleaner(folder)


def test_checkpoint_from_before_the_header_checksum_still_loads(tmp_path):
    from noisyactive.active._files import _arrays_digest

    folder = tmp_path / "ckpt"
    cleaner, _, _ = _campaign(folder)

    def old_format(members):
        del members["__checksum__.npy"]
        header = json.loads(str(np.load(io.BytesIO(members["__header__.npy"]))))
        arrays = {
            n[:-4]: np.load(io.BytesIO(d))
            for n, d in members.items()
            if n != "__header__.npy"
        }
        header["arrays_sha256"] = _arrays_digest(arrays)
        members["__header__.npy"] = _npy(np.array(json.dumps(header)))

    _rewrite_npz(folder, old_format)
    np.testing.assert_array_equal(load_cleaner(folder).labels_, cleaner.labels_)


def test_damaged_complete_journal_line_is_an_error_not_a_torn_tail(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    journal = folder / "answers.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[-2] = lines[-2].replace(b'"seq": ', b'"seq": 1', 1)  # still valid JSON
    journal.write_bytes(b"\n".join(lines))
    damaged = journal.read_bytes()
    with pytest.raises(CheckpointCorruptedError, match="damaged at line 2"):
        read_journal(folder, repair=True)
    with pytest.raises(CheckpointCorruptedError, match="answers.jsonl is damaged"):
        load_cleaner(folder)
    assert journal.read_bytes() == damaged  # nothing cut off


def test_decompressed_size_is_bounded_before_allocation(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)

    def huge_shape(members):  # a header promising 8 GB over a few bytes
        data = members["labels.npy"]
        members["labels.npy"] = data.replace(b"(80,)", b"(1000000000,)", 1)

    _rewrite_npz(folder, huge_shape)
    with pytest.raises(CheckpointCorruptedError, match="refusing to allocate"):
        load_cleaner(folder)


def test_zip_bomb_state_is_refused_before_inflating(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    path = folder / "state.npz"
    with zipfile.ZipFile(path) as old:
        members = {n: old.read(n) for n in old.namelist()}
    members["padding.npy"] = _npy(np.zeros(8 << 20))  # 64 MB of zeros
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as new:
        for name, data in members.items():
            new.writestr(name, data)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(CheckpointCorruptedError, match="refusing to decompress"):
        load_cleaner(folder)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("labels", np.zeros(10, np.intp), "labels has 10 entries for 80"),
        ("batch", np.array([999_999]), "batch holds 999999"),
        ("queried_lengths", np.array([5, 6]), "queried_lengths add up to 11"),
        ("n_rounds", "three", "n_rounds is 'three'"),
        ("labels", np.full(80, 7), "labels holds 7"),
        ("proba", np.full((80, 2), 2.0), "proba holds values that are not prob"),
        ("proba", np.zeros((10, 2)), r"proba is an array of shape \(10, 2\)"),
        ("proba_version", -1, "proba_version is -1"),
    ],
)
def test_crafted_state_is_refused_naming_the_field(tmp_path, field, value, match):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    header, arrays = read_state(folder)
    if field in arrays:
        arrays[field] = value
    else:
        header[field] = value
    write_state(folder, header, arrays)  # a checksum the author recomputed
    with pytest.raises(CheckpointCorruptedError, match=match):
        load_cleaner(folder)


# -- 5. inputs ------------------------------------------------------------------------


def test_boolean_answers_for_integer_classes_are_refused():
    with pytest.raises(ValueError, match="True/False are not classes"):
        validate_oracle_labels([True, np.bool_(False)], np.array([0, 1]), n_expected=2)
    encoded, _ = validate_oracle_labels(
        [True, False], np.array([False, True]), n_expected=2
    )
    assert encoded.tolist() == [1, 0]


def test_oracle_answering_booleans_changes_no_label(tmp_path):
    X, y = make_classification(80, n_features=4, random_state=0)
    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=lambda ids, X_sub: [bool(v) for v in y[ids]],
        start="noisy",
        batch_size=5,
        n_rounds=1,
        checkpoint=tmp_path / "ckpt",
        random_state=0,
    )
    with pytest.raises(ValueError, match="True/False"):
        cleaner.fit(X, y)
    assert load_cleaner(tmp_path / "ckpt", labels_only=True).budget_used_ == 0
