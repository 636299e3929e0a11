"""Text shown to people and SQL printed for psql, with nothing in them a terminal or psql acts on.

Names come from the database, and anyone who may create a table chooses them:
a name can hold a newline followed by a psql meta-command, or the escape
sequences that make a terminal rewrite its screen. Everything seqdoctor prints
goes through one of these functions:

- :func:`printable` for free text (messages, errors): characters a terminal
  could act on are written as Python-style escapes (``\\n``, ``\\x1b``);
- :func:`unicode_quoted` (through ``quote_ident``/``qualify``) for names: a
  name holding such characters is shown as a ``U&"..."`` identifier, which
  PostgreSQL reads back as the very same name, and which no two names share;
- :func:`script_sql` for SQL printed as a script or on a terminal: every
  quoted identifier or string constant holding such characters is rewritten
  into an escaped form PostgreSQL reads as the same value, so the script is
  byte for byte what psql needs and holds no control character but line
  breaks and tabs between tokens.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from functools import lru_cache

# Between SQL tokens, line breaks and tabs lay statements out; anywhere else
# they are escaped like every other control character.
_LAYOUT = "\n\t"
_LAYOUT_CHARS = frozenset(_LAYOUT)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@lru_cache(maxsize=1024)
def unsafe(char: str) -> bool:
    """Whether a terminal may act on *char* or show it as nothing: controls, formats, separators.

    >>> [unsafe(c) for c in ("a", " ", "é", "\\n", "\\x1b", "\\x9b", "\\u202e", "\\u00a0")]
    [False, False, False, True, True, True, True, False]
    """
    return not char.isprintable() and unicodedata.category(char) != "Zs"


def escaped(char: str) -> str:
    r"""*char* as Python writes it in a string: ``\n``, ``\x1b``, ``\u202e``.

    >>> escaped("\n"), escaped("\x1b"), escaped("\u202e"), escaped("\U000e0001")
    ('\\n', '\\x1b', '\\u202e', '\\U000e0001')
    """
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, keep: str = "") -> str:
    r"""*text* with every character a terminal could act on (but those in *keep*) escaped.

    >>> printable("t\n\\! touch x\x1b[2J")
    't\\n\\! touch x\\x1b[2J'
    """
    if text.isprintable():
        return text
    return "".join(escaped(c) if unsafe(c) and c not in keep else c for c in text)


def unicode_quoted(name: str) -> str:
    r"""*name* as a quoted identifier, in ``U&"..."`` form if it holds characters to escape.

    PostgreSQL reads ``U&"t\000a"`` as the name ``t`` + newline: the text is
    valid SQL for exactly that name, and prints as plain characters.

    >>> print(unicode_quoted('a"b'), unicode_quoted("t\n\\! x"), unicode_quoted("\U000e0001"))
    "a""b" U&"t\000a\\! x" U&"\+0e0001"
    """
    if not any(map(unsafe, name)):
        return '"' + name.replace('"', '""') + '"'
    return 'U&"' + "".join(_unicode_escaped(c) for c in name) + '"'


def _unicode_escaped(char: str) -> str:
    if char == '"':
        return '""'
    if char == "\\":
        return "\\\\"
    if not unsafe(char):
        return char
    code = ord(char)
    return f"\\{code:04x}" if code < 0x10000 else f"\\+{code:06x}"


def _string_escaped(char: str) -> str:
    """*char* inside an ``E'...'`` string constant."""
    if char == "'":
        return "''"
    if char == "\\":
        return "\\\\"
    if not unsafe(char):
        return char
    code = ord(char)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


# PostgreSQL's lexical tokens, as far as quoting goes (scan.l): comments,
# escape strings, standard strings, quoted identifiers, dollar quotes, words
# (whose ``$`` do not open a dollar quote). An unterminated token runs to the
# end: a statement cut short for a log line is still shown safely.
_TOKEN = re.compile(
    r"""
      (?P<comment>--[^\n\r]*)
    | (?P<block>/\*)
    | (?P<estring>(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'?)
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<ident>"(?:[^"]|"")*"?)
    | (?P<dollar>\$(?:[^\W\d]\w*)?\$)
    | (?P<word>[^\W\d][\w$]*)
    | (?P<other>(?:[^\w'"$/-]|\d)+|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE_UNIT = re.compile(r"\\.|.", re.DOTALL)
# The tokens that can hold a line break, found without walking the words between
# them: a ``$`` after a word character is part of that word, not a dollar quote.
# The lookahead lets the search skip the other characters quickly.
_ENCLOSING = re.compile(
    r"""
    (?=[-/Ee'"$])
    (?: (?P<comment>--[^\n\r]*)
    | (?P<block>/\*)
    | (?P<estring>(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'?)
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<ident>"(?:[^"]|"")*"?)
    | (?P<dollar>(?<![\w$])\$(?:[^\W\d]\w*)?\$)
    )
    """,
    re.VERBOSE | re.DOTALL,
)


@lru_cache(maxsize=1024)  # a plan's preamble is the same for every plan
def script_sql(text: str) -> str:
    r"""SQL *text* rewritten so that no control character remains but line breaks between tokens.

    Quoted identifiers and string constants holding such characters become
    ``U&"..."`` identifiers and ``E'...'`` constants that PostgreSQL reads as
    the same names and values; the rest is left as it is.

    >>> print(script_sql('SELECT "t\n\\! x", \'a\x1b\' -- ok\nFROM "s"'))
    SELECT U&"t\000a\\! x", E'a\u001b' -- ok
    FROM "s"
    """
    if text.isprintable() or _laid_out(text):
        return text
    return _rewritten(text)


def _rewritten(text: str) -> str:
    """:func:`script_sql` token by token."""
    out: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        token, kind = match.group(), match.lastgroup
        position = match.end()
        if kind == "block":
            end = _block_end(text, position)
            token, position = text[match.start() : end], end
            out.append(printable(token, keep=_LAYOUT))
        elif kind == "dollar":
            end = text.find(token, position)
            end = len(text) if end < 0 else end
            body, position = text[position:end], min(end + len(token), len(text))
            if all(c in _LAYOUT or not unsafe(c) for c in body):
                out.append(token + body + (token if end < len(text) else ""))
            else:
                out.append(_spaced(out, "E'" + "".join(map(_string_escaped, body)) + "'"))
        elif not any(map(unsafe, token)):
            out.append(token)
        elif kind == "ident":
            out.append(unicode_quoted(_unquoted(token, '"')))
        elif kind == "string":
            content = _unquoted(token, "'")
            out.append(_spaced(out, "E'" + "".join(map(_string_escaped, content)) + "'"))
        elif kind == "estring":
            units = _ESCAPE_UNIT.findall(token[2:-1] if token.endswith("'") else token[2:])
            out.append(token[:2] + "".join(map(_escape_unit, units)) + "'")
        else:
            out.append(printable(token, keep=_LAYOUT))
    return "".join(out)


# Text with no comment, dollar quote or backslash, whose quoted names and strings hold
# no line break or tab: its quotes are then its only enclosing tokens, matched in one
# pass (atomic: nothing to backtrack into), where _ENCLOSING goes from one to the next.
_QUOTES_ONLY = re.compile(r"""(?:[^"'\\$/-]++|"[^"\n\t\\]*+"|'[^'\n\t\\]*+'|/(?!\*)|-(?!-))*+""")


def _laid_out(text: str) -> bool:
    """Whether *text*'s only unsafe characters are line breaks and tabs between tokens, or
    in comments and dollar quotes (which :func:`script_sql` leaves as they are).

    The common case, a statement of ours on several lines, checked without
    going through it token by token.
    """
    if any(unsafe(c) for c in set(text).difference(_LAYOUT)):
        return False
    if _QUOTES_ONLY.fullmatch(text):
        return True
    position = 0
    while match := _ENCLOSING.search(text, position):
        kind, position = match.lastgroup, match.end()
        if kind == "block":
            position = _block_end(text, position)
        elif kind == "dollar":
            end = text.find(match.group(), position)
            position = len(text) if end < 0 else end + len(match.group())
        elif kind != "comment" and not _LAYOUT_CHARS.isdisjoint(match.group()):
            return False
    return True


def _escape_unit(unit: str) -> str:
    """One character, or backslash escape, of an ``E'...'`` constant, with controls escaped."""
    char = unit[-1]
    if not unsafe(char):
        return unit
    return _string_escaped(char)


def _unquoted(token: str, quote: str) -> str:
    inner = token[1:-1] if len(token) > 1 and token.endswith(quote) else token[1:]
    return inner.replace(quote * 2, quote)


def _spaced(out: list[str], token: str) -> str:
    """*token*, after a space if it would otherwise run on from a word (``E`` would join it)."""
    if out and out[-1] and (out[-1][-1].isalnum() or out[-1][-1] in "_$"):
        return " " + token
    return token


def _block_end(text: str, position: int) -> int:
    """Where the block comment opened before *position* ends: they nest in PostgreSQL."""
    depth = 1
    while depth and position < len(text):
        pair = text[position : position + 2]
        if pair == "/*":
            depth, position = depth + 1, position + 2
        elif pair == "*/":
            depth, position = depth - 1, position + 2
        else:
            position += 1
    return position


def comment(text: str, indent: str = "", width: int = 100) -> list[str]:
    r"""*text* as ``--`` comment lines for a psql script, wrapped, continuations indented.

    A comment line ends at a line break only, and psql reads no command in
    it: *text* goes through :func:`printable`, so that no character of a name
    can end the line early and start a command on the next.

    >>> comment("a name\n\\! rm -rf /", indent="   ")
    ['--    a name\\n\\! rm -rf /']
    """
    return textwrap.wrap(
        printable(text),
        width=width,
        initial_indent=f"-- {indent}",
        subsequent_indent=f"-- {indent}  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
