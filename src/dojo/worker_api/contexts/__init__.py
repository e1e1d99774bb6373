"""Business rules of the worker API, one module per rule, each with the transaction it needs.

``tasks`` (a miner creates and lists its tasks; a labeller reads one), ``submission`` (a result is
accepted), ``expiry`` (overdue tasks), ``feedback`` (the validator's grades), ``keys`` (API and
subscription keys), ``labellers`` (logins and partnerships), ``access`` (which tasks a labeller may
see) and ``work`` (a labeller's queue). Routes import these modules; nothing is imported here.
"""

__all__ = ["access", "expiry", "feedback", "keys", "labellers", "submission", "tasks", "work"]
