from django import template

from program.selectors import user_has_access

register = template.Library()


@register.simple_tag(takes_context=True)
def program_owned_by(context, program, user) -> bool:
    """Whether `user` already has `program` (the Buy button then links to it instead).

    Program, unit and lesson pages have already worked this out as `has_access`; reuse it
    rather than asking the database again."""
    if "has_access" in context:
        return bool(context["has_access"])
    if user is None:
        return False
    return user_has_access(user=user, program=program)
