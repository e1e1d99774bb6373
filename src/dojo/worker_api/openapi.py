"""The OpenAPI document lists the replies the API really sends, in the shapes it really sends them.

Every ``/api/v1`` operation documents its error replies as ``Reply[None]`` (``routes.ERRORS``).
Operations that take a body can also answer 400 (a body that cannot be parsed at all); that reply
is added here to each of them, so no route can be forgotten.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI


def document_replies(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so that every operation with a request body documents its 400 reply."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for op in operations.values():
                replies = op.get("responses", {})
                if "requestBody" in op and "400" not in replies and "401" in replies:
                    replies["400"] = {
                        "description": "The body could not be parsed (not JSON, or not UTF-8)",
                        "content": copy.deepcopy(replies["401"]["content"]),
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
