"""Catalog text made safe to print: in a `--` comment of a psql script, or on a terminal.

Any role that may create a table, column, constraint, view or function chooses its name, and
those names (and the definitions PostgreSQL deparses from them) end up in the scripts and
messages uuidpk prints. A name may hold any character but NUL. In a psql script a newline ends
a `--` comment, and the next line is read as SQL or as a psql meta-command (`\\! cmd` runs a
shell command as whoever runs psql); on a terminal, escape sequences repaint the screen or hide
what came before, and carriage returns overwrite a line.

So every character that can end, hide or reorder a line is written as a visible escape:
C0 controls (including tab, CR, LF, form feed, ESC), DEL, C1 controls (including U+0085 NEL),
the Unicode line and paragraph separators U+2028/U+2029, and the bidirectional formatting
characters ("Trojan Source": text that displays in another order than it is read). Everything
else passes unchanged, backslashes included, so ordinary names look as they are.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Cc (C0, DEL, C1), Zl, Zp and the bidi controls: ALM, LRM, RLM, LRE..RLO, LRI..PDI.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object) -> str:
    """Text for one line on a terminal or in a log: no control character survives raw."""
    return _UNSAFE.sub(_escape, str(text))


def for_comment(text: object) -> str:
    """Text for the inside of one `--` comment line of a SQL script.

    psql ends a `--` comment only at a newline, and reads no meta-command or variable inside
    it; escaping every line-ending and control character (for_terminal) keeps the comment on
    its line. The escapes are the same, so a reader sees in the script what the terminal shows."""
    return for_terminal(text)


def is_safe(text: str) -> bool:
    """True when for_terminal would leave the text unchanged."""
    return _UNSAFE.search(text) is None


# A run of characters without unquoted white space: a keyword, a qualified name with quoted
# parts ("App"."Order ""x"" y"), a literal with spaces inside.
_TOKEN = re.compile(r"""(?:"(?:[^"]|"")*"?|'(?:[^']|'')*'?|[^\s"'])+""")


def shorten_statement(text: str, limit: int = 160) -> str:
    """A statement on one line for a message: white space collapsed, and when longer than
    limit, cut between two tokens (never inside a name or a literal) with an ellipsis. The
    first token is kept whole, however long."""
    tokens = _TOKEN.findall(text)
    line = " ".join(tokens)
    if len(line) <= limit:
        return line
    kept = tokens[:1]
    length = len(kept[0]) if kept else 0
    for token in tokens[1:]:
        if length + 1 + len(token) > limit:
            break
        kept.append(token)
        length += 1 + len(token)
    return " ".join(kept) + " …"
