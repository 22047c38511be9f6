"""Make the collection importable as ``ansible_collections.argusai.resilience`` in unit tests.

scripts/bootstrap.sh (``make venv``) links build/collections/ansible_collections/argusai/resilience
to the repo root; putting build/collections on sys.path is all that is needed, e.g.::

    from ansible_collections.argusai.resilience.plugins.module_utils import errors
"""

import json
import os
import sys
from unittest import mock

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = os.path.join(_ROOT, "build", "collections")
_LINK = os.path.join(_COLLECTIONS, "ansible_collections", "argusai", "resilience")

if not os.path.isdir(_LINK):
    raise RuntimeError(f"{_LINK} is missing: run `make venv` (scripts/bootstrap.sh) first")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)


@pytest.fixture
def module_main(capsys):
    """Run a module's ``main()`` with arguments as AnsibleModule receives them; its printed result."""
    from ansible.module_utils import basic

    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19 reads the arguments from basic._ANSIBLE_ARGS

        def patch_module_args(args):
            return mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())

    def run(module, args):
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run
