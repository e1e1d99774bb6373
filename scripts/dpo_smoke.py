"""Train TRL's DPOTrainer for a few steps on a Dojo export, with a tiny GPT-2 built locally.

Proof that the exported pairs are what a real trainer takes: no Hub download — the tokenizer is
trained on the export's own text with ``tokenizers`` and the model is a 2-layer GPT-2 built from a
``GPT2Config`` — and it runs on a CPU in a few minutes. Needs TRL, torch and transformers, which
the test suite does not install (the README's "A real trainer on the pairs" says how, with a
CPU-only torch, and shows a run):

    pip install <a CPU-only torch wheel>      # or `pip install torch`: the CUDA build, several GB
    pip install -e . 'trl>=1.13'
    dojo dataset export --out data --format hf --max-tokens 1024
    python scripts/dpo_smoke.py data [--steps 16] [--pairs 16] [--max-length 1024]

Every answer of a procedural task is one program text that differs only in its configuration
block, a few hundred tokens into the document, so TRL must keep at least that much of each answer
(``--max-length``): pairs whose chosen and rejected answers are still the same once cut to
``--max-length`` tokens of THIS tokenizer are left out, and the count is printed.

It evaluates the DPO loss and reward accuracy on the pairs it trains on before and after training,
prints the loss and reward accuracy of every step, and exits 1 unless training lowered the loss
(2 when TRL is missing).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EOS = "<|endoftext|>"
# For conversational pairs (TRL's message lists): the tiny tokenizer has no chat template of its own.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}" + EOS + "\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("export", type=Path, help="folder written by `dojo dataset export` (or `dojo external fetch`)")
    ap.add_argument("--steps", type=int, default=16, help="optimizer steps (the pairs are seen again when fewer)")
    ap.add_argument("--pairs", type=int, default=16, help="train on at most this many pairs")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument(
        "--max-length", type=int, default=1024, help="TRL max_length: prompt + answer tokens kept (the start)"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for name in ("steps", "pairs", "batch_size", "max_length"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def load_pairs(folder: Path) -> Any:
    """The ``pairs`` split of an export in any format (hf DatasetDict, parquet or jsonl)."""
    import datasets

    if (folder / "dataset_dict.json").exists():
        return datasets.load_from_disk(str(folder))["pairs"]
    for name, loader in (("pairs.parquet", "parquet"), ("pairs.jsonl", "json")):
        if (folder / name).exists():
            return datasets.load_dataset(loader, data_files=str(folder / name), split="train")
    raise SystemExit(f"{folder}: no export found (expected dataset_dict.json, pairs.parquet or pairs.jsonl)")


def texts_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every text of the pairs (prompt, chosen, rejected), in standard or conversational format."""
    out: list[str] = []
    for row in rows:
        for key in ("prompt", "chosen", "rejected"):
            value = row[key]
            if isinstance(value, str):
                out.append(value)
            else:  # conversational: a list of {"role", "content"} messages
                out.extend(m["content"] for m in value)
    return out


def distinct_when_cut(
    rows: Sequence[dict[str, Any]], encode: Callable[[Any, Any], list[int]], max_length: int
) -> list[int]:
    """Indices of the rows whose chosen and rejected token ids still differ within ``max_length``.

    ``encode(prompt, answer)`` gives the ids TRL trains on for prompt + answer; TRL keeps the start
    of that sequence, so a pair that differs only later teaches nothing (its loss stays log 2).
    """
    return [
        i
        for i, row in enumerate(rows)
        if encode(row["prompt"], row["chosen"])[:max_length] != encode(row["prompt"], row["rejected"])[:max_length]
    ]


def fell(before: float, after: float) -> bool:
    """Training did something: the loss went down (and is a number)."""
    return math.isfinite(after) and after < before


def tiny_tokenizer(texts: list[str], workdir: Path) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped for transformers."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=2000, min_frequency=1, special_tokens=[EOS])
    path = workdir / "tokenizer.json"
    bpe.save(str(path))
    tok = PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token=EOS, pad_token=EOS)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
        from trl import DPOConfig, DPOTrainer
    except ImportError as exc:
        print(f"TRL is not installed ({exc.name}): pip install 'trl>=1.13' torch", file=sys.stderr)
        return 2

    pairs = load_pairs(args.export).select_columns(["prompt", "chosen", "rejected"])
    if len(pairs) == 0:
        print("the export has no pairs", file=sys.stderr)
        return 1
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="dojo-dpo-") as tmp:
        work = Path(tmp)
        rows = list(pairs)
        tok = tiny_tokenizer(texts_of(rows), work)

        def encode(prompt: Any, answer: Any) -> list[int]:
            if isinstance(prompt, str):
                return list(tok(prompt + answer)["input_ids"])
            return list(tok.apply_chat_template(prompt + answer, tokenize=True, return_dict=True)["input_ids"])

        keep = distinct_when_cut(rows, encode, args.max_length)
        print(
            f"{len(rows)} pairs; {len(rows) - len(keep)} identical once cut to {args.max_length} tokens, left out; "
            f"training on {min(args.pairs, len(keep))}"
        )
        if not keep:
            print("no pair differs within --max-length: raise it (and export with --max-tokens)", file=sys.stderr)
            return 1
        train = pairs.select(keep[: args.pairs])
        model = GPT2LMHeadModel(
            GPT2Config(
                vocab_size=len(tok),
                n_positions=max(args.max_length, 64),
                n_layer=2,
                n_head=2,
                n_embd=64,
                bos_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id,
            )
        )
        cfg = DPOConfig(
            output_dir=str(work / "out"),
            max_steps=args.steps,
            per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            lr_scheduler_type="constant",
            logging_steps=1,
            max_length=args.max_length,
            bf16=False,
            fp16=False,
            use_cpu=not torch.cuda.is_available(),
            report_to=[],
            save_strategy="no",
            disable_tqdm=True,
            seed=args.seed,
        )
        trainer = DPOTrainer(
            model=model,
            ref_model=copy.deepcopy(model),
            args=cfg,
            train_dataset=train,
            eval_dataset=train,
            processing_class=tok,
        )
        before = trainer.evaluate()
        trainer.train()
        after = trainer.evaluate()
        for entry in trainer.state.log_history:
            if "loss" in entry and "eval_loss" not in entry:
                acc = entry.get("rewards/accuracies", float("nan"))
                print(f"step {entry.get('step')}: loss {entry['loss']:.4f}  reward accuracy {acc:.2f}")
    b_loss, a_loss = before["eval_loss"], after["eval_loss"]
    b_acc, a_acc = (
        before.get("eval_rewards/accuracies", float("nan")),
        after.get("eval_rewards/accuracies", float("nan")),
    )
    print(
        f"DPOTrainer ran {args.steps} steps on {len(train)} Dojo pairs: on those pairs, loss {b_loss:.4f} -> "
        f"{a_loss:.4f}, reward accuracy {b_acc:.2f} -> {a_acc:.2f}"
    )
    if not fell(b_loss, a_loss):
        print("the loss did not fall: the pairs taught the model nothing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
