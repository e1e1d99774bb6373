"""Business rules of the worker API, one module per rule, each with the transaction it needs."""
