"""Command-line choices for the scripts' typer options: typer checks a value against them, and an unknown value
gets typer's usage error listing the valid ones."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


def choices(name: str, values: Iterable[str]) -> type[Enum]:
    """A str Enum whose members are the values themselves (so `option.value` is what was typed)."""
    return Enum(name, {value: value for value in values}, type=str)


# a yes/no option given a value (--skip-bad=false), as project.yml passes its boolean vars
Switch = choices("Switch", ("true", "false"))
