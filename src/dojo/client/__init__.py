"""A small typed client of the validator's external-task API (DESIGN §9): a file of prompts and
responses in, a labelled dataset out.

    from dojo.client import DojoClient, read_rows

    with DojoClient("http://127.0.0.1:1888", token="…") as dojo:
        report = dojo.submit_many(read_rows(Path("tasks.jsonl")))
        print(dojo.summary())
        dojo.fetch(Path("labelled"), fmt="hf")
"""

from dojo.client._client import DEFAULT_URL, TOKEN_ENV, AsyncDojoClient, DojoClient
from dojo.client._files import FetchSummary, read_rows, write_results
from dojo.client._models import BulkReport, Submitted, TaskIn, task_from_row
from dojo.errors import ExternalApiError, RowError

__all__ = [
    "DojoClient",
    "AsyncDojoClient",
    "ExternalApiError",
    "TaskIn",
    "Submitted",
    "BulkReport",
    "RowError",
    "FetchSummary",
    "read_rows",
    "write_results",
    "task_from_row",
    "DEFAULT_URL",
    "TOKEN_ENV",
]
