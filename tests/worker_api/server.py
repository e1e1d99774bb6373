"""The worker API's tests serve an app with :func:`dojo.serving.start_thread`, on a free loopback port."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from tests.support import serving_at


def serve(app: Any, **options: Any) -> AbstractContextManager[str]:
    """``with serve(app) as url:`` serves ``app`` until the block ends.

    Idle connections are kept 120 s, so the pooled clients of the concurrency and fuzz tests never
    meet one the server is closing.
    """
    return serving_at(app, **{"timeout_keep_alive": 120, **options})
