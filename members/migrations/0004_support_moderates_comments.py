from django.db import migrations


def sync_support_group(apps, schema_editor):
    """The Support group now moderates comments (view and change comments)."""
    from members.groups import support_group_sync

    support_group_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_email_verification"),
        ("comments", "0001_initial"),
    ]

    operations = [migrations.RunPython(sync_support_group, migrations.RunPython.noop)]
