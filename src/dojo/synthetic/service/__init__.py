"""The synthetic-task HTTP service: a buffer kept full in the background, popped by validators."""

from dojo.synthetic.service.app import create_app

__all__ = ["create_app"]
