# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What the Docker modules share besides their options (those are generated per module into
    # module_options.py from the tables in plugins/module_utils).
    DOCUMENTATION = r"""
options: {}
requirements:
  - docker (the Docker SDK for Python) >= 7.0
notes:
  - Every failure returns C(msg) for people and C(error), a structured error with C(code),
    C(category), C(severity), C(message), C(details), C(suggested_actions), C(retryable) and
    C(timestamp), for machines. See the collection's C(docs/errors.md).
  - The module returns C(argus_events), a list of C({type, timestamp, project, run_id, data}),
    also when it fails. The C(argusai.resilience.argus_events) callback writes them as JSON lines.
"""
