"""Dojo: a Bittensor subnet that crowdsources human preference data for AI."""

__version__ = "0.1.0"
