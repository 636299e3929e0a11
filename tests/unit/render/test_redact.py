"""Passwords never shown: in target names, labels or libpq's errors, however they are written."""

from __future__ import annotations

import re
from urllib.parse import quote

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from seqdoctor.catalog.redact import dbname, parameters, parse_error, scrubbed
from seqdoctor.fleet import display_name

CHUNK = st.text(alphabet="abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789", min_size=6)
PASSWORD = st.lists(
    st.tuples(CHUNK, st.sampled_from(["", "@", ":", "/", "?", "#", "%", "'", '"', " ", "=", "\\"])),
    min_size=1,
    max_size=3,
).map(lambda parts: "Zq" + "".join(chunk + sep for chunk, sep in parts))


def shapes(password: str) -> list[str]:
    encoded = quote(password, safe="")
    value = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return [
        f"postgresql://app:{encoded}@db1:5433/shop",
        f"postgresql://app@db1/shop?password={encoded}",
        f"host=db1 dbname=shop password={value}",
        f"host=db1 dbname=postgresql://app:{encoded}@db2/shop",
        f"dbname='postgresql://app:{encoded}@db2/shop' port=5433",
        f"host=db1 password={password} x",
        f"host=db1 password='{password}",
        f"postgresql://app:{password}@db1/shop",
        f"postgresql://app:{password}@[::1/shop",
        f"postgresql://app:{password}%zz@db1/shop",
        f"postgresql://app:{password}@db1/shop?password",
    ]


def chunks(password: str) -> list[str]:
    return [c for c in re.split(r"[^A-Za-z0-9]", password) if len(c) >= 6]


@settings(max_examples=100, deadline=None)
@given(PASSWORD)
def test_no_password_in_a_target_name_or_a_parse_error(password: str) -> None:
    for conninfo in shapes(password):
        shown = [display_name(conninfo)]
        try:
            params = parameters(conninfo)
        except psycopg.ProgrammingError as error:
            shown.append(parse_error(error))
        else:
            # libpq's connection errors quote the values it parsed.
            said = " ".join(f"{key} {value!r}" for key, value in params.items())
            shown += [dbname(conninfo), scrubbed(f"cannot connect: {said}", conninfo)]
        for text in shown:
            for chunk in chunks(password):
                assert chunk not in text, (conninfo, text)


def test_a_dbname_holding_a_uri_is_expanded_for_its_name() -> None:
    conninfo = "port=5433 dbname=postgresql://app:secret@db1/shop"
    assert display_name(conninfo) == "db1:5433/shop"
    assert parameters(conninfo)["dbname"] == "shop"
