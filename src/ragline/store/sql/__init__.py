"""The SQL table families, written once for both SQL backends.

Conversations, traces and sentence vectors are the same statements on SQLite and on
PostgreSQL but for a few words of dialect. Each family here is one class that builds
its statements with a :class:`Dialect` and runs them through it; ``store.sqlite`` and
``store.postgres`` each supply their dialect (how a statement is run: a
``Database`` transaction, or ``PostgresStore.run`` with the tenant set for
row-level security) and keep their public class names as thin subclasses.

- :mod:`._dialect`: :class:`~._dialect.Dialect`, what a backend supplies;
- :mod:`._conversations`, :mod:`._traces`, :mod:`._sentences`: the families.
"""
