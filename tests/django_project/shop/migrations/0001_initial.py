from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []  # noqa: RUF012 - as makemigrations writes it
    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Frob",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("name", models.TextField(default="frob")),
            ],
        ),
        migrations.CreateModel(
            name="Widget",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "frob",
                    models.ForeignKey(null=True, on_delete=models.CASCADE, to="shop.frob"),
                ),
            ],
        ),
    ]
