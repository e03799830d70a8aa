"""Refresh both catalogues from the source: `python scripts/messages.py`.

Runs makemessages for zh_Hans and en, then fills the English catalogue (msgids are English, so
each English msgstr is its msgid; plural entries too). Chinese entries still need a translator.
"""

import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
IGNORE = [".venv", ".git", "var", "tests", "bench", "staticfiles", "scripts", "docs", "media"]


def main() -> int:
    args = [
        sys.executable,
        "manage.py",
        "makemessages",
        "-l",
        "zh_Hans",
        "-l",
        "en",
        "--no-obsolete",
    ]
    for pattern in IGNORE:
        args += ["--ignore", pattern]
    subprocess.run(args, cwd=ROOT, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    js = [
        sys.executable,
        "manage.py",
        "makemessages",
        "-d",
        "djangojs",
        "-l",
        "zh_Hans",
        "-l",
        "en",
    ]
    for pattern in IGNORE:
        js += ["--ignore", pattern]
    subprocess.run(js, cwd=ROOT, check=True)
    for domain in ("django", "djangojs"):
        path = ROOT / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"
        if not path.exists():
            continue
        catalogue = polib.pofile(str(path))
        for entry in catalogue:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
            else:
                entry.msgstr = entry.msgid
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        catalogue.save()
    zh = polib.pofile(str(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in zh if not e.translated() or "fuzzy" in e.flags]
    print(f"zh_Hans: {len(zh)} entries, {len(missing)} to translate")
    for msgid in missing:
        print("  ", msgid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
