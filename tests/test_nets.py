"""Networks, local weights, augmentation and the image input paths."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive.nets import (
    MLP,
    ResNet18,
    SmallCNN,
    augment_images,
    capture_features,
    final_linear,
)


def test_resnet18_tiny_images_train_two_epochs_without_download(monkeypatch):
    import urllib.request

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    # Every way torch / torchvision fetch weights ends in one of these.
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(48, 3, 32, 32), dtype=np.uint8)
    y = np.arange(48) % 3
    filt = NoisyLabelFilter(
        module_kwargs={"small_input": False},
        max_epochs=2,
        batch_size=16,
        forget_rate=0.2,
        num_gradual=1,
        random_state=0,
    )
    filt.fit(X, y)
    assert isinstance(filt.net_.module_.body, ResNet18)
    assert filt.clean_mask_.shape == (48,)
    assert filt.embed(X[:2]).shape == (2, 512)
    # NHWC input of the same images gives the same predictions.
    np.testing.assert_allclose(
        filt.predict_proba(X.transpose(0, 2, 3, 1)), filt.predict_proba(X), atol=1e-6
    )


def test_resnet18_loads_local_weights_and_adapts_stem_and_head(tmp_path):
    src = ResNet18(num_classes=1000)
    path = tmp_path / "r18.pth"
    torch.save(src.model.state_dict(), path)
    net = ResNet18(num_classes=7, in_channels=1, weights=path)
    torch.testing.assert_close(
        net.model.layer1[0].conv1.weight, src.model.layer1[0].conv1.weight
    )
    assert net.model.conv1.weight.shape == (64, 1, 7, 7)
    assert net.model.fc.out_features == 7


def test_resnet18_weights_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ResNet18(num_classes=3, weights=tmp_path / "missing.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="never downloads"):
        ResNet18(num_classes=3, weights="imagenet")
    wrong = tmp_path / "mlp.pth"
    torch.save(MLP(4, 3).state_dict(), wrong)
    with pytest.raises(ValueError, match="not a ResNet18 state dict"):
        ResNet18(num_classes=3, weights=wrong)


def test_final_linear_and_feature_capture():
    net = SmallCNN(1, 4, width=8)
    layer = final_linear(net)
    assert layer is net.fc
    with capture_features(layer) as store:
        net(torch.zeros(3, 1, 8, 8))
    assert store["h"].shape == (3, 32)
    with pytest.raises(TypeError, match="must end in an nn.Linear"):
        final_linear(nn.Sequential(nn.Linear(3, 3), nn.Conv1d(1, 1, 1)))


def test_module_not_ending_in_linear_is_refused():
    class ConvHead(nn.Module):
        def __init__(self, n_features, num_classes):
            super().__init__()
            self.conv = nn.Conv1d(1, num_classes, n_features)

        def forward(self, x):
            return self.conv(x[:, None]).flatten(1)

    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    with pytest.raises(TypeError, match="nn.Linear"):
        NetClassifier(module=ConvHead, max_epochs=1).fit(X, np.arange(20) % 2)


def test_augment_images_reproducible_and_in_range():
    x = torch.rand(8, 3, 16, 16)
    a = augment_images(x, torch.Generator().manual_seed(3))
    b = augment_images(x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.allclose(a, x)


def test_path_input_is_decoded_once_and_cached(tmp_path):
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(24):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
        labels.append("a" if i % 2 else "b")
    cache = tmp_path / "cache"
    clf = NetClassifier(
        module="small_cnn", image_size=16, cache_dir=cache, max_epochs=1, batch_size=8
    )
    clf.fit(np.array(paths), labels)
    assert clf.input_shape_ == (3, 16, 16)
    assert len(list(cache.glob("*.npy"))) == 1
    assert set(clf.predict(np.array(paths[:3]))) <= {"a", "b"}


@pytest.mark.gpu
def test_cuda_mixed_precision_fit_and_cpu_load(tmp_path):
    import joblib

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(64, 3, 32, 32), dtype=np.uint8)
    y = np.arange(64) % 4
    filt = NoisyLabelFilter(
        device="cuda", max_epochs=2, batch_size=16, forget_rate=0.2, num_gradual=1
    ).fit(X, y)
    settings = filt.net_.settings
    assert settings["amp_dtype"] is not None or not torch.cuda.is_bf16_supported()
    assert settings["channels_last"]
    joblib.dump(filt, tmp_path / "f.joblib")
    loaded = joblib.load(tmp_path / "f.joblib")
    loaded.set_params(device="cpu")
    loaded.net_.device = "cpu"
    loaded.net_.module_.cpu()
    loaded.net_.module2_.cpu()
    assert loaded.predict(X[:4]).shape == (4,)


def test_auto_module_on_small_images_uses_the_standard_stem_on_a_cpu():
    X = np.random.default_rng(0).integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    clf = NetClassifier(max_epochs=1, batch_size=8, device="cpu").fit(
        X, np.arange(8) % 2
    )
    body = clf.net_.module_.body.model
    assert isinstance(body.maxpool, nn.MaxPool2d)
    assert body.conv1.kernel_size == (7, 7)
