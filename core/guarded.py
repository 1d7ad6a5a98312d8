"""Append-only below the admin: history rows are never changed or deleted, and money columns
(amounts, currency, Stripe ids) never change once set, whichever code path tries.

Two layers say the same thing:

- `Guarded`, a model base: `save()` of an existing row and the queryset's `update()`,
  `bulk_update()` and `delete()` refuse what the model's declaration forbids (so SQLite, and any
  test, sees it), and `delete()` of a row refuses always (a cascade too: see `refuse_delete`);
- on PostgreSQL, triggers made by the apps' migrations from `trigger_sql()` refuse the same for
  every code path, raw SQL included.

A model declares:

- `append_only = True`: no column of an existing row changes (event and history tables);
- `frozen_fields`: columns that never change once set (not NULL, "", {} or []);
- `frozen_after`: {column: other}: the column is frozen once `other` is set (a refund's amount is
  our estimate until Stripe names the refund);
- `redactable_fields`: columns that `core.appendonly.redaction_allowed()` may rewrite (personal
  data in notes and stored Stripe bodies), alone: an update naming any other column is judged by
  the rules above.

Legitimate changes (a purchase's status, a refund's status) are columns outside these lists and
keep going through each app's transitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

from django.db import IntegrityError, models

from core.appendonly import redaction_in_progress


class ChangeRefused(IntegrityError):
    """A change an append-only record or a money column does not allow."""


EMPTY: tuple[Any, ...] = (None, "", {}, [])


def _is_set(value: Any) -> bool:
    return not any(value == empty and type(value) is type(empty) for empty in EMPTY)


_M = TypeVar("_M", bound="Guarded")


class GuardedQuerySet(models.QuerySet[_M, _M]):
    def update(self, **kwargs: Any) -> int:
        self.model.guard_bulk_change(set(kwargs))
        return super().update(**kwargs)

    def bulk_update(
        self, objs: Iterable[_M], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        self.model.guard_bulk_change(set(fields))
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ChangeRefused(f"{self.model.__name__} rows are never deleted.")

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def _raw_delete(self, using: str | None) -> int:
        raise ChangeRefused(f"{self.model.__name__} rows are never deleted.")


class Guarded(models.Model):
    append_only: ClassVar[bool] = False
    frozen_fields: ClassVar[tuple[str, ...]] = ()
    frozen_after: ClassVar[dict[str, str]] = {}
    redactable_fields: ClassVar[tuple[str, ...]] = ()

    objects = GuardedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self.pk is not None and not kwargs.get("force_insert"):
            self.guard_save(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ChangeRefused(f"{type(self).__name__} rows are never deleted.")

    # -- the rules -----------------------------------------------------------------------------
    @classmethod
    def _names(cls, fields: set[str]) -> set[str]:
        """Field names for names or attnames (`purchase` and `purchase_id` alike)."""
        by_attname = {f.attname: f.name for f in cls._meta.concrete_fields}
        return {by_attname.get(name, name) for name in fields}

    @classmethod
    def _redaction_only(cls, names: set[str]) -> bool:
        return bool(names) and redaction_in_progress() and names <= set(cls.redactable_fields)

    @classmethod
    def guard_bulk_change(cls, fields: set[str]) -> None:
        """Refuse a queryset update naming a column these rows may not change (the old values
        are not read one by one, so a frozen column is refused even where it is still empty)."""
        names = cls._names(fields)
        if cls._redaction_only(names):
            return
        if cls.append_only:
            raise ChangeRefused(f"{cls.__name__} rows are never changed.")
        frozen = names & ({*cls.frozen_fields, *cls.frozen_after})
        if frozen:
            raise ChangeRefused(
                f"{cls.__name__}: {', '.join(sorted(frozen))} never change once set."
            )

    def guard_save(self, update_fields: Iterable[str] | None) -> None:
        cls = type(self)
        if update_fields is not None:
            names = cls._names(set(update_fields))
        else:
            names = {f.name for f in cls._meta.concrete_fields if not f.primary_key}
        if cls._redaction_only(names):
            return
        watched = names & {*cls.frozen_fields, *cls.frozen_after}
        if not cls.append_only and not watched:
            return
        watched |= {c for n, c in cls.frozen_after.items() if n in watched}
        columns = {f.name: f.attname for f in cls._meta.concrete_fields}
        wanted = names if cls.append_only else watched
        old = cls._base_manager.filter(pk=self.pk).values(*(columns[n] for n in wanted)).first()
        if old is None:
            return  # not in the database (a save that will insert)
        changed = {n for n in wanted if old[columns[n]] != getattr(self, columns[n])}
        if cls.append_only and changed:
            raise ChangeRefused(
                f"{cls.__name__} rows are never changed (tried: {', '.join(sorted(changed))})."
            )
        refused = {n for n in changed & set(cls.frozen_fields) if _is_set(old[columns[n]])}
        for name, condition in cls.frozen_after.items():
            if name in changed and _is_set(old[columns[condition]]):
                refused.add(name)
        if refused:
            raise ChangeRefused(
                f"{cls.__name__} #{self.pk}: {', '.join(sorted(refused))} never change once set."
            )


def refuse_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """pre_delete for every Guarded model (connected in core.apps): a cascade from a deleted
    parent row deletes without calling delete(), so it is refused here."""
    raise ChangeRefused(f"{sender.__name__} rows are never deleted (a cascade tried).")


# ------------------------------------------------------------------------------------------------
# PostgreSQL: the same rules as triggers, for the apps' migrations
# ------------------------------------------------------------------------------------------------
FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION si_refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV: the columns a redaction may rewrite (core.appendonly sets si.redaction).
  IF TG_OP = 'UPDATE' AND current_setting('si.redaction', true) = 'on'
     AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'si: % of a row of % refused: its rows are never changed or deleted',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE OR REPLACE FUNCTION si_refuse_money_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  spec text;
  col text;
  cond text;
  old_row jsonb;
  new_row jsonb;
  redacting boolean := current_setting('si.redaction', true) = 'on';
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'si: delete of a row of % refused: money records are never deleted',
      TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  old_row := to_jsonb(OLD);
  new_row := to_jsonb(NEW);
  -- TG_ARGV: 'col' (frozen once set), 'col@other' (frozen once other is set), '~col' (frozen
  -- once set, except while a redaction runs).
  FOREACH spec IN ARRAY TG_ARGV LOOP
    IF left(spec, 1) = '~' THEN
      IF redacting THEN CONTINUE; END IF;
      col := substr(spec, 2);
      cond := col;
    ELSE
      col := split_part(spec, '@', 1);
      cond := coalesce(nullif(split_part(spec, '@', 2), ''), col);
    END IF;
    IF old_row -> cond IS NOT NULL
       AND old_row -> cond NOT IN ('null'::jsonb, '""'::jsonb, '{}'::jsonb, '[]'::jsonb)
       AND (new_row -> col) IS DISTINCT FROM (old_row -> col) THEN
      RAISE EXCEPTION 'si: update of %.% refused: it never changes once set', TG_TABLE_NAME, col
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  END LOOP;
  RETURN NEW;
END $$;
"""


def trigger_spec(model: type[Guarded]) -> tuple[str, str, tuple[str, ...]]:
    """(table, function, arguments) of the trigger enforcing `model`'s declaration: what a
    migration writes out literally (a test keeps the two equal)."""
    column = {f.name: str(f.column) for f in model._meta.concrete_fields}
    if model.append_only:
        arguments = tuple(column[n] for n in model.redactable_fields)
        return model._meta.db_table, "si_refuse_history_change", arguments
    redactable = set(model.redactable_fields)
    arguments = tuple(("~" if n in redactable else "") + column[n] for n in model.frozen_fields)
    arguments += tuple(f"{column[n]}@{column[c]}" for n, c in model.frozen_after.items())
    return model._meta.db_table, "si_refuse_money_change", arguments


def _trigger_sql(table: str, function: str, arguments: Iterable[str]) -> tuple[str, str]:
    name = f"si_{table}_guard"
    quoted = ", ".join("'" + a.replace("'", "''") + "'" for a in arguments)
    drop = f"DROP TRIGGER IF EXISTS {name} ON {table};"
    create = (
        f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}({quoted});"
    )
    return f"{drop} {create}", drop


def install_triggers(
    specs: Iterable[tuple[str, str, tuple[str, ...]]], *, functions: bool = True
) -> Any:
    """A reversible migration operation creating the triggers `specs` (see trigger_spec) on
    PostgreSQL; on SQLite it does nothing (the model layer guards there). With `functions`, the
    trigger functions are created first (once, by the first app's migration that needs them)."""
    from django.db import migrations

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        if functions:
            schema_editor.execute(FUNCTIONS_SQL, params=None)
        for spec in specs:
            schema_editor.execute(_trigger_sql(*spec)[0], params=None)

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for spec in specs:
            schema_editor.execute(_trigger_sql(*spec)[1], params=None)

    return migrations.RunPython(forward, backward, elidable=False)
