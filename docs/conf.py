"""Sphinx configuration of the gfprint documentation.

Build (from the repository root)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

The build is offline by default. Set ``GFPRINT_DOCS_ONLINE=1`` to enable the
intersphinx links to numpy, scipy, scikit-learn, skorch and torch (their
inventories are downloaded then).
"""

import os
import re
import warnings

import gfprint

# -- Project -----------------------------------------------------------------
project = "gfprint"
author = "The gfprint developers"
copyright = "The gfprint developers, BSD-3-Clause"  # noqa: A001
release = gfprint.__version__
version = release

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.extlinks",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "examples/README.txt", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"

# The package's docstrings cite papers with :doi:`...`.
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it better
autoclass_content = "class"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# No numpydoc validation in the build: style checks belong to ruff (pydocstyle)
# and the test suite, and a style nit in a docstring must not break the docs.
numpydoc_validation_checks = set()

# -- intersphinx: only when online -------------------------------------------
# This machine and CI have no internet, and an unreachable inventory is a
# warning, hence an error under -W. GFPRINT_DOCS_ONLINE=1 turns the links on.
_ONLINE = os.environ.get("GFPRINT_DOCS_ONLINE", "0") == "1"
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable/", None),
        "torch": ("https://docs.pytorch.org/docs/stable/", None),
        "matplotlib": ("https://matplotlib.org/stable/", None),
    }
    if _ONLINE
    else {}
)
intersphinx_timeout = 10

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # Execute every plot_*.py example (the default pattern also matches them; being
    # explicit documents the intent).
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("gfprint",),
    "reference_url": {"gfprint": None},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "download_all_examples": False,
    "plot_gallery": "True",
}

# The examples run inside the Sphinx process. Small CNNs train faster with one
# torch thread than with several competing for the cores of a small or busy
# machine (OpenMP threads spin while they wait), and the run times stay
# predictable; this affects the docs build only.
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a dependency of gfprint
    pass

# Matplotlib running headless inside the build.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"gfprint {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False


# -- API coverage check ------------------------------------------------------
# Every name in the __all__ of these modules must appear (as itself or as the
# same object re-exported elsewhere) in an autosummary table of api.rst, so that
# a new public name cannot be forgotten: a missing one is a warning, hence an
# error under -W.
API_MODULES = (
    "gfprint",
    "gfprint.residuals",
    "gfprint.fingerprints",
    "gfprint.metrics",
    "gfprint.datasets",
    "gfprint.nn",
    "gfprint.perturbations",
    "gfprint.ensemble",
    "gfprint.baselines",
    "gfprint.plotting",
    "gfprint.studies",
)


def _documented_objects(api_text):
    """Objects listed in the autosummary tables of api.rst, by identity."""
    import importlib
    import re

    found = []
    module, in_table = None, False
    for line in api_text.splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module, in_table = match.group(1), False
            continue
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table and line and not line[0].isspace():
            in_table = False
        entry = line.strip()
        if in_table and re.fullmatch(r"~?[A-Za-z_][\w.]*", entry):
            found.append((module, entry.lstrip("~")))
    objects = []
    for mod_name, name in found:
        obj = importlib.import_module(mod_name)
        for part in name.split("."):
            obj = getattr(obj, part)
        objects.append(obj)
    return objects


def _check_api_coverage(app):
    import importlib
    from pathlib import Path

    from sphinx.util import logging

    logger = logging.getLogger("gfprint.docs")
    try:
        documented = _documented_objects((Path(app.srcdir) / "api.rst").read_text())
    except (ImportError, AttributeError) as exc:
        logger.warning(f"api.rst lists a name that cannot be imported: {exc}")
        return
    for mod_name in API_MODULES:
        module = importlib.import_module(mod_name)
        for name in getattr(module, "__all__", []):
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            if not any(obj is d for d in documented):
                logger.warning(
                    f"{mod_name}.{name} is in {mod_name}.__all__ but not in docs/api.rst; "
                    "add it to an autosummary table there."
                )


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods.

    scikit-learn adds them to every estimator class for metadata routing; their
    docstrings point into scikit-learn's own glossary, which is not reachable offline.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


# Docstring text that is not valid reStructuredText, escaped here until the
# docstrings are fixed (each entry is a known bug, reported to the maintainers):
# PRNUFingerprintClassifier writes ``shape (n, *image_shape_)`` in numpydoc type
# fields, where ``*`` opens emphasis and ``image_shape_`` is a link reference.
# Remove an entry once the package no longer needs it.
_DOCSTRING_RST_FIXES: dict = {}  # none at present (the *image_shape_ types are fixed)


def _escape_known_rst_errors(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        for bad, good in _DOCSTRING_RST_FIXES.items():
            if bad in line and good not in line:
                line = line.replace(bad, good)
        lines[i] = line


def setup(app):
    """Connect the API coverage check, the member filter and the docstring fix-ups."""
    app.connect("builder-inited", _check_api_coverage)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    app.connect("autodoc-process-docstring", _escape_known_rst_errors)
