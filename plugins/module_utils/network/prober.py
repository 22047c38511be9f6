# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the probes in Docker: where (the test container or a helper), and one exec per probe.

:meth:`Prober.probe_kit` detects the test container's tools and, when they do not make a probe,
starts a helper container in its network namespace (labeled, removed by
:meth:`Prober.remove_helper`). :meth:`Prober.probe` runs one probe (``probe_scripts``) and reads
its output (``parsers``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.docker_client import APIError, ImageNotFound, NotFound
from ansible_collections.argusai.resilience.plugins.module_utils.errors import (
    INFRASTRUCTURE_FAILURE_CODES,
    classify,
    from_exception,
    root_cause_message,
)
from ansible_collections.argusai.resilience.plugins.module_utils.labels import new_run_id, resource_labels
from ansible_collections.argusai.resilience.plugins.module_utils.network.options import VerifyOptions
from ansible_collections.argusai.resilience.plugins.module_utils.network.parsers import (
    EXEC_NOT_RUNNABLE,
    Connection,
    Resolution,
    ipv4,
    parse_connection,
    parse_resolution,
    parse_tools,
    split_probe_output,
)
from ansible_collections.argusai.resilience.plugins.module_utils.network.probe_scripts import (
    CONNECT,
    DETECT_SCRIPT,
    RESOLVE,
    RESOLVE_CONNECT,
    ProbeKit,
    ToolSet,
    choose_methods,
    missing_tools_reason,
    probe_command,
)


class ProbeHung(Exception):
    """A probe exec whose output did not end within the API timeout."""


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    elapsed_ms: float


class Prober:
    """The probes of one verification, run through ``api`` (a docker.APIClient)."""

    def __init__(self, api: Any, options: VerifyOptions) -> None:
        self.api = api
        self.options = options
        self._helper_id: str | None = None

    # -- execs ------------------------------------------------------------------------------

    def _exec(self, container_id: str, cmd: list[str]) -> ExecResult:
        """Run ``cmd`` in the container; the read is bounded by the client's API timeout."""
        start = time.monotonic()
        exec_id = self.api.exec_create(container_id, cmd, stdout=True, stderr=True)["Id"]
        try:
            out, err = self.api.exec_start(exec_id, demux=True)
        except Exception as exc:
            # The daemon took the exec but its output did not end in time: the probe hangs in
            # the container (e.g. no `timeout` tool there), which says nothing about the host.
            if classify(exc) == ("DOCKER_UNAVAILABLE", "timeout"):
                raise ProbeHung(f"the probe did not finish within {self.api.timeout} s") from exc
            raise
        exit_code = self.api.exec_inspect(exec_id).get("ExitCode")
        elapsed = (time.monotonic() - start) * 1000.0
        return ExecResult(
            exit_code if isinstance(exit_code, int) else -1,
            (out or b"").decode("utf-8", "replace"),
            (err or b"").decode("utf-8", "replace"),
            elapsed,
        )

    def _guarded_exec(self, container_id: str, cmd: list[str]) -> ExecResult | str:
        """Run an exec; a failure that is the container's, not the Docker host's, becomes its reason.

        The container may be gone (404) or stopped (409) by now: the probe reports it for the
        target. An unusable Docker host (unreachable, 5xx) is raised for the whole run.
        """
        try:
            return self._exec(container_id, cmd)
        except ProbeHung as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - split below: the container's fault or the host's
            client_side = isinstance(exc, NotFound) or (isinstance(exc, APIError) and exc.is_client_error())
            code, _cause = classify(exc)
            if not client_side and (code in INFRASTRUCTURE_FAILURE_CODES or code == "DOCKER_UNAVAILABLE"):
                raise from_exception(exc, f"exec {cmd[0]} in {container_id[:12]}") from exc
            return root_cause_message(exc)

    # -- tool detection and the helper container --------------------------------------------

    def detect_tools(self, container_id: str) -> ToolSet:
        result = self._guarded_exec(container_id, ["sh", "-c", DETECT_SCRIPT])
        if isinstance(result, ExecResult) and result.exit_code == 0 and "end" in result.stdout.split():
            return parse_tools(result.stdout, "sh")
        # No shell: a distroless python image can still be probed with python alone.
        for python in ("python3", "python"):
            result = self._guarded_exec(container_id, [python, "-c", "print('ok')"])
            if isinstance(result, ExecResult) and result.exit_code == 0:
                return ToolSet({python: python}, shell=None)
        return ToolSet({}, shell=None)

    def _start_helper(self, test_container: dict[str, Any]) -> tuple[str | None, str | None]:
        """Start the helper container; returns (id, None) or (None, why it cannot run)."""
        image = self.options.probe_image
        try:
            self.api.inspect_image(image)
        except ImageNotFound:
            return None, f"the probe image {image} is not present on the Docker host (it is never pulled)"
        run_id = self.options.run_id or new_run_id()
        labels = resource_labels(self.options.project, run_id, service="network-probe")
        name = f"argus-netprobe-{self.options.project}-{secrets.token_hex(3)}"
        lifetime = int(self.options.wait_seconds + 4 * self.options.probe_timeout + 120)
        try:
            host_config = self.api.create_host_config(network_mode=f"container:{test_container['Id']}")
            created = self.api.create_container(
                image,
                command=[str(lifetime)],
                entrypoint=["sleep"],
                name=name,
                labels=labels,
                host_config=host_config,
            )
            self._helper_id = created["Id"]
            self.api.start(self._helper_id)
        except Exception as exc:  # noqa: BLE001 - the helper is optional: say why it could not run
            code, _cause = classify(exc)
            if code in INFRASTRUCTURE_FAILURE_CODES or code == "DOCKER_UNAVAILABLE":
                raise from_exception(exc, "start the network probe helper") from exc
            return None, f"the probe helper ({image}) did not start: {root_cause_message(exc)}"
        helper_id = self._helper_id
        return helper_id, None

    def remove_helper(self) -> None:
        helper_id = self._helper_id
        if helper_id:
            try:
                self.api.remove_container(helper_id, force=True)
            except NotFound:
                pass
            self._helper_id = None

    def probe_kit(self, test_container: dict[str, Any]) -> tuple[ProbeKit | None, str | None]:
        """Where and with what the probes run; (None, why) when nowhere."""
        name = (test_container.get("Name") or "").lstrip("/") or self.options.container
        tools = self.detect_tools(test_container["Id"])
        methods = choose_methods(tools)
        if methods:
            return ProbeKit(test_container["Id"], name, "test_container", tools, *methods), None
        reason = f"the test container {name} has {missing_tools_reason(tools)}"
        helper_id, why = self._start_helper(test_container)
        if helper_id is None:
            return None, f"{reason}, and {why}"
        helper_tools = self.detect_tools(helper_id)
        methods = choose_methods(helper_tools)
        if methods is None:
            return (
                None,
                f"{reason}, and the probe image {self.options.probe_image} has {missing_tools_reason(helper_tools)}",
            )
        return ProbeKit(helper_id, name, "helper_container", helper_tools, *methods), None

    # -- probes -----------------------------------------------------------------------------

    def probe(
        self, kit: ProbeKit, mode: str, target: str, port: int | None = None, allowed: list[str] | tuple = ()
    ) -> tuple[Resolution | None, str | None, Connection | None]:
        """One exec of the probe in ``mode`` (``probe_scripts``): ``target`` is a name, or an address to connect to.

        Returns the resolution (None in connect mode), the address connected to (None when no
        answer was allowed) and the connection outcome (None when nothing was connected to).
        """
        timeout = self.options.probe_timeout
        result = self._guarded_exec(kit.container_id, probe_command(kit, mode, target, timeout, port, allowed))
        failed = f"the probe exec failed: {result}" if isinstance(result, str) else None
        if mode == CONNECT:
            if failed:
                return None, target, Connection("error", error=failed)
            connection = parse_connection(
                kit.connector, result.exit_code, result.stdout, result.stderr, timeout, result.elapsed_ms
            )
            return None, target, connection
        if failed:
            return Resolution("error", error=failed), None, None
        if result.exit_code in EXEC_NOT_RUNNABLE:
            return parse_resolution(kit.resolver, result.exit_code, result.stdout, result.stderr), None, None
        dns_out, dns_rc, picked, rest = split_probe_output(result.stdout)
        resolution = parse_resolution(kit.resolver, dns_rc, dns_out, result.stderr)
        if picked is None or resolution.state != "resolved":
            return resolution, None, None
        return resolution, picked, parse_connection(kit.connector, 0, rest, result.stderr, timeout, result.elapsed_ms)

    def resolve(self, kit: ProbeKit, host: str) -> Resolution:
        """Resolve ``host`` in the probe container (one exec; none for an IPv4 address)."""
        if ipv4(host):
            return Resolution("resolved", [host])
        resolution, _picked, _connection = self.probe(kit, RESOLVE, host)
        return resolution

    def connect(self, kit: ProbeKit, address: str, port: int) -> Connection:
        """Open a TCP connection to ``address:port`` from the probe container (one exec)."""
        _resolution, _picked, connection = self.probe(kit, CONNECT, address, port)
        return connection

    def resolve_and_connect(
        self, kit: ProbeKit, host: str, port: int, allowed: list[str]
    ) -> tuple[Resolution, str | None, Connection | None]:
        """One exec: resolve ``host``, connect only to an answer that is in ``allowed``."""
        return self.probe(kit, RESOLVE_CONNECT, host, port, allowed)
