from pathlib import Path

import pytest
from pydantic import ValidationError

from dojo.config import PROFILES, Profile, load_settings


def test_defaults_use_home_and_prod(tmp_home: Path) -> None:
    s = load_settings()
    assert s.profile is Profile.prod
    assert s.home == tmp_home / ".dojo"
    assert s.timings == PROFILES[Profile.prod]
    assert s.worker_db_url().endswith("worker.db")


def test_precedence_flag_over_env_over_dotenv(tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("DOJO_WORKER_PORT=7001\nDOJO_PROFILE=fast\nDOJO_MINER_PORT=7100\n")
    s = load_settings()
    assert s.worker.port == 7001 and s.profile is Profile.fast and s.miner.port == 7100
    monkeypatch.setenv("DOJO_WORKER_PORT", "7002")
    assert load_settings().worker.port == 7002
    s = load_settings(worker__port=7003, miner__port=None)
    assert s.worker.port == 7003
    assert s.miner.port == 7100  # None flag falls through to .env


def test_profile_timings_and_overrides(tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOJO_PROFILE", "fast")
    monkeypatch.setenv("DOJO_TIMING_TASK_DEADLINE_S", "7.5")
    t = load_settings().timings
    assert t.task_deadline_s == 7.5
    assert t.epoch_blocks == PROFILES[Profile.fast].epoch_blocks


def test_bad_values_are_clear(tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOJO_PROFILE", "turbo")
    with pytest.raises(ValidationError):
        load_settings()
    with pytest.raises(ValueError, match="unknown settings section"):
        load_settings(nosuch__x=1)
