"""Signal receivers of the email course (connected in ProgramConfig.ready)."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver


@receiver(email_confirmed, dispatch_uid="program_course_link_account")
def link_subscriber_on_email_confirmed(sender, email_address, **kwargs):
    """A person who verifies an address we know from the email course gets it linked."""
    from program.course.services import subscriber_link_account

    subscriber_link_account(user=email_address.user, email=email_address.email)
