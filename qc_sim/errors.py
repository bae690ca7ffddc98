"""Errors that the command line turns into one-line messages with exit status 2."""


class InputError(ValueError):
    """Bad user input (case file, potential file, checkpoint, CLI argument).

    The message names what is wrong and where (file and line, or key path), in one line.
    """


class BackendUnavailable(RuntimeError):
    """A requested backend cannot be used on this machine (no GPU, no compiler)."""
