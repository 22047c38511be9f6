"""Make the collection importable as ``ansible_collections.argusai.resilience`` in unit tests.

scripts/bootstrap.sh (``make venv``) links build/collections/ansible_collections/argusai/resilience
to the repo root; putting build/collections on sys.path is all that is needed, e.g.::

    from ansible_collections.argusai.resilience.plugins.module_utils import errors
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = os.path.join(_ROOT, "build", "collections")
_LINK = os.path.join(_COLLECTIONS, "ansible_collections", "argusai", "resilience")

if not os.path.isdir(_LINK):
    raise RuntimeError(f"{_LINK} is missing: run `make venv` (scripts/bootstrap.sh) first")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
