"""Train TRL's DPOTrainer for a few steps on a Dojo export, with a tiny GPT-2 built locally.

Proof that the exported pairs are what a real trainer takes: no Hub download — the tokenizer is
trained on the export's own text with ``tokenizers`` and the model is built from a
``GPT2Config`` — and it runs on a CPU in about a minute. Needs TRL (which brings torch and
transformers; ~5 min to install), which the test suite does not install:

    pip install trl
    dojo dataset export --out data --format hf --max-tokens 256
    python scripts/dpo_smoke.py data [--steps 8] [--max-length 256]

It prints the loss and reward accuracy of each logged step, and exits 1 if a trainer step fails.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path


def load_pairs(folder: Path) -> object:
    """The ``pairs`` split of an export in any format (hf DatasetDict, parquet or jsonl)."""
    import datasets

    if (folder / "dataset_dict.json").exists():
        return datasets.load_from_disk(str(folder))["pairs"]
    for name, loader in (("pairs.parquet", "parquet"), ("pairs.jsonl", "json")):
        if (folder / name).exists():
            return datasets.load_dataset(loader, data_files=str(folder / name), split="train")
    raise SystemExit(f"{folder}: no export found (expected dataset_dict.json, pairs.parquet or pairs.jsonl)")


def tiny_tokenizer(texts: list[str], workdir: Path) -> object:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped for transformers."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=2000, min_frequency=1, special_tokens=["<|endoftext|>"])
    path = workdir / "tokenizer.json"
    bpe.save(str(path))
    tok = PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    return tok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path, help="folder written by `dojo dataset export` (or `dojo external fetch`)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=256, help="TRL max_length (prompt + answer tokens)")
    ap.add_argument("--pairs", type=int, default=64, help="at most this many pairs are used")
    args = ap.parse_args()
    try:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
        from trl import DPOConfig, DPOTrainer
    except ImportError as exc:
        print(f"TRL is not installed ({exc.name}): pip install trl", file=sys.stderr)
        return 2

    pairs = load_pairs(args.export)
    n = min(args.pairs, len(pairs))  # type: ignore[arg-type]
    if n == 0:
        print("the export has no pairs", file=sys.stderr)
        return 1
    pairs = pairs.select(range(n)).select_columns(["prompt", "chosen", "rejected"])  # type: ignore[attr-defined]
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="dojo-dpo-") as tmp:
        work = Path(tmp)
        texts = [t for row in pairs for t in (row["prompt"], row["chosen"], row["rejected"]) if isinstance(t, str)]
        if not texts:  # conversational pairs: message lists
            texts = [m["content"] for row in pairs for k in ("prompt", "chosen", "rejected") for m in row[k]]
        tok = tiny_tokenizer(texts, work)
        model = GPT2LMHeadModel(
            GPT2Config(vocab_size=len(tok), n_positions=max(args.max_length, 64), n_layer=2, n_head=2, n_embd=64)
        )
        cfg = DPOConfig(
            output_dir=str(work / "out"),
            max_steps=args.steps,
            per_device_train_batch_size=4,
            learning_rate=5e-4,
            logging_steps=1,
            max_length=args.max_length,
            bf16=False,
            fp16=False,
            report_to=[],
            save_strategy="no",
        )
        trainer = DPOTrainer(
            model=model, ref_model=copy.deepcopy(model), args=cfg, train_dataset=pairs, processing_class=tok
        )
        trainer.train()
        for entry in trainer.state.log_history:
            if "loss" in entry:
                acc = entry.get("rewards/accuracies", float("nan"))
                print(f"step {entry.get('step')}: loss {entry['loss']:.4f}  reward accuracy {acc:.2f}")
    print(f"DPOTrainer ran {args.steps} steps on {n} Dojo pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
