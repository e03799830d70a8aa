"""Messages kept as a code and parameters, and shown in the language of whoever reads them.

A notification is written once, by one person's action, and read later by someone else, maybe in
another language (a coordinator writing in Chinese, a student reading in English). So a stored
message is never finished text: it is a code with its parameters, and its text is looked up in
the reader's language when the message is shown or e-mailed.

Each app declares its kinds of message in its own `messages.py` with `message_kind`, and loads that
module in its AppConfig, so every process (web or worker) can render every stored code. Parameters
are plain JSON values; anything language-bound (a date's wording, a status name) is not put in a
parameter but in the message's own text.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

_KINDS: dict[str, "MessageKind"] = {}


@dataclass(frozen=True)
class MessageKind:
    """A stable code and its text, a lazy translation with %(name)s placeholders."""

    code: str
    text: Promise

    def render(self, params: dict[str, Any]) -> str:
        """The text in the active language, with the parameters in it."""
        try:
            return str(self.text) % params
        except (KeyError, TypeError, ValueError):
            # A parameter went missing (a message kept from an older version): the bare text.
            return str(self.text)


def message_kind(code: str, text: Promise) -> MessageKind:
    """Declare a kind of message; a code means one text for good."""
    known = _KINDS.get(code)
    if known is not None and known.text is not text:
        raise ValueError(f"message code {code!r} is declared twice")
    kind = _KINDS[code] = MessageKind(code=code, text=text)
    return kind


def message_render(code: str, params: dict[str, Any], *, fallback: str = "") -> str:
    """The stored message in the active language; `fallback` for a code no app declares."""
    kind = _KINDS.get(code)
    if kind is None:
        return fallback
    return kind.render(params)
