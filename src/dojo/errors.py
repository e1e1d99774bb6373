"""The base error every Dojo boundary maps to a message (CLI) or a status (HTTP)."""


class DojoError(Exception):
    """A failure with a message fit for the user: what was wrong and what was expected."""
