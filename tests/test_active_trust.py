"""Nothing in a received checkpoint runs code; damaged files are named."""

import os
import pickle
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from noisyactive.active import (
    ActiveLabelCleaner,
    CheckpointCorruptedError,
    SimulatedOracle,
    UntrustedCheckpointError,
    load_cleaner,
)
from noisyactive.active._files import read_state, write_state


def _campaign(folder, n_rounds=3):
    X, y = make_classification(80, n_features=4, random_state=0)
    y_noisy = np.where(np.arange(80) % 4 == 0, 1 - y, y)
    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=SimulatedOracle(y),
        start="noisy",
        batch_size=5,
        n_rounds=n_rounds,
        checkpoint=folder,
        random_state=0,
    )
    return cleaner.fit(X, y_noisy), X, y_noisy


def _edit_header(folder, edit):
    header, arrays = read_state(folder)
    edit(header)
    write_state(folder, header, arrays)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "code from the checkpoint ran"


@pytest.mark.parametrize(
    "where",
    ["class", "nested", "reexport", "function"],
)
def test_hostile_header_runs_nothing(tmp_path, marker, where):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    command = f"touch {marker}"

    def edit(header):
        params = header["params"]
        if where == "class":
            params["class"] = "os:system"
            params["params"] = {"command": command}
        elif where == "nested":
            params["params"]["classifier"] = {
                "class": "subprocess:Popen",
                "params": {"args": ["touch", str(marker)]},
            }
        elif where == "reexport":  # a trusted module re-exporting os
            params["params"]["query_strategy"] = {
                "__ref__": "noisyactive.active._files:os.system"
            }
        else:
            params["params"]["query_strategy"] = {"__ref__": "os:system"}

    _edit_header(folder, edit)
    with pytest.raises(UntrustedCheckpointError):
        cleaner = load_cleaner(folder)
        cleaner.query()  # would call the strategy if it had been accepted


def test_untrusted_module_is_not_imported_unless_trusted(tmp_path, monkeypatch):
    marker = tmp_path / "IMPORTED"
    (tmp_path / "hostile_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from sklearn.linear_model import LogisticRegression as Model\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "ckpt"
    _campaign(folder)

    def edit(header):
        header["params"]["params"]["classifier"] = {
            "class": "hostile_mod:Model",
            "params": {},
        }

    _edit_header(folder, edit)
    with pytest.raises(UntrustedCheckpointError, match="trusted=\\('hostile_mod',\\)"):
        load_cleaner(folder)
    assert not marker.exists()
    # The mechanism is real: trusting the module imports it.
    load_cleaner(folder, trusted=("hostile_mod",))
    assert marker.exists()
    sys.modules.pop("hostile_mod", None)


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    "name, fmt",
    [("../evil.pkl", "skops"), ("/abs/evil.pkl", "torch"), ("evil.pkl", "joblib")],
)
def test_header_naming_other_files_or_pickles_runs_nothing(tmp_path, marker, name, fmt):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    for target in (tmp_path / "evil.pkl", folder / "evil.pkl"):
        target.write_bytes(pickle.dumps(_Payload(str(marker))))

    def edit(header):
        header["model_files"]["classifier"] = [name, fmt, "0" * 64]

    _edit_header(folder, edit)
    with pytest.raises(CheckpointCorruptedError):
        load_cleaner(folder)
    with pytest.raises(CheckpointCorruptedError):  # a plain fit resume too
        _campaign(folder)


def test_damaged_classifier_is_named_and_labels_stay_exportable(tmp_path):
    folder = tmp_path / "ckpt"
    cleaner, X, y_noisy = _campaign(folder)
    (name,) = [f for f in os.listdir(folder) if f.startswith("classifier-")]
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptedError, match=name) as info:
        load_cleaner(folder)
    assert "3 rounds and 15 labels" in str(info.value)
    with pytest.raises(CheckpointCorruptedError, match="labels_only=True"):
        _campaign(folder)
    survivor = load_cleaner(folder, labels_only=True)
    np.testing.assert_array_equal(survivor.labels_, cleaner.labels_)
    survivor.export_labels(tmp_path / "labels.csv")
    rows = (tmp_path / "labels.csv").read_text().splitlines()
    answered = ("confirmed", "corrected", "audit-confirmed", "audit-corrected")
    assert len(rows) == 81 and sum(r.split(",")[4] in answered for r in rows) == 15


def test_damaged_state_file_is_named(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder)
    data = bytearray((folder / "state.npz").read_bytes())
    data[200] ^= 0xFF
    (folder / "state.npz").write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptedError, match="state.npz is damaged"):
        load_cleaner(folder)


def test_torn_journal_line_is_dropped_and_repaired(tmp_path):
    folder = tmp_path / "ckpt"
    _campaign(folder, n_rounds=2)
    journal = folder / "answers.jsonl"
    intact = journal.read_bytes()
    journal.write_bytes(intact + b'{"entry": {"seq": 3, "ind')  # killed mid-write
    cleaner, _, _ = _campaign(folder, n_rounds=3)
    assert cleaner.n_rounds_ == 3
    assert journal.read_bytes().startswith(intact)
    assert journal.read_bytes().count(b"\n") == 3  # the torn line is gone


@pytest.mark.parametrize(
    "ref",
    [
        "noisyactive.active._files:remove_stale",
        "noisyactive.cli._campaign:import_oracle",
    ],
)
def test_header_cannot_name_a_noisyactive_helper_function(tmp_path, ref):
    # A callable ``module`` is called with the header's ``module_kwargs``: a
    # helper function of noisyactive must not be reachable from a header.
    pytest.importorskip("torch")
    from noisyactive.active._spec import params_from_json, params_to_json
    from noisyactive.classifiers import NetClassifier

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "MARKER").write_text("keep me")
    spec = params_to_json(NetClassifier(max_epochs=1, device="cpu"))
    spec["params"]["module"] = {"__ref__": ref}
    spec["params"]["module_kwargs"] = {
        "__dict__": {"directory": str(victim), "prefix": "", "keep": ""}
    }
    with pytest.raises(UntrustedCheckpointError, match="not a class"):
        net = params_from_json(spec)
        X = np.zeros((8, 3), dtype=np.float32)
        net.fit(X, np.arange(8) % 2)
    assert (victim / "MARKER").exists()


def test_header_functions_load_only_from_trusted_modules(tmp_path, monkeypatch):
    from noisyactive.active._spec import params_from_json

    (tmp_path / "user_funcs_mod.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {
        "class": "sklearn.preprocessing._function_transformer:FunctionTransformer",
        "params": {"func": {"__ref__": "noisyactive.query._scores:margin_scores"}},
    }
    with pytest.raises(UntrustedCheckpointError, match="not a class"):
        params_from_json(spec)
    spec["params"]["func"] = {"__ref__": "user_funcs_mod:double"}
    with pytest.raises(UntrustedCheckpointError):
        params_from_json(spec)
    rebuilt = params_from_json(spec, trusted=("user_funcs_mod",))
    assert rebuilt.func(3) == 6


def test_header_cannot_point_an_allowed_class_at_a_location(tmp_path):
    # sklearn's Pipeline(memory=...) writes a joblib cache there and unpickles
    # what it finds: a hostile header must not choose that place.
    folder = tmp_path / "ckpt"
    _campaign(folder)
    cache = tmp_path / "their-cache"

    def edit(header):
        header["params"]["params"]["classifier"] = {
            "class": "sklearn.pipeline:Pipeline",
            "params": {
                "steps": [
                    {
                        "__tuple__": [
                            "lr",
                            {
                                "class": "sklearn.linear_model:LogisticRegression",
                                "params": {},
                            },
                        ]
                    }
                ],
                "memory": str(cache),
            },
        }

    _edit_header(folder, edit)
    with pytest.raises(UntrustedCheckpointError, match=r"Pipeline\(memory="):
        load_cleaner(folder)
    assert not cache.exists()
    # The user who trusts the folder's author says so.
    cleaner = load_cleaner(folder, trusted=("sklearn",))
    assert cleaner.classifier.memory == str(cache)


def test_own_cache_dir_needs_trust_to_come_from_a_header():
    pytest.importorskip("torch")
    from noisyactive.active._spec import params_from_json, params_to_json
    from noisyactive.classifiers import NetClassifier

    spec = params_to_json(NetClassifier(cache_dir="/elsewhere", device="cpu"))
    with pytest.raises(UntrustedCheckpointError, match="cache_dir='/elsewhere'"):
        params_from_json(spec)
    assert params_from_json(spec, trusted=("noisyactive",)).cache_dir == "/elsewhere"
    default = NetClassifier().cache_dir  # a header repeating the default is fine
    assert params_from_json(params_to_json(NetClassifier())).cache_dir == default
