"""External tasks (DESIGN §9): a bearer-token API to submit prompt + responses for human judgement.

Submitted tasks wait in the store (``external_requests``) and are mixed into the next rounds,
where they look like any other task to miners. Unlike synthetic tasks they are shared: each
goes to at least three miners, within the per-miner cap on external work
(:mod:`dojo.validator.external_cap`); a request waits in the queue until a round has room for
it. They are scored by consensus alone. When their round is scored, the request holds the
aggregate of the miners' labels and the labellers' agreement.

Open in this order: ``schemas`` (what goes in and out), ``queue`` (the rules: idempotent per
client_id, a batch in one transaction), ``routes`` (thin handlers), ``deps`` (the queue and the
bearer check), ``app`` (building and serving it).
"""

from dojo.errors import ApiError, ConflictError
from dojo.validator.external.app import create_external_app, serve_external_api
from dojo.validator.external.queue import ExternalQueue
from dojo.validator.external.schemas import (
    ERROR_REPLIES,
    MAX_BATCH,
    STATES,
    ErrorReply,
    ExternalTaskIn,
    validation_message,
)

__all__ = [
    "ERROR_REPLIES",
    "MAX_BATCH",
    "STATES",
    "ApiError",
    "ConflictError",
    "ErrorReply",
    "ExternalQueue",
    "ExternalTaskIn",
    "create_external_app",
    "serve_external_api",
    "validation_message",
]
