"""``[service]`` -> :class:`ServiceSettings`: the team's off-chain service and what it must answer::

    [service]
    command = ["python", "service.py", "--port", "{port}"]   # started by signoff on a free loopback port
    cwd = "service"                                          # relative to the target file
    env = { DATABASE_PATH = "${MARKET_DATABASE}" }           # ${VAR} values are secrets
    # url = "${MARKET_URL}"                                  # ... or a service already running
    ready_timeout_seconds = 20
    request_timeout_seconds = 5
    health = "/api/admin/health"
    healthy = { status = "ok", "db.ok" = true }              # fields of the JSON body that must hold

    [[service.probe]]                                        # FL-LAT: N sequential GETs, never more
    path = "/api/jobs"
    requests = 40
    p95_ms = 400
    max_error_rate = 0.01

Nothing here imports web3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError
from signoff.target import Target, _expand_env, _Table

MAX_PROBE_REQUESTS = 1000


@dataclass(frozen=True)
class Probe:
    path: str
    requests: int
    p95_ms: float
    max_error_rate: float
    max_ms: float | None = None


@dataclass(frozen=True)
class ServiceSettings:
    source: Path
    url: str | None
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]  # as written: ${VAR} is expanded when the service starts
    ready_timeout_seconds: float
    request_timeout_seconds: float
    health: str | None
    healthy: Mapping[str, Any]
    probes: tuple[Probe, ...]

    def expanded_env(self) -> dict[str, str]:
        return {key: _expand_env(value, self.source, f"service.env.{key}") for key, value in self.env.items()}

    def expanded_url(self) -> str | None:
        return None if self.url is None else _expand_env(self.url, self.source, "service.url")


def load_service(target: Target) -> ServiceSettings | None:
    if target.raw_service is None:
        return None
    return parse_service(target.path, target.raw_service)


def parse_service(path: Path, raw: Mapping[str, Any]) -> ServiceSettings:
    table = _Table(path, "service", raw, expand=False)
    url = table.string("url")
    command = table.string_list("command")
    if (url is None) == (not command):
        raise ConfigError(
            f"{path}: [service] needs exactly one of url (a running service) and command (signoff starts it). "
            'Next step: set command = ["python", "service.py", "--port", "{port}"] or url = "${SERVICE_URL}"'
        )
    if url is not None and not url.startswith("${") and not re.match(r"https?://", url):
        raise ConfigError(f"{path}: service.url = {url!r} must start with http:// or https://. Next step: correct it")
    if command and not any("{port}" in part for part in command):
        raise ConfigError(
            f"{path}: service.command never mentions {{port}}, so signoff cannot tell the service where to listen. "
            'Next step: pass it, e.g. ["python", "service.py", "--port", "{port}"]'
        )
    cwd = table.path("cwd", path.parent, must_exist=True, kind="dir") or path.parent
    env_table = table.table("env")
    env = {key: env_table.string(key, required=True) or "" for key in env_table.keys()}
    env_table.done()
    ready = table.number("ready_timeout_seconds", default=20.0, minimum=0.1, maximum=600.0)
    timeout = table.number("request_timeout_seconds", default=5.0, minimum=0.1, maximum=300.0)
    health = _path(table, "health")
    healthy_table = table.table("healthy")
    healthy = dict(healthy_table.data)
    healthy_table.data.clear()
    healthy_table.done()
    probes = []
    for entry in table.table_list("probe"):
        probes.append(
            Probe(
                path=_path(entry, "path", required=True) or "/",
                requests=entry.integer("requests", default=20, minimum=1, maximum=MAX_PROBE_REQUESTS) or 20,
                p95_ms=entry.number("p95_ms", default=400.0, minimum=0.001),
                max_error_rate=entry.number("max_error_rate", default=0.01, minimum=0.0, maximum=1.0),
                max_ms=entry.number("max_ms", default=float("inf"), minimum=0.001) if "max_ms" in entry.data else None,
            )
        )
        entry.done()
    table.done()
    if healthy and health is None:
        raise ConfigError(f"{path}: service.healthy is set but service.health is not. Next step: name the health path")
    return ServiceSettings(
        source=path,
        url=url,
        command=tuple(command),
        cwd=cwd,
        env=env,
        ready_timeout_seconds=ready,
        request_timeout_seconds=timeout,
        health=health,
        healthy=healthy,
        probes=tuple(probes),
    )


def _path(table: _Table, key: str, *, required: bool = False) -> str | None:
    value = table.string(key, required=required)
    if value is not None and not value.startswith("/"):
        raise ConfigError(
            f"{table.file}: {table.where}.{key} = {value!r} must be a path starting with /. Next step: correct it"
        )
    return value
