"""The gallery examples: the CPU ones run, the GPU walkthroughs are checked statically.

Running all ``examples/plot_*.py`` takes about a minute on 2 CPU cores; it is
part of the default run, so CI executes the gallery (issue: docs). The
walkthroughs in ``examples/gpu/`` need data and a GPU and are never executed, not
even by the documentation build; the fast tests below make sure that every name
they import from noisyactive exists and every keyword they pass is accepted, so
an API change cannot silently break them.
"""

import ast
import importlib
import inspect
import re
import runpy
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PLOT_EXAMPLES = sorted(EXAMPLES.glob("plot_*.py"))
GPU_WALKTHROUGHS = sorted((EXAMPLES / "gpu").glob("*.py"))
ALL_EXAMPLES = PLOT_EXAMPLES + GPU_WALKTHROUGHS


def _gallery_filename_pattern():
    """``sphinx_gallery_conf["filename_pattern"]`` read from docs/conf.py
    without executing it."""
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", None) == "sphinx_gallery_conf"
        ):
            conf = node.value
            for key, value in zip(conf.keys, conf.values, strict=True):
                if getattr(key, "value", None) == "filename_pattern":
                    return ast.literal_eval(value)
    raise AssertionError("docs/conf.py sets no sphinx_gallery_conf filename_pattern")


def _noisyactive_imports(tree):
    """Name -> object for every ``from noisyactive... import name``."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "noisyactive"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), (
                    f"{node.module} has no {alias.name!r} (line {node.lineno})"
                )
                names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def _dict_literals(tree):
    """Keys of ``name = dict(key=...)`` assignments, for checking ``**name``."""
    keys = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "dict"
        ):
            keys[node.targets[0].id] = [k.arg for k in node.value.keywords if k.arg]
    return keys


def test_examples_exist():
    assert len(PLOT_EXAMPLES) >= 5
    assert {p.name for p in GPU_WALKTHROUGHS} >= {
        "isic2019_walkthrough.py",
        "nct_crc_walkthrough.py",
    }
    assert (EXAMPLES / "README.rst").is_file()
    assert (EXAMPLES / "gpu" / "README.rst").is_file()


def test_gallery_runs_plot_examples_only():
    pattern = _gallery_filename_pattern()
    for path in PLOT_EXAMPLES:
        assert re.search(pattern, str(path)), path
    for path in GPU_WALKTHROUGHS:
        assert not re.search(pattern, str(path)), f"{path} would be executed"


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.stem)
def test_example_uses_existing_api(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    docstring = ast.get_docstring(tree)
    assert docstring and docstring.lstrip().startswith("="), (
        "a gallery example starts with a docstring whose first line is a title"
    )
    names = _noisyactive_imports(tree)
    dict_keys = _dict_literals(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        target = names.get(node.func.id)
        if target is None:
            continue
        params = inspect.signature(target).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue
        passed = [k.arg for k in node.keywords if k.arg]
        for k in node.keywords:
            if k.arg is None and isinstance(k.value, ast.Name):
                passed += dict_keys.get(k.value.id, [])
        unknown = sorted(set(passed) - set(params))
        assert not unknown, (
            f"{path.name}, line {node.lineno}: {node.func.id} does not accept {unknown}"
        )


@pytest.mark.parametrize("path", PLOT_EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # anything an example writes stays in tmp_path
    plt.close("all")
    try:
        with warnings.catch_warnings():
            # plt.show() under Agg says it cannot show; that is expected here.
            warnings.filterwarnings(
                "ignore", message=".*non-interactive", category=UserWarning
            )
            runpy.run_path(str(path), run_name="__main__")
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert figures, f"{path.name} draws no figure (the gallery needs one)"
        for fig in figures:
            assert any(ax.get_title() for ax in fig.axes), (
                f"{path.name}: a figure without a title"
            )
    finally:
        plt.close("all")
