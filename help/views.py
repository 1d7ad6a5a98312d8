"""Consultation (functional assessment) and mentoring request pages."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.http import client_ip
from core.ratelimit import RATE_LIMITED_MESSAGE
from help import services
from help.forms import ConsultationForm, MentoringForm
from program.selectors import article_for_page


def _data(request):
    return request.POST if request.method == "POST" else None


def _initial(request) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {}
    return {"name": user.name, "email": user.email}


@require_http_methods(["GET", "POST"])
def consultation(request):
    form = ConsultationForm(_data(request), initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return redirect("accounts:consultation-thanks")
        data = form.cleaned_data
        if services.request_rate_limited(
            kind="consultation", email=data["email"], client_ip=client_ip(request)
        ):
            form.add_error(None, RATE_LIMITED_MESSAGE)
            return render(request, "help/consultation.html", {"form": form}, status=429)
        services.consultation_request_create(
            user=request.user,
            **{name: data[name] for name in ConsultationForm.Meta.fields},
        )
        return redirect("accounts:consultation-thanks")
    return render(request, "help/consultation.html", {"form": form})


@require_GET
def consultation_thanks(request):
    return render(request, "help/consultation_thanks.html")


@require_http_methods(["GET", "POST"])
def mentoring(request):
    form = MentoringForm(_data(request), initial=_initial(request))
    article = article_for_page(page="mentoring")
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return redirect("accounts:mentoring-thanks")
        data = form.cleaned_data
        if services.request_rate_limited(
            kind="mentoring", email=data["email"], client_ip=client_ip(request)
        ):
            form.add_error(None, RATE_LIMITED_MESSAGE)
            context = {"form": form, "article": article}
            return render(request, "help/mentoring.html", context, status=429)
        services.mentoring_request_create(
            user=request.user, **{name: data[name] for name in MentoringForm.Meta.fields}
        )
        return redirect("accounts:mentoring-thanks")
    return render(request, "help/mentoring.html", {"form": form, "article": article})


@require_GET
def mentoring_thanks(request):
    return render(request, "help/mentoring_thanks.html")
