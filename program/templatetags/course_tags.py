from django import template

from program.course.forms import CourseSignupForm

register = template.Library()


@register.inclusion_tag("program/course/signup_form.html", takes_context=True)
def free_course_signup(context):
    """The email course's sign-up form, blank, for any page (no database query).

    No CSRF token, so the pages it sits on stay cacheable: the view is `same_origin_post`.
    """
    return {"form": CourseSignupForm(), "heading": True}
