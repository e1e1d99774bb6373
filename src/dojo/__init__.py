"""Dojo: a Bittensor subnet that crowdsources human preference data for AI."""

from dojo.versions import spec_of as _spec_of

__all__ = ["__spec_version__", "__version__"]

__version__ = "0.1.0"

#: The spec version (``dojo.versions``): set as ``version_key`` with weights, compared with peers'.
__spec_version__: int = _spec_of(__version__) or 0
