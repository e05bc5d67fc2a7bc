"""Chinese first, English on request: ?lang=en, a remembered choice, or Accept-Language.

Message ids are the Chinese text; ``web/translations/en.po`` holds the English. The catalog is
compiled in memory at start-up with Babel, so no compiled files are kept in the repository.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlencode

from babel.messages import mofile, pofile
from babel.support import NullTranslations, Translations
from flask import Flask, g, request

from events.messages import Message

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


def render(text) -> str:
    """A message in the request's language: a ``Message`` from its key and values (a value that
    is a ``Message`` too is rendered likewise; others are shown as they are), plain text by its
    own catalog entry."""
    if not isinstance(text, Message):
        return gettext(text) if isinstance(text, str) else text
    values = {
        name: render(value) if isinstance(value, Message) else value
        for name, value in text.values.items()
    }
    return gettext(text.key, **values) if values else gettext(text.key)


def explain(error) -> str:
    """A domain error's detail in the request's language (from its key and values)."""
    return render(error.message)


def render_errors(errors):
    """Per-field messages (however deeply nested) in the request's language."""
    if isinstance(errors, dict):
        return {name: render_errors(value) for name, value in errors.items()}
    if isinstance(errors, list):
        return [render_errors(item) for item in errors]
    return render(errors) if isinstance(errors, str) else errors


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
