import os

import numpy as np
import pytest
from PIL import Image

from noisyactive.datasets import load_image_csv, load_image_folder


def write_png(path, value=0, size=(6, 5)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    write_png(root / "TUM" / "t2.png")
    write_png(root / "TUM" / "t1.PNG")
    write_png(root / "ADI" / "sub" / "a3.png")
    write_png(root / "ADI" / "a1.png")
    (root / "ADI" / "notes.txt").write_text("not an image")
    write_png(root / "ADI" / ".hidden.png")
    write_png(root / ".cache" / "x.png")  # hidden folder: not a class
    return root


def test_folder_lists_classes_and_sorted_paths(folder):
    paths, labels = load_image_folder(folder)
    rel = [os.path.relpath(p, folder) for p in paths]
    assert rel == [
        os.path.join("ADI", "a1.png"),
        os.path.join("ADI", "sub", "a3.png"),
        os.path.join("TUM", "t1.PNG"),
        os.path.join("TUM", "t2.png"),
    ]
    assert labels.tolist() == ["ADI", "ADI", "TUM", "TUM"]
    assert paths.dtype.kind == "U" and labels.dtype.kind == "U"
    assert all(os.path.isabs(p) for p in paths)
    # deterministic
    again = load_image_folder(str(folder))
    assert np.array_equal(again[0], paths)


def test_folder_extension_filter(folder):
    paths, labels = load_image_folder(folder, extensions=["TXT", "png"])
    assert any(p.endswith("notes.txt") for p in paths)
    with pytest.raises(ValueError, match=r"class folder\(s\) \['TUM'\].*'\.jpg'"):
        load_image_folder(folder, extensions=(".jpg", "txt"))
    with pytest.raises(TypeError, match="extensions must be"):
        load_image_folder(folder, extensions=[1, 2])


def test_folder_errors_name_the_folder(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope.*does not exist"):
        load_image_folder(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty.*has no class sub-folders"):
        load_image_folder(empty)
    (empty / "MUC").mkdir()
    write_png(empty / "NORM" / "n.png")
    with pytest.raises(ValueError, match=r"\['MUC'\].*contain no image"):
        load_image_folder(empty)


def test_csv_relative_absolute_and_root(tmp_path):
    write_png(tmp_path / "img" / "a.png")
    abs_path = tmp_path / "elsewhere" / "b.png"
    write_png(abs_path)
    csv = tmp_path / "labels.csv"
    csv.write_text(f"path,label,extra\nimg/a.png,mel,1\n{abs_path},nv,2\n")
    paths, labels = load_image_csv(csv)
    assert paths.tolist() == [str(tmp_path / "img" / "a.png"), str(abs_path)]
    assert labels.tolist() == ["mel", "nv"]
    other = tmp_path / "other"
    paths, _ = load_image_csv(csv, root=other)
    assert paths[0] == str(other / "img" / "a.png")
    assert paths[1] == str(abs_path)


def test_csv_custom_columns_and_bom(tmp_path):
    csv = tmp_path / "meta.csv"
    csv.write_bytes("\ufeffimage_id,dx\nx.jpg,df\n".encode())
    paths, labels = load_image_csv(csv, path_column="image_id", label_column="dx")
    assert paths[0] == str(tmp_path / "x.jpg") and labels.tolist() == ["df"]


def test_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv.*does not exist"):
        load_image_csv(tmp_path / "missing.csv")
    csv = tmp_path / "l.csv"
    csv.write_text("file,label\na.png,x\n")
    with pytest.raises(
        ValueError, match=r"no column\(s\) \['path'\].*\['file', 'label'"
    ):
        load_image_csv(csv)
    csv.write_text("path,label\n")
    with pytest.raises(ValueError, match="no data rows"):
        load_image_csv(csv)
    csv.write_text("path,label\na.png,x\nb.png,\n")
    with pytest.raises(ValueError, match="line 3: empty 'label' cell"):
        load_image_csv(csv)
    csv.write_text("")
    with pytest.raises(ValueError, match="no column"):
        load_image_csv(csv)


def test_datasets_import_does_not_pull_torch():
    import subprocess
    import sys

    code = "import sys, noisyactive.datasets; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
