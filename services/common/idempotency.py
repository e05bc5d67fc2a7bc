"""Idempotency-Key on POSTs that create things: a repeated request returns the first answer.

One behaviour for every JSON API of the platform: each creating POST wears ``@idempotent`` (units,
activities and their copies; the ledger's adjustments and rules; award cycles and objections;
web's accounts, staff and role grants) and nothing else reads the header.

- The header is optional; without it the request is simply carried out.
- A key is at most 200 characters (else 400 ``idempotency-key-too-long``) and belongs to its
  caller (the signed-in account, or "anonymous"): two callers' equal keys never meet.
- The same key with the same request (method, path and body) answers the first answer again,
  its status and body as they were then, with ``Idempotent-Replayed: true``.
- The same key with a different request is refused: 422 ``idempotency-key-reused``.
- A request still in flight with the same key: 409 ``idempotency-key-in-use`` (retry); a first
  request whose answer was not saved: 409 ``idempotency-result-unknown``.
- Only a success (2xx) is remembered: a refused request may be sent again with its key.

The key is written in the same database transaction as what the request created (see
``services.common.app.transaction``), so a key is never recorded without its effect nor an
effect without its key. The answer is stored right after; two requests racing with one key
meet the primary key, and the loser changes nothing and is told to retry.
"""

from __future__ import annotations

import functools
import hashlib

from flask import Response, g, request
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from events.envelope import utcnow
from events.store import idempotency_keys
from services.common.errors import Conflict, DomainError

HEADER = "Idempotency-Key"


def _scope() -> str:
    from services.common.auth import principal

    who = principal()
    return who.account_id if who else "anonymous"


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data() or b"")
    return digest.hexdigest()


def record_key(session) -> None:
    """Called by ``transaction()``: write this request's key with the effect it guards."""
    pending = g.get("idempotency")
    if pending and not pending.get("recorded"):
        session.execute(
            insert(idempotency_keys).values(
                scope=pending["scope"],
                key=pending["key"],
                request_hash=pending["hash"],
                created_at=utcnow(),
            )
        )
        pending["recorded"] = True


def idempotent(view):
    """Decorator for a creating POST: honour an Idempotency-Key header."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from services.common.app import db

        key = (request.headers.get(HEADER) or "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise DomainError("Idempotency-Key 最长 200 个字符", code="idempotency-key-too-long")
        scope, request_hash = _scope(), _request_hash()
        session = db()
        row = session.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        ).first()
        session.rollback()
        if row is not None:
            return _replay(row, request_hash)
        g.idempotency = {"scope": scope, "key": key, "hash": request_hash}
        try:
            response = view(*args, **kwargs)
        except IntegrityError as exc:
            if "idempotency_keys" not in str(exc.orig):
                raise
            raise Conflict(
                "同一个 Idempotency-Key 的请求正在处理，请稍后重试", code="idempotency-key-in-use"
            ) from exc
        response = _as_response(response)
        if g.idempotency.get("recorded") and response.status_code < 300:
            session.execute(
                update(idempotency_keys)
                .where(
                    idempotency_keys.c.scope == scope,
                    idempotency_keys.c.key == key,
                )
                .values(status=response.status_code, body=response.get_data())
            )
            session.commit()
        return response

    return wrapper


def _replay(row, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise DomainError(
            "这个 Idempotency-Key 已用于另一个请求", code="idempotency-key-reused", status=422
        )
    if row.status is None:
        raise Conflict(
            "同一个 Idempotency-Key 的请求已处理，但结果未能保存；请查询资源是否已创建",
            code="idempotency-result-unknown",
        )
    response = Response(row.body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _as_response(result) -> Response:
    if isinstance(result, Response):
        return result
    from flask import make_response

    return make_response(result)
