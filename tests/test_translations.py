"""English for every Chinese message a web user can meet, and English pages and API errors on request.

Message ids are the Chinese text. They are gathered three ways, so a new one cannot stay
Chinese-only unnoticed: every literal ``_()``/``gettext`` call in web's Python and templates
(Babel's own extractors); every label, hint, option and validator message of the page forms;
and every Chinese string in the modules whose messages reach web users (errors, titles, schema
messages), which web translates when it shows them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages import pofile
from babel.messages.extract import extract_from_dir
from databases import migrate
from flask import Flask
from werkzeug.test import Client

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
CATALOG = WEB / "translations" / "en.po"
CHINESE = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")

# Modules whose Chinese strings are messages shown to web users (through ``_(...)`` in web).
MESSAGE_MODULES = (
    "web/app.py",
    "web/pages.py",
    "web/pages_activities.py",
    "web/pages_sharing.py",
    "web/pages_volunteering.py",
    "web/pages_points.py",
    "web/pages_inbox.py",
    "web/pages_stats.py",
    # The statistics service's refusals, shown on /stats.
    "services/statistics/api.py",
    "services/statistics/schemas.py",
    # The inbox's messages, their kinds' names and the notifications service's refusals.
    "services/notifications/kinds.py",
    "services/notifications/operations.py",
    "services/notifications/api.py",
    "web/pages_awards/_common.py",
    "web/pages_awards/committee.py",
    "web/pages_awards/public.py",
    "events/vocabulary.py",
    "services/common/states.py",
    "events/messages.py",
    "services/activities/operations.py",
    "services/activities/schemas.py",
    "web/forms.py",
    "web/schemas.py",
    "web/operations/_common.py",
    "web/operations/accounts.py",
    "web/operations/signin.py",
    "web/operations/care.py",
    "web/identity.py",
    "web/services_client.py",
    "web/ethnic_groups.py",
    "services/common/app.py",
    "services/common/auth.py",
    "services/common/errors.py",
    "services/common/idempotency.py",
    "services/ledger/awards/operations/__init__.py",
    "services/ledger/awards/operations/_common.py",
    "services/ledger/awards/operations/access.py",
    "services/ledger/awards/operations/candidates.py",
    "services/ledger/awards/operations/voting.py",
    "services/ledger/awards/operations/notice.py",
    "services/ledger/awards/operations/publication.py",
    "services/ledger/awards/operations/reading.py",
    "services/ledger/awards/schemas.py",
    "services/ledger/awards/api.py",
    "services/common/fields.py",
    "services/common/api.py",
    "services/ledger/rules.py",
    "services/ledger/operations/_common.py",
    # What a volunteer at the door is told (issue 20 item 4).
    "services/volunteers/operations/admission.py",
    "services/volunteers/operations/checkin.py",
    "services/volunteers/operations/checkout.py",
    "services/volunteers/operations/codes.py",
)


def extracted_msgids() -> dict[str, str]:
    """Chinese msgids of literal _()/gettext calls in web/*.py and web/templates, with a place."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=method_map
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text and CHINESE.search(text):
                found.setdefault(text, f"web/{filename}:{lineno}")
    return found


def form_msgids() -> dict[str, str]:
    """Labels, hints, option labels and validator messages of every page form (built in Chinese)."""
    from flask_wtf import FlaskForm

    from web import forms
    from web.i18n import init_app

    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    init_app(app)
    found = {}
    with app.test_request_context("/?lang=zh"):
        for name, form_class in vars(forms).items():
            if not (isinstance(form_class, type) and issubclass(form_class, FlaskForm)):
                continue
            for field in form_class():
                texts = [field.label.text, field.description]
                texts += [getattr(v, "message", None) for v in field.validators]
                if getattr(field, "choices", None):
                    texts += [choice.label for choice in field.choices]
                for text in texts:
                    if isinstance(text, str) and CHINESE.search(text):
                        found.setdefault(text, f"web/forms.py {name}.{field.name}")
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, nodes) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def message_module_msgids() -> dict[str, str]:
    """Chinese string constants (not docstrings, not f-string parts) of the message modules."""
    found = {}
    for relative in MESSAGE_MODULES:
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                skip.update(id(part) for part in node.values)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and CHINESE.search(node.value)
            ):
                found.setdefault(node.value, f"{relative}:{node.lineno}")
    return found


def all_msgids() -> dict[str, str]:
    """Every Chinese message id a web user can meet, with where it comes from."""
    return {**message_module_msgids(), **form_msgids(), **extracted_msgids()}


def english_catalog():
    """The English catalog as Babel reads it."""
    with CATALOG.open("rb") as source:
        return pofile.read_po(source, locale="en")


def _po_stub(msgid: str) -> str:
    escaped = msgid.replace("\\", "\\\\").replace('"', '\\"')
    return f'msgid "{escaped}"\nmsgstr ""\n'


def test_every_chinese_message_a_web_user_can_meet_has_an_english_translation():
    catalog = english_catalog()
    missing = {
        msgid: where
        for msgid, where in all_msgids().items()
        if msgid not in catalog or not catalog[msgid].string or catalog[msgid].fuzzy
    }
    stubs = "\n".join(f"#: {where}\n{_po_stub(msgid)}" for msgid, where in sorted(missing.items()))
    assert not missing, f"add these to {CATALOG.relative_to(ROOT)}:\n\n{stubs}"


def test_the_message_gathering_finds_templates_forms_schemas_and_domain_errors():
    found = all_msgids()
    assert "注册成为志愿者" in found  # a template
    assert "注册成功，欢迎加入！" in found  # a _() call in web/pages.py
    assert "我同意平台保存我的民族信息，仅用于不少于 5 人的汇总统计" in found  # a form label
    assert "活动组织者" in found and "维吾尔族" in found  # option labels
    assert "请输入 11 位中国大陆手机号" in found  # a schema message
    assert "密码须同时包含字母和数字" in found  # a domain error's per-field message
    assert "请先登录" in found  # a shared error title


def test_english_translations_are_english_and_keep_their_placeholders():
    for message in english_catalog():
        if not message.id:
            continue
        assert not CHINESE.search(message.string), f"{message.id!r} is not translated to English"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
            PLACEHOLDER.findall(message.string)
        ), f"{message.id!r} and its English must name the same placeholders"


def test_templates_fill_their_messages_the_way_jinja_fills_them():
    """Jinja's ``_()`` fills ``%(name)s``; a ``{name}`` in a template's message with values
    given would be shown as it stands ("已确认 {hours} 小时", issue 20 item 1)."""
    call = re.compile(r"""_\(\s*(?:'([^'\n]*)'|"([^"\n]*)")\s*,\s*\w+\s*=""")
    wrong = [
        f"{template.name}: {message!r}"
        for template in sorted((WEB / "templates").glob("*.html"))
        for found in call.finditer(template.read_text(encoding="utf-8"))
        if re.search(r"\{\w+\}", message := found.group(1) or found.group(2))
    ]
    assert wrong == []


# ---- English on request --------------------------------------------------------------------


@pytest.fixture
def web_client(make_settings):
    """web alone on a migrated SQLite database (pages and API validation need no service)."""
    from web.app import create_app

    settings = make_settings("sqlite")
    migrate("web", settings.database_url("web"))
    return Client(create_app(settings))


def test_lang_en_gives_english_pages_and_the_choice_is_remembered(web_client):
    page = web_client.get("/register?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en">' in html
    assert "Register as a volunteer" in html and "Mobile number" in html
    assert "注册成为志愿者" not in html
    text = re.sub(r"<[^>]+>", " ", html)  # what is read, not option values (those stay Chinese)
    assert CHINESE.findall(text) == ["中", "文"], "only the link back to Chinese is in Chinese"

    remembered = web_client.get("/login").get_data(as_text=True)
    assert "Sign in" in remembered and "登录" not in remembered.replace(">中文<", "")

    back = web_client.get("/login?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-CN">' in back and "手机号或用户名" in back


def test_accept_language_en_gives_english_pages(web_client):
    html = web_client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "Mobile number or username" in html
    chinese = web_client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "手机号或用户名" in chinese.get_data(as_text=True)


def test_a_registration_api_error_in_english_names_each_field_in_english(web_client):
    answer = web_client.post(
        "/api/v1/accounts",
        json={"phone": "12345", "password": "pomegranate2026", "home_unit_id": "fc"},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 422
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    body = answer.get_json()
    assert body["title"] == "Please check what you entered"
    assert body["errors"]["json"]["phone"] == ["Enter an 11-digit mainland China mobile number"]
    assert body["errors"]["json"]["name"] == ["Required"]

    chinese = web_client.post(
        "/api/v1/accounts",
        json={"phone": "12345", "password": "pomegranate2026", "home_unit_id": "fc"},
        headers={"Accept-Language": "zh-CN"},
    ).get_json()
    assert chinese["errors"]["json"]["phone"] == ["请输入 11 位中国大陆手机号"]


def test_a_registration_refused_by_a_rule_is_explained_in_english(web_client):
    answer = web_client.post(
        "/api/v1/accounts?lang=en",
        json={
            "phone": "13955550199",
            "password": "pomegranate2026",
            "name": "Ma Xiaoyan",
            "home_unit_id": "no-such-community",
        },
    )
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["detail"] == "No such unit"
    assert body["errors"] == {"home_unit_id": ["No such unit"]}


def _crossed(error) -> tuple[dict, object]:
    """A service's refusal as its problem+json body, and as web's DomainError made from it."""
    from services.common.errors import problem
    from web.services_client import refusal

    with Flask(__name__).app_context():
        body = problem(
            error.status,
            error.code,
            error.title,
            error.detail,
            errors=error.errors,
            message=error.message,
        ).get_json()
    return body, refusal(error.status, body)


def test_a_service_refusal_carries_its_key_and_values_and_web_shows_it_in_english():
    from types import SimpleNamespace

    from services.common.errors import DomainError
    from services.ledger.awards.operations._common import check_move
    from web import i18n

    with pytest.raises(DomainError) as refused:
        check_move(SimpleNamespace(status="open"), "open")  # "open" starts only from a draft
    body, error = _crossed(refused.value)
    assert (
        body["detail"] == "只有草稿状态的评选可以开始（当前状态：评审中）"
    )  # as API clients read it
    assert body["message"] == {
        "key": "{what}（当前状态：{status}）",
        "values": {
            "what": {"key": "只有草稿状态的评选可以开始", "values": {}},
            "status": {"key": "评审中", "values": {}},  # a label: translated too
        },
    }
    assert not hasattr(i18n, "translate_filled")  # nothing reads filled text back
    app = Flask(__name__)
    i18n.init_app(app)
    with app.test_request_context("/?lang=en"):
        assert i18n.explain(error) == (
            "Only a draft selection can be started (current status: Under review)"
        )
    with app.test_request_context("/?lang=zh"):
        assert i18n.explain(error) == body["detail"]


def test_field_messages_carry_their_meaning_beside_the_filled_text():
    from marshmallow import ValidationError

    from services.common.errors import DomainError
    from services.ledger.awards.schemas import AwardStoryIn
    from web import i18n

    with pytest.raises(ValidationError) as invalid:
        AwardStoryIn().load({"volunteer_id": "v1", "story": "长" * 2001})
    refused = DomainError(
        "有字段不符合要求，详见 errors", errors=invalid.value.messages, status=422
    )
    body, error = _crossed(refused)
    story = body["errors"]["story"][0]
    assert story.startswith("最多 ") and story.endswith(" 个字")  # the filled Chinese text
    maximum = body["error_messages"]["story"][0]["values"]["maximum"]
    assert body["error_messages"]["story"] == [
        {"key": "最多 {maximum} 个字", "values": {"maximum": maximum}}
    ]
    app = Flask(__name__)
    i18n.init_app(app)
    with app.test_request_context("/?lang=en"):
        assert i18n.render_errors(error.errors) == {"story": [f"At most {maximum} characters"]}
        assert i18n.render("没有这种说法 42") == "没有这种说法 42"  # plain text: its own entry
    with app.test_request_context("/?lang=zh"):
        assert i18n.render_errors(error.errors) == {"story": [story]}


def test_times_on_every_page_follow_the_language(web_client):
    from web.pages_activities import local
    from web.pages_volunteering import volunteering_time

    app = web_client.application
    moment = "2026-03-08T01:00:00+00:00"  # 09:00 in the city
    with app.test_request_context("/?lang=en"):
        assert volunteering_time(moment) == local(moment) == "Mar 08, 09:00"
    with app.test_request_context("/"):
        assert volunteering_time(moment) == local(moment) == "03月08日 09:00"
        assert volunteering_time(moment, "%H:%M") == "09:00"
