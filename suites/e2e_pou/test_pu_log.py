"""PU-LOG: the broker's own output, as signoff captured it from the broker it started: no line that
reports an error ([pou.logs] errors, ignore), and a line for each cron job it must schedule
([pou.logs] scheduled). It runs after the other e2e_pou checks, so it reads what they made the
broker print: with a reference broker per xdist worker, every worker's (signoff.pou.workers)."""

import pytest

from signoff.pou.expect import Expect

CHECK_ID = "PU-LOG"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.broker_logs]


def test_pu_log_no_errors_and_jobs_scheduled(pou_broker, evidence, request) -> None:
    from signoff.pou import workers
    from signoff.suite import not_applicable

    if pou_broker.read_log is None:
        not_applicable(
            "signoff sees the output only of a broker it starts; a running broker's logs are in your log system. To "
            "check them here: start it through [pou] command"
        )
    config = request.config
    expect = Expect(evidence, CHECK_ID)
    # With a broker per xdist worker, the other workers' checks may still run: wait for them, then read every
    # worker's broker (nothing to wait for in a serial run, or with every e2e_pou check on this worker).
    items = request.session.items
    others = [item.nodeid for item in items if item.get_closest_marker("e2e_pou") and item is not request.node]
    quiet = 120.0 + 2 * pou_broker.settings.shrink_budget_seconds
    unfinished = workers.wait_until_finished(config, others, quiet)
    if unfinished:
        expect.fail(
            "every check's broker output",
            f"{len(unfinished)} e2e_pou check(s) on other workers did not finish ({', '.join(unfinished[:3])}; none "
            f"for {quiet:g} s), so their brokers' output is judged as it stood",
        )
    outputs = {workers.worker_name(config): pou_broker.read_log(), **workers.other_logs(config)}
    evidence.attach("brokers_read", sorted(outputs))
    rules = pou_broker.settings.logs
    bad: list[str] = []
    absent: dict[str, list[str]] = {}
    lines = 0
    for worker, text in outputs.items():
        found, missing = rules.judge(text)
        prefix = f"[{worker}'s broker] " if len(outputs) > 1 else ""
        bad += [prefix + line.strip() for line in found]
        for pattern in missing:
            absent.setdefault(pattern, []).append(worker)
        lines += len(text.splitlines())
    expect.that(
        "no error in the broker's output",
        not bad,
        f"no line matching {', '.join(rules.errors)}"
        + (f" (ignoring {', '.join(rules.ignore)})" if rules.ignore else ""),
        f"{len(bad)} of {lines} lines: " + " | ".join(line[:160] for line in bad[:5]) if bad else f"none of {lines}",
        "the broker's stdout and stderr" if len(outputs) == 1 else f"the stdout and stderr of {len(outputs)} brokers",
    )
    for pattern in rules.scheduled:
        where = absent.get(pattern, [])
        expect.that(
            f"scheduled: {pattern}",
            not where,
            f"a line matching {pattern}",
            ("absent" if len(outputs) == 1 else f"absent from the output of {', '.join(where)}'s broker")
            if where
            else "present",
            "[pou.logs] scheduled",
        )
    if not rules.scheduled:
        evidence.attach("scheduled", "[pou.logs] scheduled names no cron job, so none is looked for")
    expect.check()
