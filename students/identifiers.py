"""The student number (学籍号): its one format, for the model, the imports and the bases app."""

import re

STUDENT_NUMBER_REGEX = r"\A[A-Za-z0-9]{6,32}\Z"


def is_student_number(value: str) -> bool:
    """True when the text (already stripped) has the student number's format."""
    return re.fullmatch(STUDENT_NUMBER_REGEX, value) is not None
