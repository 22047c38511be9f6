# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load an ``e2e.yaml``: parse, apply the sections given as variables, validate, fill defaults.

Every problem of a configuration is reported in one ``INVALID_INPUT`` whose ``details.errors``
name each field by its path (e.g. ``services[0].ports[1].host_port``) with its value; the first
one is also ``details.field``. The result has every default filled, so the role reads flags
without ``default()`` filters.

Pure Python (stdlib + PyYAML when text is parsed): no Docker, no Ansible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.config.plan import (
    containers,
    docker_name,
    guard_item,
    setup_plan,
)
from ansible_collections.argusai.resilience.plugins.module_utils.config.schema import CONFIG, SECTIONS
from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError, invalid_input
from ansible_collections.argusai.resilience.plugins.module_utils.guard.spec import spec_from_params
from ansible_collections.argusai.resilience.plugins.module_utils.labels import new_run_id
from ansible_collections.argusai.resilience.plugins.module_utils.options import Problems, validate_into


def _check_cross_fields(config: dict[str, Any], problems: Problems) -> None:
    """Rules across fields: unique names and host ports, backoff bounds (values with problems are skipped)."""
    names: dict[str, str] = {}
    docker_names: dict[str, str] = {}
    host_ports: dict[tuple[int, str], str] = {}
    for path, container in containers(config):
        for name in [container["name"], *(container["aliases"] or [])]:
            if name is None:
                continue
            if name in names:
                problems.add(f"{path}.name", name, f"is already used by {names[name]}")
            names[name] = path
    # Default Docker names differ when service names do; a fixed container_name may clash with either.
    for path, container in containers(config):
        if container["name"] is None or not config.get("project"):
            continue
        name = docker_name(container, config["project"])
        if container.get("container_name") and name in docker_names:
            problems.add(f"{path}.container_name", name, f"is already the Docker name of {docker_names[name]}")
        docker_names.setdefault(name, path)
        for index, port in enumerate(container["ports"] or []):
            if not port or port["host_port"] is None or port["protocol"] is None:
                continue
            key = (port["host_port"], port["protocol"])
            where = f"{path}.ports[{index}].host_port"
            if key in host_ports:
                problems.add(where, port["host_port"], f"is already requested by {host_ports[key]}")
            host_ports[key] = where
    tuning = (config["resilience"] or {}).get("container") or {}
    initial, largest = tuning.get("backoff_initial_ms"), tuning.get("backoff_max_ms")
    if initial is not None and largest is not None and largest < initial:
        problems.add("resilience.container.backoff_max_ms", largest, f"must be >= backoff_initial_ms ({initial})")


def normalize(raw: Any, source: str | None = None) -> dict[str, Any]:
    """Validate a whole configuration (a parsed ``e2e.yaml``); return it with every default filled.

    ``source`` (the file's name) prefixes the error message.
    """
    if not isinstance(raw, dict):
        shown = raw if isinstance(raw, (str, int, float, bool)) else type(raw).__name__
        raise invalid_input(source or "config", shown, "must be a mapping of sections")
    problems = Problems()
    config = validate_into(CONFIG, raw, "", problems) or {}
    if problems.items and (not isinstance(config.get("resilience"), dict) or config.get("project") is None):
        problems.raise_if_any(source)  # without these sections nothing else can be checked
    if config["network"] is not None and config["network"]["name"] is None:
        config["network"]["name"] = f"argus-{config['project']}"
    _check_cross_fields(config, problems)
    tuning = config["resilience"].get("container")
    if tuning and not tuning["restart_on_failure"]:
        tuning["max_restarts"] = 0
    # The guard's own rules (memory >= 6m, env names, ...), reported with this file's field paths;
    # a field that has a problem already is not reported twice.
    if config["network"] is not None and None not in config["resilience"].values():
        for path, container in containers(config):
            try:
                spec_from_params(guard_item(container, config), prefix=f"{path}.")
            except ArgusError as exc:
                known = {problem["field"] for problem in problems.items}
                problems.items.extend(p for p in exc.details.get("errors") or [] if p["field"] not in known)
    problems.raise_if_any(source)
    return config


def parse_yaml(text: str, source: str = "e2e.yaml") -> Any:
    """Parse YAML text; a syntax error is INVALID_INPUT naming the line."""
    import yaml  # PyYAML: the controller parses configuration files (a managed host needs none)

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise invalid_input(where, None, f"is not valid YAML ({getattr(exc, 'problem', None) or exc})") from None


def merge(file_config: Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Sections given as variables replace the file's sections (``None`` = not given)."""
    merged = dict(file_config or {})
    merged.update({key: value for key, value in overrides.items() if value is not None})
    return merged


def _deep_merge(base: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base) if isinstance(base, Mapping) else {}
    for key, value in changes.items():
        merged[key] = _deep_merge(merged.get(key), value) if isinstance(value, Mapping) else value
    return merged


def apply_overrides(
    config: Mapping[str, Any],
    container_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    resilience_overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The changes a rerun asks for without editing the file: per container (by service name) and to
    the ``resilience`` section, key by key. A name no container has is INVALID_INPUT."""
    result = dict(config)
    if resilience_overrides:
        result["resilience"] = _deep_merge(result.get("resilience"), resilience_overrides)
    if not container_overrides:
        return result
    problems = Problems()
    known = set()
    for section in ("mocks", "services", "test"):
        value = result.get(section)
        items = value if isinstance(value, list) else [value]
        updated = []
        for item in items:
            if isinstance(item, Mapping) and item.get("name") in container_overrides:
                known.add(item["name"])
                item = dict(item, **container_overrides[item["name"]])
            updated.append(item)
        result[section] = updated if isinstance(value, list) else updated[0]
    for name in container_overrides:
        if name not in known:
            problems.add(f"container_overrides.{name}", name, "no container of the configuration has this name")
    problems.raise_if_any()
    return result


def load_config(
    text: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    source: str = "e2e.yaml",
    new_run_id: Callable[[], str] | None = None,
    container_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    resilience_overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Parse ``text`` (may be ``None``), apply the sections in ``overrides``, then the container and
    resilience overrides (:func:`apply_overrides`), validate, fill the run id."""
    raw = parse_yaml(text, source) if text is not None else {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid_input(source, type(raw).__name__, "must be a mapping of sections (project, services, ...)")
    merged = apply_overrides(merge(raw, overrides or {}), container_overrides, resilience_overrides)
    config = normalize(merged, source if text is not None else None)
    if config["run_id"] is None and new_run_id is not None:
        config["run_id"] = new_run_id()
    return config


def read_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``argus_config`` result for its checked ``params``: the config, its run id and the plan.

    ``path`` is read here (on the controller); ``content`` is the file's text given directly.
    """
    if params["path"] and params["content"] is not None:
        raise invalid_input("content", "<content>", "is mutually exclusive with path")
    text, source = params["content"], params["content_source"]
    if params["path"]:
        source = params["path"]
        try:
            with open(params["path"], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise invalid_input("path", params["path"], f"cannot be read ({exc.strerror})") from None
    generated: list[str] = []

    def generate() -> str:
        generated.append(new_run_id())
        return generated[0]

    config = load_config(
        text,
        {key: params[key] for key in SECTIONS},
        source=source,
        new_run_id=generate,
        container_overrides=params["container_overrides"],
        resilience_overrides=params["resilience_overrides"],
    )
    if params["require_containers"] and not containers(config):
        raise invalid_input(
            "config",
            None,
            "holds no container: give a configuration file (argus_config_file, or e2e.yaml in the current "
            "directory) or the sections as variables (argus_services, argus_mocks, argus_test)",
        )
    return {
        "changed": False,
        "config": config,
        "project": config["project"],
        "run_id": config["run_id"],
        "run_id_generated": bool(generated),
        "plan": setup_plan(config),
    }
