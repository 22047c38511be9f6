"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test bootstraps pip into every sanity virtualenv by downloading a get-pip script from
a host that this project's machines cannot reach. scripts/sanity.sh copies this file to
~/.ansible/test/cache/get_pip_<version>.py only when that download is impossible.

It is run as ``python quiet_pip.py <pip options> pip==X --no-setuptools --no-wheel`` with
GET_PIP pointing here; we install the interpreter's bundled pip with ensurepip, then let pip
install the requested packages (from the configured package index).
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
