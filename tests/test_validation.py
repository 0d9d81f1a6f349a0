"""Issue 8's bad-input list: each case raises a clear error at the public surface."""

import numpy as np
import pytest
from PIL import Image
from torch import nn

from noisyactive import ActiveLabelCleaner, NetClassifier, NoisyLabelFilter
from noisyactive.datasets import ImageDecodeError
from noisyactive.utils._param_validation import InvalidParameterError

FAST = dict(module_kwargs={"hidden_sizes": (8,)}, max_epochs=1, random_state=0)
X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
Y = np.arange(40) % 2


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_features(bad):
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        NoisyLabelFilter(**FAST).fit(Xb, Y)


def test_nan_in_float_images():
    imgs = np.zeros((8, 1, 8, 8), np.float32)
    imgs[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NetClassifier(max_epochs=1).fit(imgs, np.arange(8) % 2)


def test_wrong_number_of_dimensions():
    with pytest.raises(ValueError, match="2-D features .* 4-D images"):
        NoisyLabelFilter(**FAST).fit(np.zeros((10, 4, 4)), np.arange(10) % 2)


def test_channel_count_differs_at_predict():
    imgs = np.zeros((8, 1, 8, 8), np.uint8)
    clf = NetClassifier(module="small_cnn", max_epochs=1).fit(imgs, np.arange(8) % 2)
    with pytest.raises(ValueError, match="fitted on images with 1 channel"):
        clf.predict(np.zeros((2, 3, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="fitted on image input"):
        clf.predict(np.zeros((2, 64), np.float32))


def test_one_class_only():
    with pytest.raises(ValueError, match="at least 2 classes"):
        NoisyLabelFilter(**FAST).fit(X, np.zeros(40))


def test_string_labels_work_and_map_through_classes():
    names = np.array(["df", "nv"])[Y]
    clf = NetClassifier(**FAST).fit(X, names)
    assert clf.classes_.tolist() == ["df", "nv"]
    assert set(clf.predict(X)) <= {"df", "nv"}


def test_unknown_labels_in_partial_fit():
    clf = NetClassifier(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="not seen in y during fit"):
        clf.partial_fit(X, Y + 5)


def test_validation_labels_unknown_to_training_count_as_errors():
    from sklearn.metrics import f1_score

    y_val = np.array([0, 1, 7, 7, 0, 1])  # class 7 is not in the training labels
    clf = NetClassifier(**FAST).fit(X, Y, X_val=X[:6], y_val=y_val)
    (recorded,) = clf.history_[:, "valid_f1"]
    # One epoch, so predict uses that epoch's weights: the validation score
    # must be macro-F1 with the unknown class kept as a class never predicted.
    pred = clf.predict(X[:6])
    counted = f1_score(y_val, pred, average="macro", zero_division=0)
    known = y_val != 7
    dropped = f1_score(y_val[known], pred[known], average="macro", zero_division=0)
    assert recorded == pytest.approx(counted, abs=1e-12)
    assert counted < dropped  # dropping them (or mapping them to a class) scores more


def test_empty_input():
    with pytest.raises(ValueError, match="0 sample"):
        NoisyLabelFilter(**FAST).fit(np.zeros((0, 5)), np.zeros(0))


@pytest.mark.parametrize(
    "params",
    [
        {"mix_ratio": 1.5},
        {"mix_ratio": -0.1},
        {"forget_rate": 1.0},
        {"forget_rate": -0.2},
        {"vog_window": 1},
        {"selection": "global"},
    ],
)
def test_out_of_range_parameters(params):
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=name):
        NoisyLabelFilter(**FAST, **params).fit(X, Y)


def test_batch_size_larger_than_the_data_trains_on_one_batch():
    filt = NoisyLabelFilter(
        **dict(FAST, batch_size=1000), forget_rate=0.2, final_selection=None
    ).fit(X, Y)
    assert filt.clean_mask_.sum() == 40  # epoch 0: nothing forgotten yet


def test_budget_larger_than_the_pool_is_clamped_with_a_warning():
    from sklearn.linear_model import LogisticRegression

    cleaner = ActiveLabelCleaner(
        estimator=LogisticRegression(),
        classifier=LogisticRegression(),
        oracle=lambda ids, _: Y[ids],
        start="noisy",
        batch_size=30,
        n_rounds=3,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="clamped"):
        cleaner.fit(X, Y)
    assert cleaner.budget_used_ == 40


def test_module_whose_last_layer_is_not_linear():
    class Bad(nn.Module):
        def __init__(self, n_features, num_classes):
            super().__init__()
            self.fc = nn.Linear(n_features, num_classes)
            self.norm = nn.BatchNorm1d(num_classes)

        def forward(self, x):
            return self.norm(self.fc(x))

    with pytest.raises(TypeError, match="must end in an nn.Linear"):
        NoisyLabelFilter(module=Bad, max_epochs=1).fit(X, Y)


def test_missing_and_corrupt_image_paths_are_named(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(good)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png")
    missing = tmp_path / "missing.png"
    paths = np.array([str(good), str(corrupt), str(missing)])
    with pytest.raises(ImageDecodeError, match="corrupt.png") as info:
        NetClassifier(max_epochs=1, image_size=8).fit(paths, [0, 1, 0])
    assert "missing.png" in str(info.value)


def test_weights_missing_or_wrong_architecture(tmp_path):
    import torch

    imgs = np.zeros((4, 3, 32, 32), np.uint8)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NetClassifier(weights=tmp_path / "nope.pth", max_epochs=1).fit(imgs, [0, 1] * 2)
    wrong = tmp_path / "wrong.pth"
    torch.save(nn.Linear(3, 3).state_dict(), wrong)
    with pytest.raises(ValueError, match="not a ResNet18"):
        NetClassifier(weights=wrong, max_epochs=1).fit(imgs, [0, 1] * 2)
