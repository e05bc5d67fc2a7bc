"""Is the whole platform ready? web asks every service, as the gateway's ``/readyz`` answers.

nginx cannot put several answers into one, so the production gateway sends its ``/readyz`` here
(``PATH``): web's own database and broker, and each service's
``/readyz`` (in web's process when the services run there, over HTTP otherwise).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from flask import Blueprint, current_app, jsonify

from services.common.app import service_context

bp = Blueprint("readiness", __name__)
PATH = "/readyz/parts"
TIMEOUT = 5.0


def service_readiness(base_url: str, in_process=None) -> dict:
    """One service's readiness report: from its app in this process, or its ``/readyz``."""
    if in_process is not None:
        return service_context(in_process).readiness()
    try:
        answer = requests.get(f"{base_url}/readyz", timeout=TIMEOUT)
        report = answer.json()
    except (requests.RequestException, ValueError) as exc:
        return {"ready": False, "error": f"unreachable: {type(exc).__name__}"}
    report["ready"] = answer.status_code == 200 and bool(report.get("ready"))
    return report


@bp.get(PATH)
def every_part():
    """Ready when web and every service are: one report per part (503 if any is not)."""
    apps = current_app.config.get("SHILIU_SERVICE_APPS", {})
    urls = service_context().settings.service_urls
    with ThreadPoolExecutor(len(urls)) as pool:
        futures = {
            name: pool.submit(service_readiness, url, apps.get(name)) for name, url in urls.items()
        }
        report = {name: future.result() for name, future in futures.items()}
    report["web"] = service_context().readiness()
    ready = all(part["ready"] for part in report.values())
    return jsonify(ready=ready, services=report), (200 if ready else 503)
