from django.core.management.base import BaseCommand

from members.groups import SUPPORT_GROUP, support_group_sync


class Command(BaseCommand):
    help = "Create or update the staff groups (Support). Safe to run any number of times."

    def handle(self, *args, **options):
        _, count = support_group_sync()
        self.stdout.write(f'Group "{SUPPORT_GROUP}" has {count} permissions.')
