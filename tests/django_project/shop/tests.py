"""The seed story, as a Django team writes it (pytest-django and Django's TestCase)."""

import pytest
from django.core.management import call_command
from django.test import TestCase, TransactionTestCase

from shop.factories import FrobFactory, WidgetFactory
from shop.models import Frob, Widget


@pytest.mark.django_db
def test_factory_rows() -> None:
    made = FrobFactory.create_batch(2)
    assert Frob.objects.count() == 2
    assert len({f.id for f in made}) == 2


@pytest.mark.django_db
def test_hard_coded_id() -> None:
    FrobFactory(id=123)
    assert Frob.objects.count() == 1


@pytest.mark.django_db
def test_loaddata() -> None:
    call_command("loaddata", "frobs.json", verbosity=0)
    assert FrobFactory().id == 4  # loaddata moved the sequence past the fixture's ids


@pytest.mark.django_db(transaction=True)
def test_transactional() -> None:
    widget = WidgetFactory()
    assert Widget.objects.filter(id=widget.id).exists()


class FixturesTestCase(TestCase):
    fixtures = ["frobs.json"]  # noqa: RUF012 - as Django documents it

    def test_fixtures_loaded(self) -> None:
        assert Frob.objects.count() == 3
        assert FrobFactory().id == 4

    def test_new_widget(self) -> None:
        assert WidgetFactory().id == 8


class CommittingTestCase(TransactionTestCase):
    def test_commits(self) -> None:
        assert FrobFactory().id > 0


class HardCodedTestCase(TestCase):
    def test_hard_coded_in_a_test_case(self) -> None:
        FrobFactory(id=123)
        assert Frob.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.seqdoctor_allow_explicit_ids
def test_explicit_ids_on_purpose() -> None:
    FrobFactory(id=500)
    assert Frob.objects.get(id=500).name == "frob"
