"""Errors that the CLI reports as a one-line message: exit 2 for bad input, 3 for a failed
promotion gate under ``--strict``."""


class InputError(Exception):
    """Bad input or usage: the user can fix it, so no traceback is shown."""


class GateFailed(Exception):
    """A model failed a promotion gate and ``--strict`` asked for a failing exit."""
