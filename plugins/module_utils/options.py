# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ArgusAI
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One declaration per option: :class:`Option`, and everything derived from it.

An option is declared once (name, type, default, bounds, choices, description) in a table
(``guard/options.py`` for containers, ``module_options.py`` for the rest). From the tables come:

* :func:`argument_spec`: a module's ``AnsibleModule`` argument spec;
* :func:`check`: the checks Ansible's argument spec cannot express (bounds, patterns, shapes),
  every problem of the input reported in one ``INVALID_INPUT`` (``details.errors``);
* :func:`validate`: strict validation of YAML data (an ``e2e.yaml``) with the same rules, defaults
  filled in;
* :func:`doc_options`: the ``options`` of a module's DOCUMENTATION (``scripts/gen_docs.py``
  writes them into ``plugins/doc_fragments/module_options.py``; a test fails when it is stale).

Descriptions use Ansible's doc markup (``O()``, ``V()``, ``C()``); :func:`plain` turns it into
Markdown for the docs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ansible_collections.argusai.resilience.plugins.module_utils.errors import ArgusError

# Shapes that a plain Ansible type does not say: "command" (a string or a list of strings),
# "memory" (bytes, or a size such as 64m), "map" (names to strings, numbers or booleans).
FORMS = ("command", "memory", "map")
MEMORY_PATTERN = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*[bkmg]?b?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Option:
    """One option of a module, a container or a configuration section.

    ``type`` is Ansible's (str, int, float, bool, list, dict, raw, path). ``suboptions`` belong to
    a dict, or to each element of a list of dicts. ``minimum``/``maximum`` bound numbers
    (``exclusive_minimum``: strictly above). ``pattern`` applies to strings and to the elements of
    a list of strings. ``shorthand``: in configuration files, a scalar given where the dict is
    expected means ``{shorthand: value}``.
    """

    name: str
    type: str
    description: str | tuple[str, ...]
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    elements: str | None = None
    suboptions: tuple[Option, ...] = ()
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    pattern: re.Pattern | None = None
    form: str | None = None
    shorthand: str | None = None
    no_log: bool = False
    # A container is recreated when this option changes (its value is part of the config hash).
    recreate: bool = False
    # Where a container option's value goes as is in the Docker API: "create.<argument>" of
    # create_container or "host_config.<argument>" of create_host_config (None: handled in code).
    docker: str | None = None

    def but(self, **changes: Any) -> Option:
        """A copy with some attributes changed (e.g. another default where a table is reused)."""
        return replace(self, **changes)

    @property
    def lines(self) -> list[str]:
        return [self.description] if isinstance(self.description, str) else list(self.description)


def pick(options: Sequence[Option], *names: str) -> tuple[Option, ...]:
    """The named options of a table, in the order given (a KeyError names a missing one)."""
    table = {option.name: option for option in options}
    return tuple(table[name] for name in names)


def defaults(options: Sequence[Option]) -> dict[str, Any]:
    return {option.name: option.default for option in options}


# ---------------------------------------------------------------------------------------------
# Ansible: argument spec and documentation
# ---------------------------------------------------------------------------------------------


def _ansible_keys(option: Option) -> dict[str, Any]:
    """What the argument spec and the documentation both say of an option: type, required, default, ..."""
    keys: dict[str, Any] = {"type": option.type}
    if option.required:
        keys["required"] = True
    if option.default is not None:
        keys["default"] = list(option.default) if isinstance(option.default, tuple) else option.default
    if option.choices:
        keys["choices"] = list(option.choices)
    if option.elements:
        keys["elements"] = option.elements
    return keys


def argument_spec(options: Sequence[Option]) -> dict[str, Any]:
    """The ``AnsibleModule`` argument spec of ``options``."""
    spec: dict[str, Any] = {}
    for option in options:
        entry = _ansible_keys(option)
        if option.suboptions:
            entry["options"] = argument_spec(option.suboptions)
        if option.no_log:
            entry["no_log"] = True
        spec[option.name] = entry
    return spec


def number_text(value: float) -> str:
    """``5``, ``0.5``, ``31536000`` (never ``3.1536e+07``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def rules(option: Option) -> list[str]:
    """The option's bounds and pattern as short phrases (``>= 1``, ``<= 100``, ``matches ...``)."""
    found = []
    if option.minimum is not None:
        found.append(f"{'>' if option.exclusive_minimum else '>='} {number_text(option.minimum)}")
    if option.maximum is not None:
        found.append(f"<= {number_text(option.maximum)}")
    if option.pattern is not None:
        found.append(f"matches C({option.pattern.pattern})")
    return found


def doc_options(options: Sequence[Option], seen: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``options`` mapping of a module's DOCUMENTATION for ``options``.

    An option met twice (the guard's options, and again under ``containers``) is the same dict
    object both times, so that YAML writes it once (an anchor and an alias).
    """
    seen = {} if seen is None else seen
    docs: dict[str, Any] = {}
    for option in options:
        if id(option) in seen:
            docs[option.name] = seen[id(option)]
            continue
        description = option.lines
        bounds = [rule for rule in rules(option) if not rule.startswith("matches")]
        if bounds:
            description = [*description, "Must be " + " and ".join(bounds) + "."]
        if option.pattern is not None:
            description = [*description, f"Must match C({option.pattern.pattern})."]
        if option.recreate:
            description = [*description, "Changing it recreates the container."]
        entry: dict[str, Any] = {"description": description, **_ansible_keys(option)}
        if option.suboptions:
            entry["suboptions"] = doc_options(option.suboptions, seen)
        docs[option.name] = seen[id(option)] = entry
    return docs


_MARKUP = re.compile(r"\b(?:O|V|C|E|RV|M)\(([^)]*)\)")


def plain(text: str) -> str:
    """Ansible doc markup to Markdown: ``O(x)``, ``V(x)``, ``C(x)`` ... become ```x```."""
    return _MARKUP.sub(lambda match: f"`{match.group(1)}`", text)


# ---------------------------------------------------------------------------------------------
# Validation: every problem at once
# ---------------------------------------------------------------------------------------------

_TYPE_NAMES = {
    "str": "a string",
    "path": "a path (string)",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "list": "a list",
    "dict": "a mapping",
    "command": "a string or a list of strings",
    "memory": "bytes (an integer) or a size such as 64m",
    "map": "a mapping of names to strings, numbers or booleans",
}


class Problems:
    """The problems found in one input, each ``{field, value, reason}``."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, value: Any, reason: str) -> None:
        shown = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        self.items.append({"field": field_name, "value": shown, "reason": reason})

    def raise_if_any(self, source: str | None = None) -> None:
        """Raise INVALID_INPUT naming every problem (``details.errors``), the first one in ``field``."""
        if not self.items:
            return
        first = self.items[0]
        lines = [f"{item['field']}: {item['reason']} (got {item['value']!r})" for item in self.items]
        where = f"{source}: " if source else ""
        if len(lines) == 1:
            message = where + lines[0]
        else:
            message = f"{where}{len(lines)} problems: " + "; ".join(lines)
        raise ArgusError(
            "INVALID_INPUT",
            message,
            {"field": first["field"], "value": first["value"], "errors": list(self.items)},
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(option: Option, value: Any, path: str, problems: Problems) -> bool:
    if not math.isfinite(value):
        problems.add(path, value, "must be a finite number")
        return False
    if option.minimum is not None:
        if option.exclusive_minimum and value <= option.minimum:
            problems.add(path, value, f"must be > {number_text(option.minimum)}")
            return False
        if value < option.minimum:
            problems.add(path, value, f"must be >= {number_text(option.minimum)}")
            return False
    if option.maximum is not None and value > option.maximum:
        problems.add(path, value, f"must be <= {number_text(option.maximum)}")
        return False
    return True


def _wrong(option: Option, kind: str, value: Any, path: str, problems: Problems) -> None:
    shown = "<hidden>" if option.no_log else value
    problems.add(path, shown, f"must be {_TYPE_NAMES[kind]}, not {type(value).__name__}")


def _form(option: Option, value: Any, path: str, problems: Problems, coerce: bool) -> Any:
    if option.form == "command":
        if isinstance(value, str) and value.strip():
            return value
        if not isinstance(value, list) or not value:
            _wrong(option, "command", value, path, problems)
            return None
        words = (str, int, float) if coerce else (str,)  # Ansible passes numbers where YAML files must quote
        bad = [(index, item) for index, item in enumerate(value) if not isinstance(item, words)]
        for index, item in bad:
            problems.add(f"{path}[{index}]", item, "must be a string")
        return None if bad else [str(item) for item in value]
    if option.form == "memory":
        if _is_int(value) and value >= 1 or isinstance(value, str) and MEMORY_PATTERN.match(value):
            return value
        _wrong(option, "memory", value, path, problems)
        return None
    # "map": Docker wants strings; booleans are spelled as the shell would (true/false).
    if not isinstance(value, Mapping):
        _wrong(option, "map", "<hidden>" if option.no_log else value, path, problems)
        return None
    result = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            problems.add(path, key, "keys must be non-empty strings")
        elif item is None:
            result[key] = ""
        elif not isinstance(item, (str, int, float, bool)):
            problems.add(
                _join(path, key), "<hidden>", f"must be a string, number or boolean, not {type(item).__name__}"
            )
        else:
            result[key] = str(item).lower() if isinstance(item, bool) else str(item)
    return result


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _from_text(kind: str, value: Any) -> Any:
    """``"8080"`` as 8080, ``"yes"`` as True (Ansible's conversion of module arguments), else ``value``."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if kind == "bool":
        return True if text in _TRUE else False if text in _FALSE else value
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return value


def _scalar(option: Option, kind: str, value: Any, path: str, problems: Problems, coerce: bool = False) -> Any:
    """Check one non-container value of type ``kind``; the value, or None after a problem."""
    if coerce and kind in ("int", "float", "bool"):
        value = _from_text(kind, value)
    if kind in ("str", "path"):
        if not isinstance(value, str):
            _wrong(option, kind, value, path, problems)
            return None
        if option.pattern is not None and not option.pattern.match(value):
            problems.add(path, value, f"must match {option.pattern.pattern}")
            return None
    elif kind in ("int", "float"):
        if not (_is_int(value) if kind == "int" else _is_number(value)):
            _wrong(option, kind, value, path, problems)
            return None
        if not _check_number(option, value, path, problems):
            return None
    elif kind == "bool" and not isinstance(value, bool):
        _wrong(option, kind, value, path, problems)
        return None
    if option.choices and value not in option.choices:
        problems.add(path, value, f"must be one of {', '.join(map(str, option.choices))}")
        return None
    return value


def _suboptions(option: Option, value: Any, path: str, problems: Problems, coerce: bool) -> dict[str, Any] | None:
    if option.shorthand is not None and not isinstance(value, Mapping):
        value = {option.shorthand: value}
    if not isinstance(value, Mapping):
        _wrong(option, "dict", value, path, problems)
        return None
    known = {sub.name for sub in option.suboptions}
    for key in value:
        if key not in known:
            problems.add(_join(path, str(key)), value[key], f"unknown key (allowed: {', '.join(sorted(known))})")
    return {
        sub.name: validate_value(sub, value.get(sub.name), _join(path, sub.name), problems, coerce)
        for sub in option.suboptions
    }


def validate_value(option: Option, value: Any, path: str, problems: Problems, coerce: bool = False) -> Any:
    """``value`` checked against ``option`` (problems are added, never raised); defaults filled.

    ``coerce``: accept numbers and booleans written as text, as Ansible's argument spec does (YAML files
    are strict).
    """
    if value is None:
        if option.required:
            problems.add(path, None, "is required")
            return None
        value = option.default
        if value is None:
            return None
        if isinstance(value, tuple):
            value = list(value)
    if option.form is not None:
        return _form(option, value, path, problems, coerce)
    if option.type == "dict":
        if option.suboptions:
            return _suboptions(option, value, path, problems, coerce)
        if not isinstance(value, Mapping):
            _wrong(option, "dict", value, path, problems)
            return None
        return dict(value)
    if option.type == "list":
        if not isinstance(value, (list, tuple)):
            _wrong(option, "list", value, path, problems)
            return None
        result = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if option.suboptions:
                result.append(_suboptions(option, item, where, problems, coerce))
            elif option.elements:
                result.append(_scalar(option, option.elements, item, where, problems, coerce))
            else:
                result.append(item)
        return result
    if option.type == "raw":
        return value
    return _scalar(option, option.type, value, path, problems, coerce)


def validate_into(
    options: Sequence[Option], values: Any, path: str, problems: Problems, coerce: bool = False
) -> dict[str, Any] | None:
    """Validate a mapping against ``options`` (unknown keys are problems too); defaults filled.

    The result holds None where a value had a problem.
    """
    return _suboptions(Option(path, "dict", "", suboptions=tuple(options)), values, path, problems, coerce)


def validate(options: Sequence[Option], values: Mapping[str, Any], path: str = "", source: str | None = None) -> dict:
    """Strictly validate a mapping (unknown keys included); raise INVALID_INPUT with every problem."""
    problems = Problems()
    result = validate_into(options, values, path, problems)
    problems.raise_if_any(source)
    return result or {}


def check(options: Sequence[Option], params: Mapping[str, Any]) -> None:
    """What Ansible's argument spec leaves to the module (bounds, patterns, shapes) for ``params``.

    Ansible has converted the types already; every remaining problem is reported at once.
    """
    problems = Problems()
    for option in options:
        validate_value(option, params.get(option.name), option.name, problems, coerce=True)
    problems.raise_if_any()
