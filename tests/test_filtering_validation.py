"""Every parameter of NoisyLabelFilter and NetClassifier is checked at the start
of fit, before any epoch of any network (the cross-fit of forget_rate="auto"
included): counted with skorch's epoch method, not timed."""

from unittest import mock

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from torch import nn

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive.base import cpu_bf16_supported
from noisyactive.utils._param_validation import InvalidParameterError

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 5)).astype(np.float32)
Y = np.arange(40) % 2
FAST = dict(max_epochs=2, num_gradual=1, vog_window=2, device="cpu")


class EndsInBatchNorm(nn.Module):
    def __init__(self, n_features, num_classes):
        super().__init__()
        self.fc = nn.Linear(n_features, num_classes)
        self.norm = nn.BatchNorm1d(num_classes)

    def forward(self, x):
        return self.norm(self.fc(x))


@pytest.fixture
def epochs():
    """The training epochs skorch runs, by net class."""
    calls = []
    original = NeuralNet.run_single_epoch

    def counted(self, iterator, training, *args, **kwargs):
        if training:
            calls.append(type(self).__name__)
        return original(self, iterator, training, *args, **kwargs)

    with mock.patch.object(NeuralNet, "run_single_epoch", counted):
        yield calls


BAD = [
    ({"mix_ratio": 1.5}, InvalidParameterError, "mix_ratio"),
    ({"forget_rate": 1.0}, InvalidParameterError, "forget_rate"),
    ({"noise_estimator": "crossfit"}, InvalidParameterError, "noise_estimator"),
    ({"noise_estimator": object()}, InvalidParameterError, "noise_estimator"),
    ({"vog_window": 1}, InvalidParameterError, "vog_window"),
    ({"vog_dtype": "float64"}, InvalidParameterError, "vog_dtype"),
    ({"selection": "quota"}, InvalidParameterError, "selection"),
    ({"lr": 0.0}, InvalidParameterError, "lr"),
    ({"precision": "fp16"}, InvalidParameterError, "precision"),
    ({"transition_matrix": np.eye(3)}, ValueError, "transition"),
    ({"module": EndsInBatchNorm}, TypeError, "must end in an nn.Linear"),
    ({"module_kwargs": {"hidden": 3}}, TypeError, "hidden"),
]
if not torch.cuda.is_available():
    BAD.append(({"device": "cuda"}, ValueError, "CUDA is not available"))
if not cpu_bf16_supported():
    BAD.append(({"precision": "bf16"}, ValueError, "no native bf16"))


@pytest.mark.parametrize(("params", "error", "match"), BAD)
@pytest.mark.parametrize("forget_rate", ["auto", 0.2])
def test_a_bad_filter_parameter_fails_before_any_epoch(
    epochs, params, error, match, forget_rate
):
    params = {**FAST, "forget_rate": forget_rate, **params}
    with pytest.raises(error, match=match):
        NoisyLabelFilter(**params).fit(X, Y)
    assert epochs == []


def test_the_epoch_counter_counts(epochs):
    NoisyLabelFilter(**FAST, forget_rate=0.2).fit(X, Y)
    assert epochs.count("CoTeachingNet") == FAST["max_epochs"]


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"max_epochs": 0}, InvalidParameterError, "max_epochs"),
        ({"finetune_lr": -1.0}, InvalidParameterError, "finetune_lr"),
        ({"lr_schedule": "step"}, InvalidParameterError, "lr_schedule"),
        ({"module": EndsInBatchNorm}, TypeError, "must end in an nn.Linear"),
    ],
)
def test_a_bad_classifier_parameter_fails_before_any_epoch(
    epochs, params, error, match
):
    with pytest.raises(error, match=match):
        NetClassifier(**{"max_epochs": 2, "device": "cpu", **params}).fit(X, Y)
    assert epochs == []
