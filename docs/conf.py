"""Sphinx configuration of the actorkit API reference (``tox -e docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actorkit import __version__

project = 'actorkit'
author = 'actorkit contributors'
copyright = 'actorkit contributors'
version = release = __version__

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon']

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_typehints_format = 'short'
autodoc_default_options = {'members': True, 'show-inheritance': False}
# Optional frameworks: the reference builds without them installed.
autodoc_mock_imports = ['django', 'flask', 'click']

nitpicky = False
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path: list[str] = []
