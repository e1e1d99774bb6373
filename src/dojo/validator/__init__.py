"""The validator: generates tasks, dispatches per-miner copies, collects, scores and sets weights."""
