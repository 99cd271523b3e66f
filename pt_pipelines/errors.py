"""The one error boundary of every step: library code raises a `StepError` whose message says what is wrong and what
to do; each step's `main` runs inside `with step_errors():` (as spaCy's CLI uses `show_validation_error`), which
makes it one line on stderr and exit code 1. Anything else is a bug and keeps its traceback.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class StepError(Exception):
    """A problem the user can fix; the message is the whole explanation, shown without a traceback."""


class ConfigError(StepError, ValueError):
    """A setting, var or config that cannot work together with the others."""


@contextmanager
def step_errors() -> Iterator[None]:
    """Print a StepError as `✘ message` on stderr and exit 1; let every other exception through."""
    try:
        yield
    except StepError as e:
        print(f"✘ {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
