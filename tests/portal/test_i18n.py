"""Chinese first, English available: both catalogues complete and in step with the source."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
IGNORED = [".venv", ".git", "var", "tests", "bench", "staticfiles", "scripts", "docs", "media"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\{\s*\w+\s*\}\}|%[sd]")


def test_there_is_a_chinese_and_an_english_catalogue():
    languages = {path.parts[-3] for path in CATALOGUES}
    assert {"zh_Hans", "en"} <= languages


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_every_message_is_translated(path):
    catalogue = polib.pofile(str(path))
    untranslated = [e.msgid for e in catalogue if not e.translated() or "fuzzy" in e.flags]
    assert untranslated == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_translations_keep_their_placeholders(path):
    catalogue = polib.pofile(str(path))
    broken = []
    for entry in catalogue:
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            if sorted(PLACEHOLDER.findall(text)) != wanted and not entry.msgid_plural:
                broken.append((entry.msgid, text))
    assert broken == []


def test_the_catalogues_hold_every_message_of_the_source(tmp_path):
    """makemessages on a copy of the source finds no message missing from the catalogues."""
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(*IGNORED, "*.sqlite3", "__pycache__"))
    ignore = [arg for pattern in IGNORED for arg in ("--ignore", pattern)]
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-v", "0", *ignore],
        cwd=copy,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"},
    )
    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = {e.msgid for e in fresh if not e.obsolete} - {e.msgid for e in committed}
    assert missing == set()
