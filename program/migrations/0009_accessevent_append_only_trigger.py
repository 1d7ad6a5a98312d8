"""Access history is append-only for every code path: a PostgreSQL trigger refuses an update or a
delete of an AccessEvent row (only a redaction of its reason passes, see core.appendonly). On
SQLite nothing is created; the model layer (core.guarded) refuses the same."""

from django.db import migrations

from core.guarded import install_triggers


class Migration(migrations.Migration):
    dependencies = [("program", "0008_today_safety_reminders_comfort")]

    operations = [
        install_triggers([("program_accessevent", "si_refuse_history_change", ("reason",))]),
    ]
