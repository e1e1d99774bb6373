"""``dojo synthetic sample`` and ``dojo synthetic validate``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dojo.cli.synthetic import app
from dojo.synthetic.procedural import generate_task


def test_sample_writes_a_task_a_person_can_open(tmp_path: Path) -> None:
    out = tmp_path / "task"
    result = CliRunner().invoke(app, ["sample", "--seed", "42", "--out", str(out)])
    assert result.exit_code == 0, result.output
    task = generate_task(42)
    assert (out / "prompt.md").read_text() == task.prompt
    truth = json.loads((out / "truth.json").read_text())
    assert truth["ground_truth"] == {str(k): v for k, v in task.ground_truth.items()}
    pages = sorted(out.glob("rank*.html"))
    assert [p.name.split("-")[0] for p in pages] == ["rank0", "rank1", "rank2", "rank3"]
    by_rank = {r.ladder_step: r.content for r in task.responses}
    assert all(p.read_text() == by_rank[int(p.name[4])] for p in pages)


def test_validate_reports_each_file(tmp_path: Path) -> None:
    good = tmp_path / "good.html"
    good.write_text(generate_task(1).responses[0].content)
    bad = tmp_path / "bad.html"
    bad.write_text(good.read_text().replace("const ", "const = ", 1))
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(good)])
    assert ok.exit_code == 0 and "ok" in ok.output
    fail = runner.invoke(app, ["validate", str(good), str(bad)])
    assert fail.exit_code == 1 and "invalid" in fail.output and "syntax error" in fail.output
