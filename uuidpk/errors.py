"""Errors a user can cause. cli.py turns each into one line on stderr and exit code 1."""


class UuidpkError(Exception):
    """Base class: anything uuidpk reports to the user without a traceback."""


class UsageProblem(UuidpkError):
    """The request itself is malformed (what click calls a usage error: exit code 2)."""


class ConnectionFailed(UuidpkError):
    """The database could not be reached or refused the login."""


class TableNotFound(UuidpkError):
    """A table named by the user does not exist (or is not a table)."""


class Refused(UuidpkError):
    """The conversion cannot be done as asked; nothing was changed."""


class RefusedAll(Refused):
    """Several reasons to refuse, all found before anything changed: one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = tuple(lines)


class MigrationFailed(UuidpkError):
    """The database raised an error while the plan ran; the transaction was rolled back."""


class VerificationFailed(UuidpkError):
    """The state after the change differs from the fingerprint taken before it."""


class BadKey(UuidpkError):
    """A derivation key given by the user is unusable."""


def primary_message(exc: BaseException) -> str:
    """One line of what the server said: its primary message when there is one, else the first
    line of the exception's text."""
    diag = getattr(exc, "diag", None)
    text = (getattr(diag, "message_primary", None) or str(exc)).strip()
    return (text.splitlines() or [type(exc).__name__])[0]


class ForeignToolSchema(Refused):
    """A schema named uuidpk exists that the tool did not make: the tool will not write there."""
