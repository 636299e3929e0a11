import factory

from shop.models import Frob, Widget


class FrobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Frob

    name = "frob"


class WidgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Widget
