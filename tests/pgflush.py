"""A faster wipe after each transactional test on PostgreSQL.

Django empties the database after a test that commits (browser journeys, concurrency tests) with
one TRUNCATE of every table: on PostgreSQL that makes new files for ~90 tables and their indexes,
about half a second each time. The tables hold a few rows, so DELETE is several times quicker.
Row triggers would refuse those DELETEs on the money tables (core.guarded: never deleted, as
TRUNCATE never asks them), so the DELETEs run with triggers off for that transaction
(`session_replication_role = replica`, a superuser's setting: the test database's owner in CI
and on a developer's machine; anyone else keeps Django's TRUNCATE).
"""

from typing import Any


def install() -> None:
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(
        self: Any, style: Any, tables: Any, *, reset_sequences: bool = False, **kwargs: Any
    ) -> list[str]:
        if reset_sequences or not tables or not _superuser(self.connection):
            return truncate(self, style, tables, reset_sequences=reset_sequences, **kwargs)
        # Django's own table names, quoted as its TRUNCATE quotes them: no outside input here.
        deletes = " ".join(f"DELETE FROM {self.quote_name(t)};" for t in tables)  # noqa: S608
        return [
            f"SET LOCAL session_replication_role = replica; {deletes} "
            "SET LOCAL session_replication_role = origin;"
        ]

    DatabaseOperations.sql_flush = sql_flush


def _superuser(connection: Any) -> bool:
    if not hasattr(connection, "_si_superuser"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        connection._si_superuser = bool(row and row[0])
    return connection._si_superuser
