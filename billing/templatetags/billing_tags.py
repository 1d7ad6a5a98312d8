from django import template

from program.selectors import user_has_access

register = template.Library()


@register.simple_tag
def program_owned_by(program, user) -> bool:
    """Whether `user` already has `program` (the Buy button then links to it instead)."""
    if user is None:
        return False
    return user_has_access(user=user, program=program)
