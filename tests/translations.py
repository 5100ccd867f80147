"""The translations the tests read: locale/*/LC_MESSAGES/django.po, compiled and checked.

Django reads the compiled .mo files, which are not kept in git. ``make test`` compiles
them first (``make messages``); ``catalogues_compile_stale`` does the same when pytest
is run directly, so a test never reads a catalogue older than its .po.
"""

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
HOW_TO_COMPILE = "run `make messages` (it installs Debian's gettext when msgfmt is missing)"


def stale_catalogues(locale: Path = LOCALE) -> list[Path]:
    """Every .po whose .mo is missing or older."""
    stale = []
    for po in sorted(locale.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    return stale


def catalogues_compile_stale(locale: Path = LOCALE) -> list[Path]:
    """Compile what is stale, as compilemessages does; say what to run without msgfmt."""
    stale = stale_catalogues(locale)
    if not stale:
        return []
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        names = ", ".join(str(po.relative_to(locale.parent)) for po in stale)
        raise RuntimeError(f"The translations are not compiled ({names}): {HOW_TO_COMPILE}.")
    for po in stale:
        subprocess.run(
            [msgfmt, "--check-format", "-o", str(po.with_suffix(".mo")), str(po)],
            check=True,
            capture_output=True,
        )
    return stale


# --- reading a .po file ----------------------------------------------------------------------

_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False
    where: list[str] = field(default_factory=list)

    @property
    def untranslated(self) -> bool:
        return self.fuzzy or not self.translations or not all(self.translations)

    def __str__(self) -> str:
        context = f" (context {self.context!r})" if self.context else ""
        where = f" [{' '.join(self.where)}]" if self.where else ""
        return f"{self.msgid!r}{context}{where}"


def po_entries(text: str) -> list[Entry]:
    """The entries of a .po file, its header left out."""
    entries = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        current = None
        entry = Entry(msgid="")
        for line in block.strip().splitlines():
            if line.startswith("#~"):
                entry.obsolete = True
                continue
            if line.startswith("#,"):
                entry.fuzzy = "fuzzy" in line
            elif line.startswith("#:"):
                entry.where.extend(line[2:].split())
            match = _FIELD.match(line)
            if match:
                current = match.group(1)
                fields[current] = [match.group(2)]
            elif line.startswith('"') and current:
                fields[current].append(line)
        if "msgid" not in fields:
            continue
        text_of = {name: "".join(map(ast.literal_eval, parts)) for name, parts in fields.items()}
        entry.msgid = text_of["msgid"]
        entry.context = text_of.get("msgctxt")
        entry.plural = text_of.get("msgid_plural")
        entry.translations = [v for k, v in sorted(text_of.items()) if k.startswith("msgstr")]
        if entry.msgid or entry.context:
            entries.append(entry)
    return entries
