"""Sphinx configuration of the noisyactive documentation.

Built with ``make docs`` (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``). Nothing is downloaded at build time: intersphinx is off and
the gallery's examples run on the embedded digits.
"""

import os
import re
import sys
import warnings
from pathlib import Path

# The package is installed in editable mode by `make docs`; the path insert keeps a
# plain `sphinx-build` from a fresh checkout working as well.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import noisyactive

project = "noisyactive"
author = "noisyactive developers"
copyright = "2024, noisyactive developers"
release = noisyactive.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
root_doc = "index"
default_role = "literal"

# -- API pages -----------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
# numpydoc renders the methods through the class template instead; listing the
# members a second time would give "stub file not found" warnings.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- Gallery -------------------------------------------------------------------
# `plot_*.py` at the top of examples/ run on CPU (seconds each, embedded digits).
# examples/gpu/ holds walkthroughs for the paper's data sets on a GPU: their names
# do not start with `plot_`, so they are rendered with their code but not run.
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"[\\/]plot_[^\\/]*\.py$",
    "ignore_pattern": r"__init__\.py",
    # Strings, not classes: Sphinx caches the configuration with pickle.
    "subsection_order": ["../examples", "../examples/gpu"],
    "within_subsection_order": "sphinx_gallery.sorting.FileNameSortKey",
    "doc_module": ("noisyactive",),
    "reference_url": {"noisyactive": None},  # local links only, no downloads
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "default_thumb_file": None,
    "show_memory": False,
    # Each example page shows its own running time; the summary pages would land
    # in docs/ itself (sg_execution_times.rst), outside the ignored build folders.
    "write_computation_times": False,
}

# The examples train tiny torch networks, which run fastest on one thread (two
# threads per process oversubscribe a 2-core machine when GridSearchCV forks).
os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

# -- HTML ----------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
        "footer_start": ["copyright"],
        "footer_end": ["sphinx-version"],
    }
except ImportError:  # the alabaster theme ships with Sphinx
    html_theme = "alabaster"
    html_theme_options = {}

html_title = f"noisyactive {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


# -- Inherited scikit-learn docstrings -------------------------------------------
# `score`, `get_params` and `set_params` come from scikit-learn, whose docstrings
# point at labels of scikit-learn's own guide (`:ref:`accuracy_score``). Without
# intersphinx those cannot resolve, so they are shown as plain emphasis instead.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^>]*>|([^`]*))`")


def _plain_sklearn_roles(app, what, name, obj, options, lines):
    if not getattr(obj, "__module__", "").startswith("sklearn."):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ROLE.sub(lambda m: f"*{m.group(1) or m.group(2)}*", line)


# -- The configuration keys, from the schema itself ----------------------------
# `.. config-keys::` renders noisyactive.config._schema.SCHEMA as a table, so the
# page cannot drift from the keys `noisyactive run` accepts.
from docutils.parsers.rst import Directive  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402


def _cell(value):
    return "" if value is None else f"``{value!r}``".replace("'", '"')


class ConfigKeys(Directive):
    has_content = False

    def run(self):
        from noisyactive.config._schema import SCHEMA

        rows = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 18 16 12 54",
            "",
            "   * - key",
            "     - default",
            "     - kind",
            "     - meaning",
        ]
        for key in SCHEMA:
            default = key.default
            if isinstance(default, tuple):
                default = list(default)
            kind = "fixed" if key.fixed else key.group
            meaning = key.help.replace("`", "``").replace("````", "``")
            rows += [
                f"   * - ``{key.name}``",
                f"     - {_cell(default)}",
                f"     - {kind}",
                f"     - {meaning}",
            ]
        from docutils import nodes

        container = nodes.container()
        self.state.nested_parse(StringList(rows), self.content_offset, container)
        return container.children


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_roles, priority=400)
    app.add_directive("config-keys", ConfigKeys)
