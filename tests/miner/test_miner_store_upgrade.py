"""An older miner.db (its copy id column named ``task_id``) opens as it was: the column is renamed in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dojo.miner.store import TaskMap

_FIRST_RELEASE = (
    "CREATE TABLE task_map (validator_hotkey TEXT NOT NULL, task_id TEXT NOT NULL, worker_task_id TEXT NOT NULL, "
    "expire_at TEXT NOT NULL, created_at TEXT NOT NULL, feedback_at TEXT, PRIMARY KEY (validator_hotkey, task_id))"
)


def test_an_older_store_keeps_its_links_under_the_new_column_name(tmp_path: Path) -> None:
    path = tmp_path / "miner.db"
    with sqlite3.connect(path) as db:
        db.execute(_FIRST_RELEASE)
        db.execute("INSERT INTO task_map VALUES ('v', 't', 'w', '2999-01-01T00:00:00+00:00', '2000', NULL)")
    store = TaskMap(path)
    try:
        link = store.get_sync("v", "t")
        assert link is not None and (link.miner_task_id, link.worker_task_id) == ("t", "w")
        assert store.put_sync("v", "t", "w-other", "2999-01-01T00:00:00+00:00") == link  # still one link per key
        store.mark_results_sync("v", "t", 2)
        store.mark_feedback_sync("v", "t", 0.5)
        assert store.summary_sync().labelled == 1 and store.summary_sync().last_score == 0.5
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(task_map)")]
        primary_key = [
            row[1] for row in sorted(db.execute("PRAGMA table_info(task_map)"), key=lambda r: r[5]) if row[5]
        ]
    assert "task_id" not in columns and columns.count("miner_task_id") == 1
    assert primary_key == ["validator_hotkey", "miner_task_id"]
    TaskMap(path).close()  # opening an upgraded file again changes nothing
    with sqlite3.connect(path) as db:
        assert [row[1] for row in db.execute("PRAGMA table_info(task_map)")] == columns
