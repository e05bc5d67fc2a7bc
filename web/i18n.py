"""Chinese first, English on request: ?lang=en, a remembered choice, or Accept-Language.

Message ids are the Chinese text; ``web/translations/en.po`` holds the English. The catalog is
compiled in memory at start-up with Babel, so no compiled files are kept in the repository.
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from babel.messages import mofile, pofile
from babel.support import NullTranslations, Translations
from flask import Flask, g, request

LOCALES = ("zh", "en")
COOKIE = "shiliu_lang"
_CATALOGS: dict[str, NullTranslations] = {}


def _load(locale: str) -> NullTranslations:
    path = Path(__file__).parent / "translations" / f"{locale}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = pofile.read_po(source, locale=locale)
    buffer = io.BytesIO()
    mofile.write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def current_locale() -> str:
    """The locale of this request."""
    if "locale" not in g:
        asked = request.args.get("lang") or request.cookies.get(COOKIE)
        if asked not in LOCALES:
            asked = request.accept_languages.best_match(LOCALES, default="zh")
        g.locale = asked
    return g.locale


def gettext(message: str, **values) -> str:
    """Translate a Chinese message id into the request's locale and fill in its values."""
    try:
        locale = current_locale()
    except RuntimeError:  # outside a request
        locale = "zh"
    text = message
    if locale != "zh":
        if locale not in _CATALOGS:
            _CATALOGS[locale] = _load(locale)
        text = _CATALOGS[locale].gettext(message)
    return text.format(**values) if values else text


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extraction knows
    """Mark a message for translation where it is defined; ``_`` translates it where shown."""
    return message


def explain(error) -> str:
    """A domain error's detail in the request's language, its values translated too."""
    if not error.values:
        return translate_filled(error.template)
    values = {k: gettext(v) if isinstance(v, str) else v for k, v in error.values.items()}
    return gettext(error.template, **values)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def _filled_patterns(locale: str) -> tuple[tuple[re.Pattern, str], ...]:
    """The catalog's message ids with ``{names}``, as patterns that read the values back."""
    if locale not in _CATALOGS:
        _CATALOGS[locale] = _load(locale)
    catalog = getattr(_CATALOGS[locale], "_catalog", {})
    patterns = []
    for msgid in catalog:
        if not isinstance(msgid, str) or not _PLACEHOLDER.search(msgid):
            continue
        seen: set[str] = set()
        regex = ""
        for part in re.split(r"(\{\w+\})", msgid):
            name = _PLACEHOLDER.fullmatch(part)
            if name is None:
                regex += re.escape(part)
            elif name.group(1) in seen:
                regex += f"(?P={name.group(1)})"
            else:
                seen.add(name.group(1))
                regex += f"(?P<{name.group(1)}>.+?)"
        patterns.append((re.compile(regex, re.DOTALL), msgid))
    # The longest ids first: "（当前状态：{status}）" must not win over the whole sentence.
    return tuple(sorted(patterns, key=lambda p: -len(p[1])))


def translate_filled(text: str) -> str:
    """Translate a message, also one whose values were filled in already (a service's detail
    crosses HTTP as text): the catalog id it was made from is found, and its values translated."""
    translated = gettext(text)
    try:
        locale = current_locale()
    except RuntimeError:
        return translated
    if locale == "zh" or translated != text or not text:
        return translated
    for pattern, msgid in _filled_patterns(locale):
        found = pattern.fullmatch(text)
        if found is not None:
            values = {k: translate_filled(v) for k, v in found.groupdict().items()}
            return gettext(msgid).format(**values)
    return translated


def language_url(locale: str) -> str:
    """This page's address in another language, keeping the rest of its query."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [locale]
    return request.path + "?" + urlencode(args, doseq=True)


def init_app(app: Flask) -> None:
    """Install gettext into templates and remember an explicit ?lang= choice."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(
        lambda message: gettext(message), lambda s, p, n: gettext(s if n == 1 else p), newstyle=True
    )
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["language_url"] = language_url

    @app.after_request
    def _remember_language(response):
        asked = request.args.get("lang")
        if asked in LOCALES:
            response.set_cookie(
                COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response
