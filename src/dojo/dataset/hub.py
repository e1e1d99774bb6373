"""Upload an export folder to the Hugging Face Hub as a dataset repo (``--push-to-hub``)."""

from __future__ import annotations

import os
from pathlib import Path

from dojo.errors import DojoError

TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def hub_token() -> str:
    """The Hub token from the environment (``HF_TOKEN``, or the older ``HUGGING_FACE_HUB_TOKEN``)."""
    for name in TOKEN_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise DojoError("--push-to-hub needs a Hugging Face token: set HF_TOKEN (a write token from hf.co/settings/tokens)")


def push_export(folder: Path, repo_id: str, private: bool = True, endpoint: str | None = None) -> str:
    """Create the dataset repo if needed and upload the export (data files and card) in one commit.

    ``endpoint`` defaults to ``HF_ENDPOINT`` or https://huggingface.co (the library's own setting).
    Returns the commit's URL.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise DojoError(f"--push-to-hub {repo_id!r} is not a repo id: expected owner/name")
    # HF_ENDPOINT read now, not when huggingface_hub was first imported
    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=hub_token())
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="Dojo dataset export",
            ignore_patterns=[".staging-*", ".cache-*", "**/.staging-*", "**/.cache-*"],
        )
    except HfHubHTTPError as exc:
        raise DojoError(f"could not push to the Hub repo {repo_id}: {exc}") from exc
    return str(info.commit_url)
