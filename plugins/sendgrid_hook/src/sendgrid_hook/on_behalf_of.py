"""The ``on-behalf-of`` header: which subuser names can be sent, and how.

SendGrid reads a subuser's resources when the parent's credential sends the subuser's username
in ``on-behalf-of``. HTTP/1.1 carries header values as octets; ``http.client`` would encode a
``str`` as Latin-1 and fail on any other character, so a username outside ASCII is sent as its
UTF-8 bytes (what a server comparing bytes matches). A name holding a control character (a
line break would end the header) or a lone surrogate cannot be sent at all:
:func:`unsendable` says why, and the extract leaves such a subuser unread with one reject per
stream instead of failing it on every run.
"""

from __future__ import annotations

from sendgrid_hook.errors import SendGridFatalError


def unsendable(name: str) -> str | None:
    """Why ``name`` cannot be sent as ``on-behalf-of`` (``None``: it can)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name.strip()):
        return "holds a control character"
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return "is not valid Unicode"
    return None


def header_value(name: str) -> str | bytes:
    """The ``on-behalf-of`` value as sent: ASCII as is, anything else as UTF-8 bytes.

    Raises:
        SendGridFatalError: ``name`` cannot be sent (:func:`unsendable`).
    """
    problem = unsendable(name)
    if problem is not None:
        raise SendGridFatalError(f"on-behalf-of {problem}")
    value = name.strip()
    return value if value.isascii() else value.encode("utf-8")
