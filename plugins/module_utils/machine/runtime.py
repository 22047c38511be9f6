# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which container runtime answers on the Docker API: Docker Engine or Podman, and its version.

Read from ``GET /version`` (``docker version``): Podman's Docker-compatible API lists a component
named ``Podman Engine``; Docker Engine lists ``Engine``. ``Platform.Name`` is what the vendor put
there (``Docker Engine - Community``; empty for Debian's docker.io; ``linux/amd64/debian-12`` for
Podman).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOCKER, PODMAN = "docker", "podman"
NAMES = {DOCKER: "Docker Engine", PODMAN: "Podman"}


def runtime_of(version: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{runtime: docker|podman, runtime_name, runtime_version, platform}`` of a ``/version`` answer."""
    version = version or {}
    components = [c for c in version.get("Components") or [] if isinstance(c, Mapping)]
    podman = next((c for c in components if "podman" in str(c.get("Name", "")).lower()), None)
    if podman is not None:
        runtime, found = PODMAN, podman.get("Version")
    else:
        engine = next((c for c in components if c.get("Name") == "Engine"), {})
        runtime, found = DOCKER, engine.get("Version")
    return {
        "runtime": runtime,
        "runtime_name": NAMES[runtime],
        "runtime_version": found or version.get("Version"),
        "platform": (version.get("Platform") or {}).get("Name") or None,
    }
