"""Data loaders that refuse paths outside their root (issue 16.6)."""

import os

import pytest

from noisyactive.datasets import load_image_csv, load_image_folder


def test_csv_confined_to_its_root(tmp_path):
    (tmp_path / "data" / "img").mkdir(parents=True)
    (tmp_path / "data" / "img" / "a.png").touch()
    (tmp_path / "secret.png").touch()
    csv = tmp_path / "data" / "labels.csv"
    csv.write_text("path,label\nimg/a.png,mel\n../secret.png,nv\n")
    paths, _ = load_image_csv(csv)  # default: as before
    assert paths[1] == str(tmp_path / "secret.png")
    with pytest.raises(ValueError, match=r"line 3: '.*secret.png' resolves"):
        load_image_csv(csv, confine=True)
    csv.write_text(f"path,label\nimg/a.png,mel\n{tmp_path / 'secret.png'},nv\n")
    with pytest.raises(ValueError, match="line 3"):
        load_image_csv(csv, confine=True)
    csv.write_text("path,label\nimg/a.png,mel\n")
    assert len(load_image_csv(csv, confine=True)[0]) == 1


def test_folder_confined_against_symlinks(tmp_path):
    root = tmp_path / "data"
    (root / "ADI").mkdir(parents=True)
    (root / "ADI" / "a.png").touch()
    (tmp_path / "outside.png").touch()
    os.symlink(tmp_path / "outside.png", root / "ADI" / "link.png")
    assert len(load_image_folder(root)[0]) == 2
    with pytest.raises(ValueError, match="link.png.*outside the data root"):
        load_image_folder(root, confine=True)
