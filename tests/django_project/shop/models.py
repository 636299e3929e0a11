from django.db import models


class Frob(models.Model):  # integer id
    name = models.TextField(default="frob")


class Widget(models.Model):  # bigint id
    id = models.BigAutoField(primary_key=True)
    frob = models.ForeignKey(Frob, null=True, on_delete=models.CASCADE)
