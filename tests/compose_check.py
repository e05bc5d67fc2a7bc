"""Does docker-compose.yml name only what exists? Commands, WSGI targets, ports, SHILIU_* variables,
mounted files, and the variables the gateway's nginx template needs.

``problems(compose, env)`` reads the compose data as Docker Compose would after interpolating
``${VAR:-default}`` with ``env`` and returns one sentence per thing that does not exist.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from urllib.parse import urlsplit

import click
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "infra" / "compose.env.example"
THREE_BROKERS_ENV = ROOT / "infra" / "compose.three-brokers.env"
CODE_FOLDERS = ("events", "services", "web", "infra")
POSTGRES_PORT = 5432  # the official image's default; nothing in the compose file changes it
NGINX_TEMPLATES = "/etc/nginx/templates/"  # the official nginx image fills these in at start

_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}"
)


def load(path: Path = COMPOSE) -> dict:
    """Read a compose file with its YAML anchors and merge keys resolved."""
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def read_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines of an env file (comments and blank lines ignored)."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def interpolate(value, env: dict[str, str]):
    """Substitute ``${VAR}``, ``${VAR:-default}`` and ``$$`` as Compose does."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, op, default = match["name"], match["op"] or "", match["default"] or ""
        if name in env and (env[name] != "" or not op.startswith(":")):
            return env[name]
        return default if op.endswith("-") else ""

    return _INTERPOLATION.sub(substitute, value).replace("$$", "$")


def _parts() -> set[str]:
    from infra.wsgi import PARTS

    return set(PARTS)


def code_variables() -> tuple[set[str], list[tuple[str, str]]]:
    """Return the SHILIU_* names the code reads literally, and the (before, after) halves of
    names it builds around a part name, e.g. ``f"SHILIU_{name.upper()}_DATABASE_URL"``."""
    literal, templates = set(), []
    for folder in CODE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            literal |= set(re.findall(r"SHILIU_[A-Z0-9_]*[A-Z0-9]", text))
            templates += re.findall(r"SHILIU_([A-Z0-9_]*)\{[^}]*\}([A-Z0-9_]*)", text)
    return literal, templates


def variable_problem(name: str) -> str | None:
    """Say why a SHILIU_* variable is read nowhere, or None when the code reads it."""
    literal, templates = code_variables()
    if name in literal:
        return None
    for before, after in templates:
        for part in _parts():
            if name == f"SHILIU_{before}{part.upper()}{after}":
                return None
    return f"{name} is read nowhere in the code"


def cli_problem(args: list[str]) -> str | None:
    """Say why ``shiliu ARGS`` is not a valid command line, or None when click accepts it."""
    from infra.cli import main

    try:
        ctx = main.make_context("shiliu", list(args))
        command = main
        while isinstance(command, click.Group):
            name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
            ctx = command.make_context(name, rest, parent=ctx)
    except click.ClickException as exc:
        return f"`shiliu {' '.join(args)}`: {exc.format_message().splitlines()[0]}"
    except click.exceptions.Exit:
        return f"`shiliu {' '.join(args)}` only prints help"
    return None


def wsgi_problem(target: str) -> str | None:
    """Say why a gunicorn ``module:factory(args)`` target does not resolve, or None."""
    module_name, _, expression = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        call = ast.parse(expression or "application", mode="eval").body
        name = call.func.id if isinstance(call, ast.Call) else call.id
        factory = getattr(module, name)
        if isinstance(call, ast.Call):
            args = [ast.literal_eval(arg) for arg in call.args]
            inspect.signature(factory).bind(*args)
            if module_name == "infra.wsgi" and args and args[0] not in _parts():
                return f"gunicorn target {target}: no part {args[0]!r}"
    except (ImportError, AttributeError, SyntaxError, ValueError, TypeError) as exc:
        return f"gunicorn target {target}: {type(exc).__name__}: {exc}"
    return None


def _option(command: list[str], name: str) -> str | None:
    for i, word in enumerate(command):
        if word == name and i + 1 < len(command):
            return command[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def _addresses(value: str) -> list[tuple[str, int]]:
    """Host and port of every address a variable names: URLs and host:port lists."""
    found = []
    for item in value.split(","):
        item = item.strip()
        if "@" in item and "://" not in item:  # a KRaft voter: id@host:port
            item = item.split("@", 1)[1]
        url = urlsplit(item if "://" in item else f"tcp://{item}")
        try:
            port = url.port
        except ValueError:
            continue
        if url.hostname and port:
            found.append((url.hostname, port))
        elif url.hostname and url.scheme.startswith("postgresql"):
            found.append((url.hostname, POSTGRES_PORT))
    return found


def mounted_files(service: dict, env: dict) -> dict[str, Path]:
    """Container path → file of this repository, for every bind mount of a relative path."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, _, rest = str(interpolate(volume, env)).partition(":")
        if source.startswith("."):
            mounts[rest.split(":")[0]] = ROOT / source
    return mounts


def nginx_templates(service: dict, env: dict) -> dict[str, Path]:
    """The nginx templates a service mounts, by container path."""
    return {
        target: source
        for target, source in mounted_files(service, env).items()
        if target.startswith(NGINX_TEMPLATES)
    }


def _template_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def _listeners(service: dict, env: dict) -> dict[str, int]:
    """Listener name → port of a Kafka node."""
    environment = service.get("environment") or {}
    spec = interpolate(str(environment.get("KAFKA_LISTENERS", "")), env)
    ports = {}
    for item in filter(None, spec.split(",")):
        name, _, address = item.partition("://")
        ports[name] = int(address.rsplit(":", 1)[1])
    return ports


def listening_ports(compose: dict, env: dict) -> dict[str, set[int]]:
    """The ports each container listens on, as its command or image says."""
    ports: dict[str, set[int]] = {}
    for name, service in compose["services"].items():
        command = [str(interpolate(word, env)) for word in service.get("command") or []]
        image = str(interpolate(service.get("image", ""), env))
        if command[:1] == ["gunicorn"]:
            bind = _option(command, "--bind") or _option(command, "-b") or "127.0.0.1:8000"
            ports[name] = {int(bind.rsplit(":", 1)[1])}
        elif image.startswith("apache/kafka"):
            ports[name] = set(_listeners(service, env).values())
        elif image.startswith("postgres"):
            ports[name] = {POSTGRES_PORT}
        elif image.startswith("nginx"):
            ports[name] = set()
            for source in nginx_templates(service, env).values():
                if source.exists():
                    listens = re.findall(
                        r"^\s*listen\s+(?:[^\s;]*:)?(\d+)", source.read_text(), re.M
                    )
                    ports[name] |= {int(port) for port in listens}
    return ports


def _command_problems(owner: str, command: list[str], own_ports: set[int]) -> list[str]:
    found = []
    if command[:1] == ["shiliu"]:
        problem = cli_problem(command[1:])
        if problem:
            found.append(f"{owner}: {problem}")
        if command[1:2] == ["probe"] and len(command) > 2:
            for host, port in _addresses(command[2]):
                if host in ("127.0.0.1", "localhost") and port not in own_ports:
                    found.append(f"{owner}: probes port {port}, but listens on {sorted(own_ports)}")
    elif command[:1] == ["gunicorn"]:
        # `gunicorn [OPTIONS] APP_MODULE`: the compose file names the target last.
        problem = wsgi_problem(command[-1])
        if problem:
            found.append(f"{owner}: {problem}")
    elif command[:1] in (["wget"], ["curl"]):
        for word in command[1:]:
            for host, port in _addresses(word) if "://" in word else []:
                if host in ("127.0.0.1", "localhost") and port not in own_ports:
                    found.append(f"{owner}: probes port {port}, but listens on {sorted(own_ports)}")
    return found


def _mount_problems(name: str, service: dict, env: dict) -> list[str]:
    """Mounted files that are missing, and template variables the environment leaves unset."""
    found = []
    for source in mounted_files(service, env).values():
        if not source.exists():
            found.append(f"{name}: mounts {source.relative_to(ROOT)}, which does not exist")
    environment = service.get("environment") or {}
    pattern = str(interpolate(environment.get("NGINX_ENVSUBST_FILTER", ""), env))
    for source in nginx_templates(service, env).values():
        if not source.exists():
            continue
        for variable in sorted(_template_variables(source.read_text(encoding="utf-8"))):
            if variable not in environment or not re.search(pattern, variable):
                found.append(
                    f"{name}: {source.relative_to(ROOT)} needs {variable}, "
                    "which its environment does not give it"
                )
    return found


def problems(compose: dict, env: dict[str, str] | None = None) -> list[str]:
    """Return everything the compose data names that does not exist, one sentence each."""
    env = env or {}
    found: list[str] = []
    listens = listening_ports(compose, env)
    for name, service in compose["services"].items():
        own = listens.get(name, set())
        command = [str(interpolate(word, env)) for word in service.get("command") or []]
        found += _command_problems(name, command, own)
        found += _mount_problems(name, service, env)
        test = [
            str(interpolate(w, env)) for w in (service.get("healthcheck") or {}).get("test", [])
        ]
        if test[:1] == ["CMD"]:
            found += _command_problems(f"{name} health check", test[1:], own)
        for mapping in service.get("ports") or []:
            container_port = int(str(interpolate(mapping, env)).rsplit(":", 1)[-1].split("/")[0])
            if container_port not in own:
                found.append(
                    f"{name}: publishes container port {container_port}, but listens on {sorted(own)}"
                )
        environment = service.get("environment") or {}
        for variable, raw in environment.items():
            if variable.startswith("SHILIU_"):
                problem = variable_problem(variable)
                if problem:
                    found.append(f"{name}: {problem}")
            value = str(interpolate(raw, env))
            if not (variable.startswith("SHILIU_") or variable.startswith("KAFKA_")):
                continue
            if variable == "KAFKA_LISTENERS":
                continue
            for host, port in _addresses(value):
                if host not in compose["services"]:
                    if variable.startswith("SHILIU_"):
                        found.append(f"{name}: {variable} names host {host}, which is no service")
                    continue
                if port not in listens.get(host, set()):
                    found.append(
                        f"{name}: {variable} expects {host} on port {port}, "
                        f"but {host} listens on {sorted(listens.get(host, set()))}"
                    )
    return found


def env_example_problems(path: Path = ENV_EXAMPLE) -> list[str]:
    """Return the SHILIU_* variables of the example secrets file that the code never reads."""
    return [
        f"{path.name}: {problem}"
        for variable in read_env_file(path)
        if variable.startswith("SHILIU_") and (problem := variable_problem(variable))
    ]
