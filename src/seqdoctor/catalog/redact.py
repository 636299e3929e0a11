"""Connection strings and libpq's words about them, with every password taken out.

A password can sit in a conninfo in many places: ``password=``, the user
part of a URI (percent-encoded or not), a URI's ``?password=``, or a whole
URI given as ``dbname`` (libpq expands a dbname holding ``=`` or a URI
prefix as a conninfo of its own). And libpq's parse errors quote the piece
of input they stumbled on, which can be the password itself. Whatever
seqdoctor shows of a conninfo (a target's name, a label, an error on
stderr) goes through here.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from seqdoctor.catalog.display import printable

HIDDEN = "****"
NOT_UTF8 = psycopg.ProgrammingError("a percent-encoded value is not UTF-8")
_URI = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
# What a URI's user part may hold as its password when written unencoded: from
# the first colon after "//" to the last "@". libpq may split such a password
# at a "/" or "?" and read its pieces as a host, a port or a database name.
_URI_PASSWORD = re.compile(r"^postgres(?:ql)?://[^:@]*:(.*)@", re.IGNORECASE | re.DOTALL)
# Where a password written unencoded may be cut, its pieces read as other things.
_DELIMITERS = re.compile(r"[/?#@:&=\s'\"\\]")
# A password= value as written, read even where libpq cannot parse the rest:
# quoted (to the closing quote, or the end), or up to a blank or "&"; and the
# whole run of non-blanks, should a quote end it early.
_KEYWORD_PASSWORD = re.compile(
    r"(?:^|[\s?&])password\s*=\s*('(?:[^'\\]|\\.)*'?|[^\s&]*)", re.IGNORECASE | re.DOTALL
)
_KEYWORD_RUN = re.compile(r"(?:^|[\s?&])password\s*=\s*(\S*)", re.IGNORECASE)


def parameters(conninfo: str) -> dict[str, str]:
    """The conninfo's parameters as libpq uses them: a dbname holding a conninfo is expanded.

    Raises psycopg.ProgrammingError when libpq cannot parse it.

    >>> parameters("port=5433 dbname=postgresql://app:pw@db1/shop")
    {'port': '5433', 'user': 'app', 'password': 'pw', 'dbname': 'shop', 'host': 'db1'}
    """
    params = _parsed(conninfo)
    dbname = params.get("dbname", "")
    if "=" in dbname or _URI.match(dbname):
        # As libpq: the expanded values override the others, the rest stay.
        del params["dbname"]
        params.update(_parsed(dbname))
    return params


def _parsed(conninfo: str) -> dict[str, str]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    except UnicodeDecodeError:  # psycopg decodes libpq's values as UTF-8
        raise NOT_UTF8 from None


def passwords(conninfo: str) -> set[str]:
    """Every password the conninfo holds, as parsed and as written (a URI's is percent-encoded).

    >>> sorted(passwords("postgresql://u:abc/cdef@h/db"))
    ['abc', 'abc/cdef', 'cdef']
    >>> sorted(passwords("host=h password='a bc"))  # libpq cannot parse it
    ["'a bc", 'a bc']
    """
    found = set()
    for text in (conninfo, *_nested(conninfo)):
        written = [*_KEYWORD_PASSWORD.findall(text), *_KEYWORD_RUN.findall(text)]
        if match := _URI_PASSWORD.match(text.strip()):
            written.append(match.group(1))
        for value in written:
            # Pieces too short would hide every such letter pair of a message.
            decoded = unquote(value)
            pieces = {value, value.strip("'"), decoded, *_DELIMITERS.split(value)}
            pieces |= {*_DELIMITERS.split(decoded)}
            found |= {p for p in pieces if len(p) >= 3}
    try:
        found.add(parameters(conninfo).get("password", ""))
        found.add(_parsed(conninfo).get("password", ""))
    except psycopg.ProgrammingError:
        pass
    return {p for p in found if p}


def _nested(conninfo: str) -> list[str]:
    try:
        return [_parsed(conninfo).get("dbname", "")]
    except psycopg.ProgrammingError:
        return []


def scrubbed(text: str, conninfo: str) -> str:
    """*text* with every password of *conninfo* replaced by ``****``.

    >>> scrubbed('connection to "db1" failed for p%40ss and p@ss', "postgresql://u:p%40ss@db1/x")
    'connection to "db1" failed for **** and ****'
    """
    for password in sorted(passwords(conninfo), key=len, reverse=True):
        text = text.replace(password, HIDDEN)
    return text


def dbname(conninfo: str) -> str:
    """The database a conninfo names, as libpq reads it, with no piece of a password in it.

    Empty when libpq cannot parse the conninfo: the error says so elsewhere.

    >>> dbname("postgresql://app:x/secret@db1/shop"), dbname("dbname=postgresql://h/shop")
    ('****@db1/shop', 'shop')
    >>> dbname("postgresql://h/shop?password")
    ''
    """
    try:
        return scrubbed(parameters(conninfo).get("dbname", ""), conninfo)
    except psycopg.ProgrammingError:
        return ""


def parse_error(error: Exception) -> str:
    """libpq's reason for refusing a conninfo, without the input it quotes.

    The quoted piece can be a password (``invalid connection option "b"``
    from ``password=a b=c``), or a whole URI with its user part: libpq's words
    stay, what they quote from the input does not.

    >>> parse_error(Exception('missing "=" after "s3cret" in connection info string'))
    'missing "=" after "…" in connection info string'
    >>> parse_error(Exception('unexpected character ":" at position 20 in URI: "postgresql://u:pw@"'))
    'unexpected character "…"'
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = lines[0] if lines else type(error).__name__
    kept = message.replace('"="', "\0")
    first, last = kept.find('"'), kept.rfind('"')
    if first >= 0:
        kept = kept[:first] + '"…"' + (kept[last + 1 :] if last > first else "")
    return printable(kept.replace("\0", '"="'))
