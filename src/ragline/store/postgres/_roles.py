"""An ordinary login role for ragline, made by a superuser (``ragline postgres create-role``).

Row-level security, which keeps tenants apart, never binds a superuser or a
``BYPASSRLS`` role, so ragline should connect as a role that is neither. A
superuser runs :func:`create_postgres_role` once:

- the role: ``LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE``, with a
  password (generated when none is given);
- its database: created and owned by the role when it does not exist yet; otherwise
  the role gets ``CONNECT`` and ``CREATE`` on it, ``USAGE`` and ``CREATE`` on the
  ``public`` schema, and read/write on the tables already there (schema changes
  to tables another role owns — a new migration, the HNSW index of a new embedding
  dimension — still need that owner: give ragline a database of its own);
- pgvector: ``CREATE EXTENSION vector`` (needs a superuser, so done here, not by
  ``ragline migrate``);
- optionally (``index_search``), the two ``ALTER FUNCTION … LEAKPROOF`` statements
  that let keyword search use its indexes under row-level security
  (:func:`._search.enable_index_search`): a database administrator's decision, so
  only when asked.

It returns the URL to put in ``store:``. psycopg is imported when it runs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ragline.errors import InputError, StoreError

#: how to get an ordinary role
ROLE_HINT = (
    "connect as an ordinary role: ragline postgres create-role SUPERUSER_URL --role NAME makes one"
)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def role_url(host: str, port: int | str, role: str, password: str, database: str) -> str:
    """``postgresql://role:password@host:port/database`` with the parts quoted."""
    user = f"{quote(role, safe='')}:{quote(password, safe='')}"
    return f"postgresql://{user}@{host}:{port}/{quote(database, safe='')}"


def create_postgres_role(
    admin_url: str,
    role: str,
    *,
    password: str | None = None,
    database: str | None = None,
    index_search: bool = False,
) -> str:
    """Create the ordinary login role ``role`` on the server of ``admin_url``; its URL.

    ``admin_url`` connects as a superuser. ``database`` (default: the database of
    ``admin_url``) is where ragline's tables live: created, owned by ``role``, when
    missing. Raises :class:`InputError` for a bad or taken role name or a
    non-superuser ``admin_url``, :class:`StoreError` when the server fails.
    """
    import secrets

    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    from ragline.store.postgres._rows import _connect_error, normalize_url

    if not ROLE_NAME.match(role):
        raise InputError(
            f"invalid role name {role!r}",
            hint="use lower-case letters, digits and _ (not starting with a digit), "
            "at most 63 characters",
        )
    url = normalize_url(admin_url)
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as e:
        raise InputError(f"cannot parse the PostgreSQL URL: {e}") from None
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    admin_db = str(params.get("dbname") or params.get("user") or "postgres")
    target = database or admin_db
    password = password or secrets.token_urlsafe(18)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if not (row and row[0]):
                raise InputError(
                    "creating a role for ragline needs a superuser connection",
                    hint="pass the URL of a superuser (e.g. postgres) to create-role",
                )
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                raise InputError(
                    f"role {role!r} already exists",
                    hint="choose another --role, or DROP ROLE it first",
                )
            name = sql.Identifier(role)
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                    "PASSWORD {}"
                ).format(name, sql.Literal(password))
            )
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (target,)
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(target), name)
                )
            else:
                conn.execute(
                    sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(
                        sql.Identifier(target), name
                    )
                )
        with psycopg.connect(
            _same_server(url, target), autocommit=True, connect_timeout=10
        ) as conn:
            _prepare_database(conn, role, fresh=not exists, index_search=index_search)
    except psycopg.Error as e:
        raise _connect_error(url, e) from None
    return role_url(host, port, role, password, target)


def _same_server(url: str, database: str) -> str:
    """``url`` with its database replaced."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params: dict[str, Any] = dict(conninfo_to_dict(url))
    params["dbname"] = database
    return make_conninfo(**params)


def _prepare_database(conn: Any, role: str, *, fresh: bool, index_search: bool) -> None:
    from psycopg import sql

    from ragline.store.postgres._search import enable_index_search

    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    name = sql.Identifier(role)
    if not fresh:  # an existing database: let the role in, and at the tables there
        for statement in (
            "GRANT USAGE, CREATE ON SCHEMA public TO {}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}",
        ):
            conn.execute(sql.SQL(statement).format(name))
    if index_search:
        enable_index_search(conn)


def role_security(conn: Any) -> tuple[str, str | None]:
    """``conn``'s role, and why row-level security does not bind it (``None``: it does)."""
    row = conn.execute(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if row is None:  # pragma: no cover - current_user always has a row
        raise StoreError("cannot read the current role from pg_roles")
    user, superuser, bypass = str(row[0]), bool(row[1]), bool(row[2])
    if superuser:
        return user, f"connected as {user}, a superuser"
    if bypass:
        return user, f"connected as {user}, a BYPASSRLS role"
    return user, None
