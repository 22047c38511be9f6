# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to, for example V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - When not set, the E(DOCKER_HOST) environment variable is used, else the local socket
        C(/var/run/docker.sock) and then the rootless socket under E(XDG_RUNTIME_DIR).
      - When the daemon cannot be reached, the module fails with C(DOCKER_UNAVAILABLE) and lists
        every address it tried with its root cause (C(socket_missing), C(permission_denied),
        C(connection_refused), C(timeout), C(api_version)).
    type: str
  timeout:
    description:
      - Timeout in seconds for each request to the Docker API.
    type: int
    default: 60
requirements:
  - docker (the Docker SDK for Python) >= 7.0
notes:
  - Every failure returns C(msg) for people and C(error), a structured error with C(code),
    C(category), C(severity), C(message), C(details), C(suggested_actions), C(retryable) and
    C(timestamp), for machines. See the collection's C(docs/errors.md).
"""

    EVENTS = r"""
options: {}
notes:
  - The module returns C(argus_events), a list of C({type, timestamp, project, run_id, data}),
    also when it fails. The C(argusai.resilience.argus_events) callback writes them as JSON lines.
"""

    PROJECT = r"""
options:
  project:
    description:
      - The E2E project, as in the C(argusai.project) label. Must match V(^[a-z0-9][a-z0-9_.-]{0,62}$).
      - The circuit breaker is kept per host and project.
    type: str
    required: true
"""
