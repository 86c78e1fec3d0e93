"""PU-LOG: the broker's own output, as signoff captured it from the broker it started: no line that
reports an error ([pou.logs] errors, ignore), and a line for each cron job it must schedule
([pou.logs] scheduled). It runs after the other e2e_pou checks, so it reads what they made the
broker print."""

import pytest

from signoff.pou.expect import Expect

CHECK_ID = "PU-LOG"
pytestmark = [pytest.mark.e2e_pou, pytest.mark.broker_logs]


def test_pu_log_no_errors_and_jobs_scheduled(pou_broker, evidence) -> None:
    from signoff.suite import not_applicable

    if pou_broker.read_log is None:
        not_applicable(
            "signoff sees the output only of a broker it starts; a running broker's logs are in your log system. To "
            "check them here: start it through [pou] command"
        )
    rules = pou_broker.settings.logs
    text = pou_broker.read_log()
    bad, missing = rules.judge(text)
    expect = Expect(evidence, CHECK_ID)
    lines = len(text.splitlines())
    expect.that(
        "no error in the broker's output",
        not bad,
        f"no line matching {', '.join(rules.errors)}"
        + (f" (ignoring {', '.join(rules.ignore)})" if rules.ignore else ""),
        f"{len(bad)} of {lines} lines: " + " | ".join(line.strip()[:160] for line in bad[:5])
        if bad
        else f"none of {lines}",
        "the broker's stdout and stderr",
    )
    for pattern in rules.scheduled:
        expect.that(
            f"scheduled: {pattern}",
            pattern not in missing,
            f"a line matching {pattern}",
            "absent" if pattern in missing else "present",
            "[pou.logs] scheduled",
        )
    if not rules.scheduled:
        evidence.attach("scheduled", "[pou.logs] scheduled names no cron job, so none is looked for")
    expect.check()
