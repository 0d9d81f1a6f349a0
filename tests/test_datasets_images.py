import os
import pickle

import numpy as np
import pytest
from PIL import Image

import noisyactive.datasets._images as images_module
from noisyactive.datasets import ImageDecodeError, load_image_folder, load_images

COLOURS = {"a.png": (255, 0, 0), "b.png": (0, 255, 0), "c.png": (0, 0, 255)}


@pytest.fixture
def png_folder(tmp_path):
    root = tmp_path / "imgs"
    for i, (name, rgb) in enumerate(COLOURS.items()):
        cls = root / ("x" if i < 2 else "y")
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((10, 12, 3), rgb, np.uint8)).save(cls / name)
    return root


def test_decode_shape_dtype_and_content(png_folder):
    paths, labels = load_image_folder(png_folder)
    X = load_images(paths, size=(4, 6))
    assert X.shape == (3, 3, 4, 6) and X.dtype == np.uint8
    assert not isinstance(X, np.memmap)
    for img, path in zip(X, paths):
        rgb = COLOURS[os.path.basename(path)]
        assert np.all(img == np.asarray(rgb, np.uint8)[:, None, None])
    grey = load_images(paths, size=5, mode="L")
    assert grey.shape == (3, 1, 5, 5)
    assert np.array_equal(grey[:, 0, 0, 0], [76, 150, 29])  # ITU-R 601 luma
    threaded = load_images(list(paths) * 50, size=(4, 6), n_jobs=2)
    assert np.array_equal(threaded, np.concatenate([X] * 50))


def test_corrupt_and_missing_files_are_named(png_folder):
    paths = sorted(str(p) for p in png_folder.rglob("*.png"))
    bad = png_folder / "y" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    missing = str(png_folder / "y" / "gone.png")
    with pytest.raises(ImageDecodeError) as info:
        load_images([*paths, str(bad), missing], size=4)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.paths == [str(bad), missing]
    msg = str(err)
    assert "2 image file(s) could not be read" in msg
    assert f"{bad}: " in msg and f"{missing}: file not found" in msg
    # the error survives pickling (joblib workers)
    again = pickle.loads(pickle.dumps(err))
    assert again.paths == err.paths and str(again) == msg


def test_folder_with_corrupt_file_reported_by_name(png_folder):
    (png_folder / "x" / "zz_corrupt.png").write_bytes(b"garbage")
    paths, _ = load_image_folder(png_folder)
    with pytest.raises(ImageDecodeError, match="zz_corrupt.png"):
        load_images(paths, size=4)


def test_cache_second_call_does_not_decode(png_folder, tmp_path, monkeypatch):
    paths, _ = load_image_folder(png_folder)
    cache = tmp_path / "cache"
    plain = load_images(paths, size=(4, 6))
    first = load_images(paths, size=(4, 6), cache_dir=cache)
    assert np.array_equal(first, plain)
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith(".npy")
    assert isinstance(first, np.memmap) and not first.flags.writeable

    def boom(*args, **kwargs):
        raise AssertionError("decoded again although the cache exists")

    monkeypatch.setattr(images_module, "_decode_image", boom)
    second = load_images(list(paths), size=(4, 6), cache_dir=str(cache))
    assert isinstance(second, np.memmap)
    assert np.array_equal(second, plain)
    # other settings mean another cache entry, hence decoding (which fails here)
    with pytest.raises(ImageDecodeError, match="decoded again"):
        load_images(paths, size=(4, 6), mode="L", cache_dir=cache)
    assert len(os.listdir(cache)) == 1  # no partial or temporary file left


def test_cache_invalidated_by_changed_file(png_folder, tmp_path):
    paths, _ = load_image_folder(png_folder)
    cache = tmp_path / "cache"
    first = np.array(load_images(paths, size=3, cache_dir=cache))
    target = paths[0]
    Image.fromarray(np.full((10, 12, 3), 7, np.uint8)).save(target)
    st = os.stat(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = load_images(paths, size=3, cache_dir=cache)
    assert np.all(second[0] == 7) and np.array_equal(second[1:], first[1:])
    assert len(os.listdir(cache)) == 2


def test_truncated_cache_file_is_rebuilt(png_folder, tmp_path):
    paths, _ = load_image_folder(png_folder)
    cache = tmp_path / "cache"
    good = np.array(load_images(paths, size=3, cache_dir=cache))
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:40])
    assert np.array_equal(load_images(paths, size=3, cache_dir=cache), good)


def test_failed_decode_leaves_no_cache_file(png_folder, tmp_path):
    bad = png_folder / "x" / "bad.png"
    bad.write_bytes(b"nope")
    cache = tmp_path / "cache"
    with pytest.raises(ImageDecodeError, match="bad.png"):
        load_images([bad], size=3, cache_dir=cache)
    assert os.listdir(cache) == []
    # a missing file cannot be hashed: it is reported, nothing is cached
    with pytest.raises(ImageDecodeError, match="gone.png: file not found"):
        load_images([png_folder / "gone.png"], size=3, cache_dir=cache)
    assert os.listdir(cache) == []


def test_progress_bar_when_verbose(png_folder, tmp_path, capsys):
    paths, _ = load_image_folder(png_folder)
    many = list(paths) * 40
    load_images(many, size=3, verbose=True, cache_dir=tmp_path / "c")
    err = capsys.readouterr().err
    assert "decoding images" in err and "cached 120 decoded images" in err
    load_images(many, size=3, verbose=True, cache_dir=tmp_path / "c")
    assert "loaded 120 images from cache" in capsys.readouterr().err
    load_images(many, size=3)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"size": 0}, ValueError, "size must be a positive int"),
        ({"size": (4,)}, ValueError, r"\(height, width\)"),
        ({"size": (4, 2.5)}, ValueError, "size must be"),
        ({"size": 4, "mode": "RGBA"}, ValueError, "mode must be 'RGB' or 'L'"),
        ({"size": 4, "n_jobs": 0}, ValueError, "n_jobs must be >= 1 or -1"),
        ({"size": 4, "n_jobs": 1.5}, TypeError, "n_jobs must be an int"),
        ({"size": 4, "resample": "cubic"}, ValueError, "resample must be one of"),
    ],
)
def test_argument_errors(png_folder, kwargs, exc, match):
    paths, _ = load_image_folder(png_folder)
    with pytest.raises(exc, match=match):
        load_images(paths, **kwargs)


def test_paths_errors(png_folder):
    with pytest.raises(TypeError, match="not a single path"):
        load_images(str(png_folder / "x" / "a.png"), size=4)
    with pytest.raises(ValueError, match="paths is empty"):
        load_images([], size=4)
