"""The one exception type that means "the user can fix this"; the CLI prints it as a sentence."""


class UserError(Exception):
    """A mistake in input, settings or environment, explained in one sentence."""
