"""Errors that the CLI reports as a one-line message with exit code 2."""


class InputError(Exception):
    """Bad input or usage: the user can fix it, so no traceback is shown."""
