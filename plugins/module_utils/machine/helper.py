# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A short-lived helper container that looks at the daemon's machine from inside it.

When the daemon runs on another machine, the checks that look at the machine itself run in a
helper container there, with the host's view:

* ``network_mode: host``: its ``/proc/net/{tcp,udp}{,6}`` list the sockets of the host's network
  namespace (the one published ports are bound in);
* the paths to measure bind-mounted read-only: ``df`` of them is the host's file systems.

It does not share the host's process namespace and needs no privilege, so the pids behind
sockets stay unknown (the port holders say so). The image (``probe_image``) must already be on
that daemon (it is never pulled) and have ``sh``, ``cat`` and ``df`` (busybox or any distribution
image). The helper carries the collection's labels (``argusai.service=machine-check``) and is
removed before :meth:`MachineHelper.run` returns, on failure too. Each of its at most six
Docker requests is bounded by the client's timeout.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import APIError, ImageNotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    classify,
    from_exception,
    root_cause_message,
)
from ansible_collections.argusai.resilience.plugins.module_utils.labels import new_run_id, resource_labels

SERVICE = "machine-check"
# Labels need a project; a port resolution may have none.
NO_PROJECT = "argusai"
SOCKET_TABLES = ("tcp", "udp", "tcp6", "udp6")
_SOCKETS_SCRIPT = (
    'for t in tcp udp; do echo "@@ $t"; cat /proc/net/$t || exit 3; done; '
    'for t in tcp6 udp6; do [ -e /proc/net/$t ] || continue; echo "@@ $t"; cat /proc/net/$t || exit 3; done'
)
_MOUNT_ROOT = "/argus-host"


class HelperUnavailable(Exception):
    """The helper could not run or answer; the check that needed it is skipped for this reason."""


class MachineHelper:
    """Runs helper containers through ``api`` (a docker.APIClient) with ``image``."""

    def __init__(self, api: Any, image: str, project: str | None = None, run_id: str | None = None) -> None:
        self.api = api
        self.image = image
        self.project = project or NO_PROJECT
        self.run_id = run_id or new_run_id()

    def socket_tables(self) -> dict[str, str]:
        """``/proc/net/<table>`` text of the host network namespace, by table (tcp, udp, tcp6, udp6)."""
        tables: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in self.run(_SOCKETS_SCRIPT).splitlines():
            if line.startswith("@@ "):
                current = tables.setdefault(line[3:].strip(), [])
            elif current is not None:
                current.append(line)
        if not all(tables.get(table) for table in ("tcp", "udp")):
            raise HelperUnavailable(f"the helper ({self.image}) printed no socket table")
        return {table: "\n".join(lines) for table, lines in tables.items()}

    def disk_usage(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """``path → (total, free)`` bytes of each path's file system on the daemon's machine.

        ``free`` is what an unprivileged writer gets (``df``'s Available, as ``shutil.disk_usage``).
        """
        targets = {f"{_MOUNT_ROOT}/{index}": path for index, path in enumerate(paths)}
        # one df per path: with several, busybox names the first mount of a device for all of them
        script = f'for p in {" ".join(targets)}; do echo "@@ $p"; df -Pk "$p" || exit 3; done'
        usage: dict[str, tuple[int, int]] = {}
        current: str | None = None
        for line in self.run(script, mounts=[(path, target) for target, path in targets.items()]).splitlines():
            fields = line.split()
            if line.startswith("@@ "):
                current = targets.get(line[3:].strip())
            # <file system, may hold spaces> 1024-blocks Used Available Capacity <mount point>
            elif current and len(fields) >= 6 and fields[-5].isdigit() and fields[-3].isdigit():
                usage[current] = (int(fields[-5]) * 1024, int(fields[-3]) * 1024)
        missing = [path for path in paths if path not in usage]
        if missing:
            raise HelperUnavailable(f"df in the helper ({self.image}) reported nothing for {', '.join(missing)}")
        return usage

    def run(self, script: str, mounts: Iterable[tuple[str, str]] = ()) -> str:
        """Run ``sh -c script`` in a helper with the host's network and ``mounts`` (source, target) read-only.

        Returns its standard output. Raises :class:`HelperUnavailable` when it cannot run or fails,
        a classified ArgusError when the daemon itself fails.
        """
        try:
            self.api.inspect_image(self.image)
        except ImageNotFound:
            raise HelperUnavailable(
                f"the probe image {self.image} is not present on that daemon (it is never pulled; set probe_image "
                "to an image it has, with sh, cat and df)"
            ) from None
        except Exception as exc:  # noqa: BLE001 - split by _unavailable
            raise self._unavailable(exc, "inspect the probe image") from exc
        name = f"argus-{SERVICE}-{secrets.token_hex(4)}"
        try:
            host_config = self.api.create_host_config(
                network_mode="host",
                mounts=[{"Type": "bind", "Source": src, "Target": dst, "ReadOnly": True} for src, dst in mounts],
            )
            created = self.api.create_container(
                self.image,
                command=[script],
                entrypoint=["sh", "-c"],
                name=name,
                labels=resource_labels(self.project, self.run_id, service=SERVICE),
                host_config=host_config,
            )
            self.api.start(created["Id"])
            return self._output(created["Id"])
        except HelperUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - split by _unavailable
            raise self._unavailable(exc, "run the machine-check helper") from exc
        finally:
            self._remove(name)

    def _output(self, container_id: str) -> str:
        try:
            status = self.api.wait(container_id, timeout=self.api.timeout)
        except Exception as exc:  # noqa: BLE001 - a helper that does not end is the helper's failure
            if classify(exc) == ("DOCKER_UNAVAILABLE", "timeout"):
                raise HelperUnavailable(
                    f"the helper ({self.image}) did not finish within {self.api.timeout} s"
                ) from exc
            raise
        code = status.get("StatusCode") if isinstance(status, dict) else status
        if code != 0:
            errors = self.api.logs(container_id, stdout=False, stderr=True).decode("utf-8", "replace").strip()
            last = errors.splitlines()[-1] if errors else "no output"
            raise HelperUnavailable(f"the helper ({self.image}) exited with {code}: {last}")
        return self.api.logs(container_id, stdout=True, stderr=False).decode("utf-8", "replace")

    def _unavailable(self, exc: Exception, step: str) -> Exception:
        """The daemon answered but refused or failed the helper (a bad mount, host networking forbidden, the
        OCI runtime failing): it is skipped with the daemon's words. A daemon that does not answer raises."""
        if isinstance(exc, APIError):
            return HelperUnavailable(f"the daemon refused the helper ({self.image}): {root_cause_message(exc)}")
        return from_exception(exc, step)

    def _remove(self, name: str) -> None:
        """Remove the helper by name (also when creating it timed out before its id came back)."""
        try:
            self.api.remove_container(name, force=True)
        except Exception:  # noqa: BLE001 - gone already, or the daemon is down: orphan cleanup finds the label
            pass
