import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from noisyactive.datasets import (
    ImageDecodeError,
    grouped_train_val_test_split,
    load_ham10000,
)

HAM_PATH = "/work/shared/data/ham10000"


def synthetic_groups(seed=0, n_groups=600):
    """Lesion-like data: one class per group, 1-4 images per group, imbalanced."""
    rng = np.random.RandomState(seed)
    group_class = rng.choice(5, size=n_groups, p=[0.6, 0.2, 0.1, 0.06, 0.04])
    sizes = rng.randint(1, 5, size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    y = np.repeat(group_class, sizes)
    perm = rng.permutation(y.size)
    return y[perm], groups[perm].astype(str)


def check_split(y, groups, parts, sizes, tol):
    all_idx = np.concatenate(parts)
    assert np.array_equal(np.sort(all_idx), np.arange(y.size))
    for i, a in enumerate(parts):
        assert np.all(np.diff(a) > 0)
        for b in parts[i + 1 :]:
            assert not set(groups[a]) & set(groups[b])
    for part, share in zip(parts, sizes):
        assert abs(part.size / y.size - share) <= tol
        for c in np.unique(y):
            n_c = (y == c).sum()
            assert abs((y[part] == c).sum() / n_c - share) <= tol + 4 / n_c


def test_grouped_split_no_leak_and_stratified():
    y, groups = synthetic_groups()
    parts = grouped_train_val_test_split(y, groups, random_state=0)
    check_split(y, groups, parts, (0.7, 0.1, 0.2), tol=0.01)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.sampled_from([(0.7, 0.1, 0.2), (0.8, 0.0, 0.2), (0.5, 0.25, 0.25)]),
)
def test_grouped_split_properties(seed, sizes):
    y, groups = synthetic_groups(seed, n_groups=300)
    parts = grouped_train_val_test_split(y, groups, sizes=sizes, random_state=seed)
    check_split(y, groups, parts, sizes, tol=0.03)
    if sizes[1] == 0:
        assert parts[1].size == 0
    again = grouped_train_val_test_split(y, groups, sizes=sizes, random_state=seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


def test_grouped_split_seed_changes_split_and_inputs_untouched():
    y, groups = synthetic_groups()
    y0, g0 = y.copy(), groups.copy()
    a = grouped_train_val_test_split(y, groups, random_state=0)
    b = grouped_train_val_test_split(y, groups, random_state=1)
    assert not np.array_equal(a[2], b[2])
    assert np.array_equal(y, y0) and np.array_equal(groups, g0)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"sizes": (0.7, 0.2)}, ValueError, "three numbers"),
        ({"sizes": (0.7, 0.2, 0.2)}, ValueError, "must sum to 1"),
        ({"sizes": (0.0, 0.5, 0.5)}, ValueError, "positive training share"),
        ({"sizes": (1.2, -0.1, -0.1)}, ValueError, "non-negative"),
        ({"sizes": ("a", 0.5, 0.5)}, TypeError, "three numbers"),
        ({"groups": np.arange(3)}, ValueError, "same length; got 4 and 3"),
        ({"groups": np.zeros((4, 1))}, ValueError, "groups must be 1-D"),
    ],
)
def test_grouped_split_errors(kwargs, exc, match):
    args = {"y": np.array([0, 1, 0, 1]), "groups": np.arange(4), **kwargs}
    with pytest.raises(exc, match=match):
        grouped_train_val_test_split(**args)


@pytest.fixture
def fake_ham(tmp_path):
    root = tmp_path / "ham"
    (root / "images").mkdir(parents=True)
    rows = [
        ("HAM_1", "ISIC_1", "nv", "histo", "45.0", "male", "back"),
        ("HAM_1", "ISIC_2", "nv", "histo", "45.0", "male", "back"),
        ("HAM_2", "ISIC_3", "df", "consensus", "", "female", "face"),
    ]
    header = "lesion_id,image_id,dx,dx_type,age,sex,localization\n"
    (root / "metadata.csv").write_text(
        header + "".join(",".join(r) + "\n" for r in rows)
    )
    for i, r in enumerate(rows):
        img = np.full((15, 20, 3), 40 * i, np.uint8)
        Image.fromarray(img).save(root / "images" / f"{r[1]}.jpg", quality=95)
    return root


def test_load_ham10000_layout(fake_ham, tmp_path):
    data = load_ham10000(fake_ham, size=8, cache_dir=tmp_path / "cache")
    assert data.images.shape == (3, 3, 8, 8) and data.images.dtype == np.uint8
    assert data.labels.tolist() == ["nv", "nv", "df"]
    assert data.groups.tolist() == ["HAM_1", "HAM_1", "HAM_2"]
    assert data.image_ids.tolist() == ["ISIC_1", "ISIC_2", "ISIC_3"]
    assert data.classes.tolist() == ["df", "nv"]
    assert np.isnan(data.metadata["age"][2]) and data.metadata["age"][0] == 45.0
    assert data.metadata["sex"].tolist() == ["male", "male", "female"]
    assert abs(int(data.images[2].mean()) - 80) <= 2
    assert len(os.listdir(tmp_path / "cache")) == 1
    lazy = load_ham10000(fake_ham, size=None)
    assert lazy.images is None and lazy.paths[0].endswith("images/ISIC_1.jpg")


def test_load_ham10000_errors(fake_ham, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        load_ham10000(tmp_path / "nowhere")
    (fake_ham / "images" / "ISIC_3.jpg").unlink()
    with pytest.raises(ImageDecodeError, match="ISIC_3.jpg: file not found"):
        load_ham10000(fake_ham, size=8)
    (fake_ham / "metadata.csv").write_text("image_id,dx\nISIC_1,nv\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['lesion_id'\]"):
        load_ham10000(fake_ham, size=8)
    (fake_ham / "metadata.csv").unlink()
    with pytest.raises(FileNotFoundError, match="metadata.csv.*not found"):
        load_ham10000(fake_ham, size=8)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.isdir(HAM_PATH), reason=f"HAM10000 not found at {HAM_PATH}"
)
def test_real_ham10000_counts_and_grouped_split(tmp_path):
    data = load_ham10000(HAM_PATH, size=32, cache_dir=tmp_path, n_jobs=2)
    assert data.images.shape == (10_015, 3, 32, 32)
    assert data.images.dtype == np.uint8
    assert data.classes.tolist() == ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    counts = dict(zip(*np.unique(data.labels, return_counts=True)))
    assert counts == {
        "akiec": 327,
        "bcc": 514,
        "bkl": 1099,
        "df": 115,
        "mel": 1113,
        "nv": 6705,
        "vasc": 142,
    }
    assert np.unique(data.groups).size == 7470
    parts = grouped_train_val_test_split(data.labels, data.groups, random_state=0)
    check_split(data.labels, data.groups, parts, (0.7, 0.1, 0.2), tol=0.01)
    cached = load_ham10000(HAM_PATH, size=32, cache_dir=tmp_path)
    assert isinstance(cached.images, np.memmap)
    assert np.array_equal(cached.images[:50], data.images[:50])
