"""The Django app of ``manage.py seqdoctor``: add ``"seqdoctor.django"`` to INSTALLED_APPS."""

from __future__ import annotations

from django.apps import AppConfig


class SeqdoctorConfig(AppConfig):  # type: ignore[misc]
    name = "seqdoctor.django"
    label = "seqdoctor"  # not "django", the last part of its name
    verbose_name = "seqdoctor"
