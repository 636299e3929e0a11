"""What seqdoctor prints of a name: nothing a terminal or psql acts on, no two names alike."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from psycopg import sql

from seqdoctor.catalog.display import _laid_out, _rewritten, comment, printable, script_sql
from seqdoctor.catalog.model import qualify, quote_ident

# Names as an attacker writes them: psql meta-commands, comment ends, quotes,
# escape sequences, direction overrides, and any other character.
NAMES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                *("\n", "\r", "\\! touch x", "\\gexec", "*/", "/*", "--", "$$", "'", '"', "\\"),
                *("%s", ":v", "\x1b[2J", "\x9b", "\x7f", "\u202e", "\u2028", "select", "é"),
                "\U000e0001",
            ]
        ),
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=4),
    ),
    min_size=1,
    max_size=6,
).map("".join)


def terminal_safe(text: str, layout: str = "") -> bool:
    """Only characters shown as themselves: printable ones, spaces, and those in *layout*."""
    return all(c.isprintable() or unicodedata.category(c) == "Zs" or c in layout for c in text)


@given(NAMES, NAMES)
def test_shown_names_are_terminal_safe_and_never_alike(a: str, b: str) -> None:
    assert terminal_safe(quote_ident(a))
    assert (quote_ident(a) == quote_ident(b)) == (a == b)
    assert terminal_safe(qualify(a, b))


@given(NAMES)
def test_a_comment_stays_one_comment(text: str) -> None:
    lines = comment(f"repairs for {text}", indent="   ")
    assert all(line.startswith("-- ") for line in lines)
    assert all(terminal_safe(line) for line in lines)


@given(NAMES)
def test_printable_escapes_what_a_terminal_acts_on(text: str) -> None:
    assert terminal_safe(printable(text))
    assert printable(text) == text or not terminal_safe(text)


@given(NAMES, NAMES)
def test_scripts_hold_no_control_character_but_layout(a: str, b: str) -> None:
    statement = sql.SQL("SELECT setval({}, 1) FROM {} -- x\nWHERE {} = {}").format(
        sql.Literal(sql.Identifier("public", a).as_string()),
        sql.Identifier(a, b),
        sql.Identifier(b),
        sql.Literal(a),
    )
    text = script_sql(statement.as_string())
    assert terminal_safe(text, layout="\n")
    assert text.count("\n") == 1


def test_a_statement_cut_short_is_still_shown_safely() -> None:
    assert script_sql('SELECT "t\x1b[2J') == 'SELECT U&"t\\001b[2J"'
    assert script_sql("SELECT 'a\n") == "SELECT E'a\\u000a'"
    assert script_sql("DO $x$ \x1b") == "DO E' \\u001b'"


def test_dollar_quotes_with_controls_become_escape_strings() -> None:
    assert script_sql("DO $x$BEGIN PERFORM 'a\x1b'; END$x$") == (
        "DO E'BEGIN PERFORM ''a\\u001b''; END'"
    )
    # A word's dollar sign opens nothing; a comment is not a string.
    assert script_sql("SELECT a$b$, 1 -- it's \x1b\n") == "SELECT a$b$, 1 -- it's \\x1b\n"


# SQL as seqdoctor prints it and as an attacker names things: every kind of token,
# line breaks between them and inside them.
SQL_PIECES = st.lists(
    st.sampled_from(
        [
            *("SELECT ", "a$b$", "$q$", "$$", "E'", "e'", "'", "''", '"', '""', "--", "/*", "*/"),
            *("\n", "\t", "\r", " ", "\\", "x", "1", "é", "\x1b", "\u202e", ";", "(", ")"),
        ]
    ),
    max_size=30,
).map("".join)


@given(SQL_PIECES)
def test_text_the_quick_look_passes_is_text_the_token_walk_leaves_alone(text: str) -> None:
    if _laid_out(text):
        assert _rewritten(text) == text
