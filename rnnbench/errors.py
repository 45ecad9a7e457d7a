"""The one exception type for bad user input; the CLI turns it into a one-line message and exit code 2."""


class InputError(ValueError):
    """A bad argument, shape, value or config: the message is one sentence naming the problem."""
