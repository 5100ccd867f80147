"""Every string marked for translation has its Simplified Chinese translation.

``makemessages`` runs as a maintainer would, over the templates and the apps' Python, but
on a copy of locale/, so the check never changes the working tree. Any msgid whose
msgstr is empty or fuzzy fails the test, listed with where it is used. The admin's
templates stay English and are not read. To fix a failure: run the ``makemessages``
command of the README, translate the entries it lists in
locale/zh_Hans/LC_MESSAGES/django.po, and ``make messages``.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.translations import LOCALE, ROOT, po_entries, stale_catalogues

pytestmark = pytest.mark.slow  # makemessages reads every template and module: seconds
SOURCES = ["portal", "ingest", "access_requests", "templates"]
IGNORED = ["templates/admin/*", "*/migrations/*"]
CATALOGUE = Path("zh_Hans") / "LC_MESSAGES" / "django.po"


def untranslated(
    workdir: Path, settings, extra: dict[str, str] | None = None, locale: Path = LOCALE
) -> list[str]:
    """The msgids with no Simplified Chinese translation, after makemessages on a copy.

    ``extra`` adds files (path -> text) beside the project's, to show the check sees them.
    """
    for name in SOURCES:
        (workdir / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copytree(locale, workdir / "locale", ignore=shutil.ignore_patterns("*.mo"))
    for relative, text in (extra or {}).items():
        path = workdir / "extra" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings.LOCALE_PATHS = []  # the copy in the working directory is the only catalogue
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            symlinks=True,
            ignore_patterns=IGNORED,
            no_obsolete=True,
            verbosity=0,
        )
    entries = po_entries((workdir / "locale" / CATALOGUE).read_text())
    return [str(entry) for entry in entries if entry.untranslated and not entry.obsolete]


def test_every_marked_string_has_a_simplified_chinese_translation(tmp_path, settings):
    missing = untranslated(tmp_path, settings)
    assert not missing, (
        f"{len(missing)} string(s) have no Simplified Chinese translation in "
        f"locale/{CATALOGUE} (run makemessages as the README says, then translate):\n  "
        + "\n  ".join(missing)
    )


def test_the_check_finds_a_new_template_string_and_a_python_string(tmp_path, settings):
    missing = untranslated(
        tmp_path,
        settings,
        extra={
            "page.html": '{% load i18n %}<p>{% translate "A sentence nobody translated" %}</p>',
            "module.py": 'from django.utils.translation import gettext\ngettext("Untold")\n',
        },
    )
    assert any("A sentence nobody translated" in item for item in missing), missing
    assert any("'Untold'" in item for item in missing), missing


def test_the_check_finds_a_fuzzy_translation(tmp_path, settings):
    catalogue = (LOCALE / CATALOGUE).read_text()
    entry = 'msgid "Policy history"\n'
    assert entry in catalogue
    fuzzy_copy = tmp_path / "fuzzy"
    fuzzy_copy.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copytree(LOCALE, fuzzy_copy / "locale")
    (fuzzy_copy / "locale" / CATALOGUE).write_text(catalogue.replace(entry, "#, fuzzy\n" + entry))
    missing = untranslated(workdir, settings, locale=fuzzy_copy / "locale")
    assert any("'Policy history'" in item for item in missing), missing


def test_the_catalogue_compiles_without_a_format_error(tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt is missing: make gettext"
    result = subprocess.run(
        [msgfmt, "--check", "-o", str(tmp_path / "django.mo"), str(LOCALE / CATALOGUE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_compiled_catalogue_is_current_and_read():
    assert stale_catalogues() == []  # the root conftest.py compiled what was stale
    with translation.override("zh-hans"):
        assert translation.gettext("Policy history") == "政策历史"
