"""Pages of the free email course: sign-up, confirmation, unsubscribe, a new link.

Every answer is the same whatever state an address is in, and no link a client can send or
tamper with gets anything but a friendly page.
"""

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from core.http import client_ip, same_origin_post
from core.ratelimit import RATE_LIMITED_MESSAGE
from program.course import services, tokens
from program.course.forms import CourseResendForm, CourseSignupForm
from program.models import Subscriber


def _invalid_link(request, *, kind: str):
    return render(request, "program/course/link_invalid.html", {"kind": kind}, status=400)


def _subscriber(check: tokens.TokenCheck) -> Subscriber | None:
    if check.subscriber_id is None:
        return None
    return Subscriber.objects.filter(pk=check.subscriber_id).first()


@same_origin_post  # the form sits on cacheable public pages: no CSRF token (core/http.py)
@require_http_methods(["GET", "POST"])
def free_course_signup(request):
    if request.method == "GET":
        form = CourseSignupForm()
        return render(request, "program/course/signup.html", {"form": form})
    form = CourseSignupForm(request.POST)
    if not form.is_valid():
        return render(request, "program/course/signup.html", {"form": form})
    if form.is_bot():
        return redirect("program:free-course-sent")
    data = form.cleaned_data
    if services.signup_rate_limited(email=data["email"], client_ip=client_ip(request)):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        return render(request, "program/course/signup.html", {"form": form}, status=429)
    services.subscriber_signup(
        first_name=data["first_name"],
        email=data["email"],
        consent_text=form.fields["consent"].label,
    )
    return redirect("program:free-course-sent")


@require_GET
def free_course_sent(request):
    return render(request, "program/course/sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def free_course_confirm(request, token: str):
    """GET only shows a button: mail scanners that fetch links must not confirm anybody."""
    check = tokens.confirm_token_check(token)
    subscriber = _subscriber(check)
    if subscriber is None:
        return _invalid_link(request, kind="confirm")
    if check.state == "expired" and subscriber.status == Subscriber.Status.PENDING:
        return render(request, "program/course/confirm_expired.html", {"token": token})
    context = {"subscriber": subscriber, "token": token}
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        return render(request, "program/course/confirm_unsubscribed.html", context)
    if request.method == "GET":
        if subscriber.status == Subscriber.Status.CONFIRMED:
            return render(request, "program/course/confirmed.html", {**context, "again": True})
        return render(request, "program/course/confirm.html", context)
    subscriber, changed = services.subscriber_confirm(subscriber_id=subscriber.pk)
    return render(request, "program/course/confirmed.html", {**context, "again": not changed})


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "POST"])
def free_course_unsubscribe(request, token: str):
    subscriber = _subscriber(tokens.unsubscribe_token_check(token))
    if subscriber is None:
        return _invalid_link(request, kind="unsubscribe")
    if request.method == "GET" and subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        return render(request, "program/course/unsubscribe.html", {"token": token})
    if request.method == "POST":
        services.subscriber_unsubscribe(subscriber_id=subscriber.pk)
    return render(request, "program/course/unsubscribed.html")


@require_http_methods(["GET", "POST"])
def free_course_resend(request):
    """A new confirmation link, asked for from an expired link (token) or by address."""
    if request.method == "GET":
        return render(request, "program/course/resend.html", {"form": CourseResendForm()})
    if "token" in request.POST:
        return _resend_from_token(request, request.POST["token"])
    form = CourseResendForm(request.POST)
    if not form.is_valid():
        return render(request, "program/course/resend.html", {"form": form})
    if form.is_bot():
        return redirect("program:free-course-sent")
    email = form.cleaned_data["email"]
    if services.signup_rate_limited(email=email, client_ip=client_ip(request)):
        form.add_error(None, RATE_LIMITED_MESSAGE)
        return render(request, "program/course/resend.html", {"form": form}, status=429)
    services.subscriber_resend_confirmation(email=email)
    return redirect("program:free-course-sent")


def _resend_from_token(request, token: str):
    check = tokens.confirm_token_check(token)
    if check.subscriber_id is None:
        return _invalid_link(request, kind="confirm")
    key = f"subscriber:{check.subscriber_id}"
    if services.signup_rate_limited(email=key, client_ip=client_ip(request)):
        context = {"form": CourseResendForm(), "rate_limited": RATE_LIMITED_MESSAGE}
        return render(request, "program/course/resend.html", context, status=429)
    services.subscriber_resend_confirmation(subscriber_id=check.subscriber_id)
    return redirect("program:free-course-sent")
