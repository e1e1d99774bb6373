"""Spec versions: the integer a release is known by on the chain (``version_key``) and to peers.

``major·10000 + minor·100 + patch`` of a release string, so "0.1.0" is 100 and "1.2.3" is 10203.
Validators set it with their weights (a subnet can then require a minimum, the
``weights_version`` hyperparameter); miners report their release in the heartbeat.
"""

from __future__ import annotations

import re

_RELEASE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def spec_of(version: str) -> int | None:
    """The spec version of a release string ("0.1.0", "v1.2", "1.2.3rc1"), or None when it is not one."""
    found = _RELEASE.match(version or "")
    if found is None:
        return None
    major, minor, patch = (int(g or 0) for g in found.groups())
    if minor > 99 or patch > 99:
        return None
    return major * 10_000 + minor * 100 + patch


def release_of(spec: int) -> str:
    """The release string a spec version stands for (100 → "0.1.0")."""
    return f"{spec // 10_000}.{spec // 100 % 100}.{spec % 100}"
