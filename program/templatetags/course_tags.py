from django import template

from program.course_forms import CourseSignupForm

register = template.Library()


@register.inclusion_tag("program/course/signup_form.html", takes_context=True)
def free_course_signup(context):
    """The email course's sign-up form, blank, for any page (no database query)."""
    return {"form": CourseSignupForm(), "csrf_token": context.get("csrf_token"), "heading": True}
