"""Signal receivers of the members app (connected in MembersConfig.ready)."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver


@receiver(email_confirmed, dispatch_uid="members_record_email_verified")
def record_email_verified(sender, email_address, request=None, **kwargs):
    """allauth stores no verification time: keep one, for the member's timeline."""
    from members.services import email_verification_record

    user = getattr(request, "user", None)
    by_staff = (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.pk != email_address.user_id
    )
    email_verification_record(
        member_id=email_address.user_id,
        email=email_address.email,
        actor=user if by_staff else None,
    )
