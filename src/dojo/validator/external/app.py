"""Building the external-task API (``create_external_app``) and serving it in the validator's event loop."""

from __future__ import annotations

from fastapi import FastAPI

from dojo import serving
from dojo.config import Settings
from dojo.http_errors import DETAIL, install_error_handlers
from dojo.http_limits import BodyLimit
from dojo.validator.external import routes
from dojo.validator.external.deps import Services
from dojo.validator.external.queue import ExternalQueue
from dojo.validator.external.schemas import ERROR_REPLIES, request_problems
from dojo.validator.store.repo import ValidatorStore


def create_external_app(settings: Settings, store: ValidatorStore) -> FastAPI:
    """The external-task API: submit (one task, or a batch), look up, list, summarise; ``GET /health``."""
    app = FastAPI(title="Dojo validator — external tasks", version="1", responses=ERROR_REPLIES)
    app.state.external = Services(queue=ExternalQueue(store), token=settings.validator.external_api_token or "")
    install_error_handlers(app, DETAIL, describe=request_problems)  # {"detail": …}, as documented
    app.include_router(routes.health)
    app.include_router(routes.router)
    max_body = settings.validator.external_api_max_body_bytes
    app.add_middleware(BodyLimit, limit_for=lambda _method, _path: max_body)  # 413 before any body is parsed
    return app


async def serve_external_api(settings: Settings, store: ValidatorStore) -> serving.Running:
    """Start the external-task API in this event loop; returns once it listens (``await running.stop()``)."""
    v = settings.validator
    sock = serving.listen(
        v.external_api_host,
        v.external_api_port,
        service="external-task API",
        hint="choose another with --external-api-port",
    )
    app = create_external_app(settings, store)
    config = serving.build_config(app, v.external_api_host, v.external_api_port, lifespan="off")
    return await serving.start(config, service="external-task API", sock=sock)
