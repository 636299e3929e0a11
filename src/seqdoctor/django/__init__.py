"""seqdoctor for Django projects: the test runner, ``manage.py seqdoctor``, the databases.

- ``TEST_RUNNER = "seqdoctor.django.DiscoverRunner"`` (or
  :class:`SeqdoctorRunnerMixin` in a runner of your own): ``manage.py test``
  with the guard, deterministic ids and the end-of-run audit, as the pytest
  plugin gives them (docs/pytest.md);
- ``"seqdoctor.django"`` in INSTALLED_APPS: ``manage.py seqdoctor check`` and
  ``manage.py seqdoctor fix`` on the project's database.

Nothing of Django is imported until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqdoctor.django.runner import DiscoverRunner, SeqdoctorRunnerMixin

__all__ = ["DiscoverRunner", "SeqdoctorRunnerMixin"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from seqdoctor.django import runner  # noqa: PLC0415 - imports django.test

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
