"""The rotating code of a session's check-in screen (时长码).

A code is an HMAC of the session and the time step, keyed from SECRET_KEY, so nothing is stored
per code: the server recomputes it. The code changes every `STEP_SECONDS`; a code is accepted
during its own step and the next one (a grace step for a slow phone), never later, so a
forwarded screenshot stops working within a minute.
"""

from datetime import datetime

from django.utils.crypto import constant_time_compare, salted_hmac

STEP_SECONDS = 30
# Six characters a student can type without confusion: no 0/O, 1/I/L, 5/S, 2/Z, 8/B.
ALPHABET = "346789ACDEFGHJKMNPQRTUVWXY"
LENGTH = 6
# The current step and the one before it.
ACCEPTED_STEPS = 2
_SALT = "bases.checkin_codes"


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def seconds_left(moment: datetime) -> int:
    """Seconds until the code shown at `moment` changes."""
    return STEP_SECONDS - int(moment.timestamp()) % STEP_SECONDS


def code_for(*, session_id: int, step: int) -> str:
    number = int.from_bytes(salted_hmac(_SALT, f"{session_id}:{step}").digest()[:8], "big")
    characters = []
    for _position in range(LENGTH):
        number, index = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[index])
    return "".join(characters)


def normalise(code: str) -> str:
    """What a student typed, as the code would be shown: no spaces, upper case."""
    return "".join(code.split()).upper()


def code_step(*, session_id: int, code: str, now: datetime) -> int | None:
    """The step whose code this is, if it is still accepted at `now`; else None."""
    code = normalise(code)
    current = step_of(now)
    for step in range(current, current - ACCEPTED_STEPS, -1):
        if constant_time_compare(code, code_for(session_id=session_id, step=step)):
            return step
    return None
