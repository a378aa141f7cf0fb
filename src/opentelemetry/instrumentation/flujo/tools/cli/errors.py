"""The one exception the command line turns into a one-line error and exit status 2."""


class UsageError(Exception):
    """A problem with the user's input, reported in one line without a traceback."""
