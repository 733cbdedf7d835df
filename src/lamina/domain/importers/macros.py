"""Palette macros (`{{ .spectro.var.NAME }}` and friends) in YAML text, translated into
Lamina references on the parsed tree.

Palette substitutes its macros in the text before parsing it, so they often stand unquoted
where YAML reads `{{` as a flow mapping. Each macro is first replaced by a sentinel word,
the text is parsed, and the sentinels in the parsed strings become Lamina references: a
string that was exactly one macro becomes exactly one reference, and so takes the typed
value. Macros Lamina has no equivalent for are put back as written and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamina.domain import paths
from lamina.domain.importers.report import Report

_MACRO = re.compile(r"\{\{-?\s*(\.spectro\.[^{}]*?)\s*-?\}\}")
_VARIABLE = re.compile(r"^\.spectro\.var\.([A-Za-z0-9_-]+)$")
_CLUSTER_NAME = ".spectro.system.cluster.name"
_PARAM_NAME = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class _Macro:
    sentinel: str
    written: str
    expression: str


def param_name(variable: str) -> str:
    """A Palette variable name as a Lamina parameter name (`[A-Za-z_][A-Za-z0-9_]*`)."""
    name = _PARAM_NAME.sub("_", variable)
    return name if name and not name[0].isdigit() else f"_{name}"


def translate(
    text: str,
    parse: Callable[[str], tuple[bool, Any]],
    *,
    path: str,
    report: Report,
    variables: set[str],
) -> tuple[bool, Any]:
    """`text` parsed by `parse` with its macros translated; `path` is where the text is in
    the source. Names of the variables referenced are added to `variables`."""
    macros: list[_Macro] = []
    prefix = _free_prefix(text)

    def stand_in(match: re.Match[str]) -> str:
        macros.append(_Macro(f"{prefix}{len(macros)}x", match.group(0), match.group(1)))
        return macros[-1].sentinel

    parsed_ok, tree = parse(_MACRO.sub(stand_in, text))
    if not parsed_ok:
        return False, None
    walker = _Walker(macros, report, variables)
    return True, walker.node(tree, path)


def _free_prefix(text: str) -> str:
    """A word that does not occur in `text`, to build sentinels from."""
    prefix = "laminamacro"
    while prefix in text:
        prefix += "q"
    return prefix


class _Walker:
    def __init__(self, macros: list[_Macro], report: Report, variables: set[str]) -> None:
        self._macros = macros
        self._report = report
        self._variables = variables

    def node(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            # Keys are strings: the YAML loader refuses others.
            return {
                self.string(k, paths.child(path, k)): self.node(v, paths.child(path, k))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.node(v, paths.child(path, i)) for i, v in enumerate(value)]
        return self.string(value, path) if isinstance(value, str) else value

    def string(self, text: str, path: str) -> str:
        # A literal `${{` in the source is text, not a Lamina reference: escape it.
        result = text.replace("${{", "$${{")
        if result != text:
            self._report.mapped(path, "reference_escaped", "A literal ${{ is kept as text ($${{)")
        for macro in self._macros:
            if macro.sentinel in result:
                result = result.replace(macro.sentinel, self._replacement(macro, path))
        return result

    def _replacement(self, macro: _Macro, path: str) -> str:
        variable = _VARIABLE.match(macro.expression)
        if variable:
            name = param_name(variable.group(1))
            self._variables.add(variable.group(1))
            self._report.mapped(
                path, "variable_reference", f"{macro.written} became ${{{{ params.{name} }}}}"
            )
            return f"${{{{ params.{name} }}}}"
        if macro.expression == _CLUSTER_NAME:
            self._report.mapped(
                path, "system_macro", f"{macro.written} became ${{{{ cluster.name }}}}"
            )
            return "${{ cluster.name }}"
        self._report.unmapped(
            path,
            "macro_unmapped",
            f"{macro.written} has no Lamina equivalent: kept as written, set the value by hand "
            "or make it a parameter",
        )
        return macro.written
