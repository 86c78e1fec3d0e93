"""The first screen of the HTML report: the answer to the sign-off question, readable without JavaScript.

Rendered from the same JSON document the run writes (so the two can never disagree), as static
HTML placed above pytest-html's own (script-rendered) results: the verdict banner, the counts,
the scope (what was signed off, where, by whom, with what), the failures first with their next
steps, what did not run or does not apply, and the runbook criteria matrix. Colours meet a 4.5:1
contrast on white and the layout survives printing (see report.css).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from signoff.redaction import redact

_NEXT_STEP = re.compile(r"Next step[s]?:\s*(.+)", re.S)
_RESULT_CLASS = {
    "passed": "pass",
    "failed": "fail",
    "interrupted": "fail",
    "not checked": "fail",
    "not run": "warn",
    "not applicable": "muted",
    "not selected": "muted",
    "no check yet": "muted",
}
SCOPE_KEYS = (  # environment rows shown first, in this order; every other row follows
    "Target",
    "Target file",
    "Target file sha256",
    "Target git commit",
    "Artifacts",
    "Artifacts sha256",
    "Python",
    "Platform",
    "Operator",
    "Host",
    "Command line",
    "signoff code",
    "Engines",
)


def _e(value: Any) -> str:
    return html.escape(redact("" if value is None else str(value)))


def split_next_step(message: str) -> tuple[str, str]:
    """``(what failed, next step)`` from a finding's message (the next step may be absent)."""
    found = _NEXT_STEP.search(message)
    if not found:
        return message.strip(), ""
    return message[: found.start()].strip(), found.group(1).strip()


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str, row_classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        klass = f' class="{row_classes[index]}"' if index < len(row_classes) and row_classes[index] else ""
        body.append(f"<tr{klass}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f'<table class="{css}">{thead}<tbody>{"".join(body)}</tbody></table>'


def _banner(document: Mapping[str, Any]) -> str:
    verdict = document.get("verdict") or {}
    results: Mapping[str, int] = (document.get("summary") or {}).get("results") or {}
    signed = bool(verdict.get("signed_off"))
    klass = "signoff-verdict-pass" if signed else "signoff-verdict-fail"
    counts = " &middot; ".join(
        f'<span class="signoff-count">{html.escape(name)}: <strong>{results.get(name, 0)}</strong></span>'
        for name in ("passed", "failed", "not checked", "not run", "not applicable", "interrupted", "not reached")
        if name in results
    )
    selected = (document.get("summary") or {}).get("selected")
    total = (document.get("summary") or {}).get("total", 0)
    scope_line = f"{total} checks recorded" + (f" of {selected} selected" if selected is not None else "")
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in verdict.get("reasons", []))
    caveats = "".join(f"<li>{_e(caveat)}</li>" for caveat in verdict.get("caveats", []))
    strict = "strict sign-off (--signoff-strict)" if verdict.get("strict") else "not strict"
    return (
        f'<div class="signoff-verdict {klass}" role="status">'
        f'<p class="signoff-verdict-label">{html.escape(str(verdict.get("label", "NO VERDICT")))}</p>'
        f"<p>{counts}</p><p>{html.escape(scope_line)}; {html.escape(strict)}; "
        f"exit status {_e(document.get('exit_status'))}</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + (f'<ul class="signoff-caveats">{caveats}</ul>' if caveats else "")
        + "</div>"
    )


def _scope(document: Mapping[str, Any]) -> str:
    scope: Mapping[str, Any] = document.get("scope") or {}
    env: Mapping[str, Any] = document.get("environment") or {}
    rows: list[list[str]] = [
        ["Phases (-m)", _e(scope.get("phases") or "all suites")],
        ["Network", _e(scope.get("network") or env.get("Network"))],
    ]
    for worker, chain in sorted((document.get("chains") or {}).items()):
        label = "Chain" if worker == "main" else f"Chain ({worker})"
        rows.append([html.escape(label), _e(describe_chain(chain))])
    if not document.get("chains"):
        rows.append(["Chain", "not started (no selected check needed a chain)"])
    rows.append(["Started / finished (UTC)", _e(f"{document.get('started_at')} / {document.get('finished_at')}")])
    rows += [[html.escape(key), _e(env[key])] for key in SCOPE_KEYS if key in env]
    shown = {*SCOPE_KEYS, "Network", "Started (UTC)"}
    rows += [[_e(key), _e(value)] for key, value in env.items() if key not in shown]  # broker, database, anvil, ...
    files = document.get("evidence_files") or {}
    if files:
        rows.append(["Evidence files", _e(", ".join(f"{kind}: {name}" for kind, name in sorted(files.items())))])
    return "<h2>Scope</h2>" + _table(["", ""], rows, "signoff-scope")


def describe_chain(chain: Mapping[str, Any]) -> str:
    """What the reads were made at: a live network's pinned block, or a rehearsal chain's block range."""
    if chain.get("unreachable"):
        return f"{chain.get('network')}: UNREACHABLE ({chain['unreachable']})"
    pin = chain.get("pinned_block") or {}
    if chain.get("kind") == "live":
        where = f"{chain.get('network')} (chain id {chain.get('chain_id')}, {chain.get('rpc', '')})"
        return f"{where}: every read pinned at block {pin.get('number')} ({pin.get('hash')})"
    last = chain.get("last_block")
    first = pin.get("number", 0)
    span = f"blocks {first}-{last}" if last is not None and last != first else f"block {first}"
    return (
        f"{chain.get('network')} (chain id {chain.get('chain_id')}): a rehearsal chain started for this run; "
        f"deployment and reads at {span}"
    )


def _failures(document: Mapping[str, Any]) -> str:
    failed = [c for c in document.get("checks", []) if c.get("result") in {"failed", "interrupted"}]
    if not failed:
        return "<h2>Failures</h2><p>None.</p>"
    rows, classes = [], []
    for check in failed:
        messages = [f["message"] for f in check.get("findings", []) if f.get("severity") == "error"]
        if not messages:
            messages = [check.get("message") or check.get("result", "")]
        parts = [split_next_step(str(message)) for message in messages]  # one row per check: its next step once
        what = "\n".join(what for what, _ in parts)
        steps = list(dict.fromkeys(step for _, step in parts if step))
        rows.append(
            [
                _e(check.get("check") or "-"),
                _e(check["nodeid"].split("::", 1)[-1]),
                f"<pre>{_e(what)}</pre>",
                "<br>".join(_e(step) for step in steps) or "&mdash;",
            ]
        )
        classes.append("fail")
    return f"<h2>Failures first ({len(failed)})</h2>" + _table(
        ["Check", "Test", "What failed", "Next step"], rows, "signoff-failures", classes
    )


def _criteria(document: Mapping[str, Any]) -> str:
    tables = set((document.get("tables") or {}).keys())
    rows, classes = [], []
    for item in document.get("criteria", []):
        checks = ", ".join(
            (f'<a href="#{_e(c["check"])}">{_e(c["check"])}</a>' if c["check"] in tables else _e(c["check"]))
            + f" ({_e(c['result'])})"
            for c in item.get("checks", [])
        )
        result = str(item.get("result", ""))
        rows.append(
            [
                _e(item["runbook"]) + " " + _e(item.get("runbook_title")),
                _e(item["criterion"]),
                checks or "&mdash;",
                f"<strong>{_e(result)}</strong>",
            ]
        )
        classes.append(_RESULT_CLASS.get(result, ""))
    return "<h2>Runbook criteria</h2>" + _table(
        ["Runbook", "Criterion", "Checks", "Result"], rows, "signoff-criteria", classes
    )


def render(document: Mapping[str, Any]) -> str:
    """The whole first screen, as one static HTML fragment."""
    return (
        '<section id="signoff-first-screen">'
        + _banner(document)
        + _failures(document)
        + _scope(document)
        + _criteria(document)
        + "</section>"
    )
