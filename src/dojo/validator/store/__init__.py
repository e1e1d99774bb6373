"""The validator store: the only code that reads or writes the validator's database.

``repo.ValidatorStore`` is the one class callers use; each concern's steps are in their own module
(``dispatch``, ``collect``, ``scoring``, ``feedback``, ``weights``, ``external``, ``views``, ``export``), over
``models`` (the tables), ``db`` (engine, read-only opening, Alembic migrations) and ``records``
(the plain values steps take and return). Nothing is imported here, so ``records`` stays light.
"""
