"""The dataset card (``README.md``) written with every export: fields, how labels were made, licence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

_DATA_FILES = {
    "jsonl": ("tasks.jsonl", "pairs.jsonl"),
    "parquet": ("tasks.parquet", "pairs.parquet"),
    "hf": ("tasks/*.arrow", "pairs/*.arrow"),
}


@dataclass
class CardFacts:
    """What the card reports about one export."""

    fmt: str
    pairs_format: str
    tasks: int
    pairs: int
    min_margin: str
    below_margin: int
    max_tokens: int | None
    truncation: str
    same_when_truncated: int
    title: str = "Dojo human preference data"


def render_card(f: CardFacts) -> str:
    """The card's Markdown, with the YAML header the Hugging Face Hub reads (configs, licence, tags)."""
    tasks_files, pairs_files = _DATA_FILES[f.fmt]
    pair_text = (
        "strings" if f.pairs_format == "standard" else 'message lists `[{"role": "user"|"assistant", "content": …}]`'
    )
    trunc = (
        f"With a budget of {f.max_tokens} tokens (prompt + answer, counted with a simple regex tokenizer — "
        f"words and single punctuation marks — not the model's), {f.same_when_truncated} pairs became "
        f"identical when cut; they were {'dropped' if f.truncation == 'drop' else 'kept and flagged'}."
        if f.max_tokens is not None
        else "No token budget was given, so `same_when_truncated` is null."
    )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""---
license: other  # TODO: choose a licence for this data before publishing it
pretty_name: {f.title}
tags:
- human-feedback
- preference
- dpo
- bittensor
task_categories:
- text-generation
configs:
- config_name: pairs
  data_files: "{pairs_files}"
  default: true
- config_name: tasks
  data_files: "{tasks_files}"
---

# {f.title}

Exported by `dojo dataset export` on {when} as `{f.fmt}`: **{f.tasks} labelled tasks** and
**{f.pairs} preference pairs**.

## How the labels were made

Each task is a prompt asking for a small interactive web program and several complete HTML
answers. Validators of the Dojo subnet send each task to miners, whose human labellers open
every answer in a browser and score it (by default 1–10, higher is better) or rank the answers.
Synthetic tasks have a hidden ground-truth order (one faithful answer and variants made worse
on purpose); miners are paid by how well their labellers recover it, which is what keeps the
labels honest. External tasks were submitted by data consumers and have no ground truth.

Each labeller's values are mapped to [0, 1] (1 = best) and averaged per answer (`aggregate`);
`agreement` is the labellers' mean pairwise Spearman correlation mapped to [0, 1].

A pair (chosen, rejected) is made from two answers of one task when the chosen one's mean score
is higher by at least the minimum margin ({f.min_margin}); {f.below_margin} pairs with a smaller,
non-zero margin were left out. {trunc}

## Fields

`tasks` — one row per labelled task:

| field | type | meaning |
|---|---|---|
| `task_id` | string | the validator's task id |
| `source` | string | `synthetic` or `external` |
| `external_id` | string | the external request's id (null for synthetic tasks) |
| `created_at` | timestamp (UTC) | when the task was created |
| `prompt` | string | what the answers respond to |
| `criteria` | struct `{{type, min, max}}` | `score` with its range, or `ranking` (min/max null) |
| `responses` | list of `{{completion_id, content, model}}` | the answers (HTML documents) |
| `labels` | list of `{{miner_hotkey, labeller_id, submitted_at, scores: [{{completion_id, value}}]}}` | every labeller's raw values |
| `aggregate` | list of `{{completion_id, value}}` | mean normalised value per answer, 1 = best |
| `agreement` | float | labellers' agreement in [0, 1]; null with fewer than two |
| `n_labellers` | int | labellers with a complete answer |
| `ground_truth` | list of `{{completion_id, rank}}` | hidden order, 0 = best (synthetic tasks only) |

`pairs` — TRL's preference format ({f.pairs_format}: `prompt`, `chosen`, `rejected` are {pair_text}):

| field | meaning |
|---|---|
| `prompt`, `chosen`, `rejected` | what `trl.DPOTrainer` reads |
| `margin` | difference of the two answers' mean normalised scores |
| `task_id`, `chosen_id`, `rejected_id` | where the pair came from |
| `same_when_truncated` | the two answers are identical when cut to the token budget |

## Licence

TODO: the publisher of this dataset must choose a licence. The prompts and answers of external
tasks belong to whoever submitted them.
"""
