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

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

_KINDS: dict[str, "MessageKind"] = {}


@dataclass(frozen=True)
class MessageKind:
    """A stable code and its text, a lazy translation with %(name)s placeholders."""

    code: str
    text: Promise

    def __call__(self, **params: Any) -> "Message":
        """This kind of message with its parameters, ready to be stored."""
        return Message(kind=self, params=params)

    def render(self, params: dict[str, Any]) -> str:
        """The text in the active language, with the parameters in it."""
        # A parameter may itself be a stored message (a refusal quoted in a failure).
        params = {
            name: message_text(value) if isinstance(value, dict | Message) else value
            for name, value in params.items()
        }
        try:
            # `%` on the lazy text, so that a plural (ngettext_lazy) picks its form by count.
            return str(self.text % params)
        except (KeyError, TypeError, ValueError):
            # A parameter went missing (a message kept from an older version): the bare text.
            try:
                return str(self.text)
            except (KeyError, TypeError, ValueError):
                return self.code


@dataclass(frozen=True)
class Message:
    """A message to keep: its kind and its parameters. `str()` gives its text in the active
    language, so it can stand wherever text is expected (an exception, a form error)."""

    kind: MessageKind
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.kind.render(self.params)

    def as_json(self) -> dict[str, Any]:
        """The message as stored in a JSON field beside other values (a sheet's problems)."""
        params = {
            name: value.as_json() if isinstance(value, Message) else value
            for name, value in self.params.items()
        }
        return {"message_code": self.kind.code, "params": params}

    def encode(self) -> str:
        """The message as stored in a text column (an export batch's error)."""
        return json.dumps(self.as_json(), ensure_ascii=False, default=str)


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


def message_text(value: Any) -> str:
    """Any stored message in the active language: a `Message`, its `as_json()` dict, its
    `encode()`d text, or finished text kept by an older version (shown as it is)."""
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, str):
        if not value.startswith('{"message_code"'):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value if isinstance(value, str) else ""
    if isinstance(value, dict):
        code = value.get("message_code")
        if code is None:
            return str(value.get("message", ""))
        return message_render(code, value.get("params") or {}, fallback=value.get("message", ""))
    return "" if value is None else str(value)


def message_of(error: Exception) -> "Message | str":
    """What an exception says, kept as a message when it was raised with one."""
    first = error.args[0] if error.args else ""
    if isinstance(first, Message):
        return first
    messages = getattr(error, "messages", None)
    if messages is not None and not error.args:
        return "; ".join(messages)
    return str(error)
