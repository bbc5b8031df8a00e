"""The database password appears nowhere but the secret: not in the outputs, the logs or error bodies.

The lab's requests and invokes that fail (bad input, unknown routes, events a function cannot
take) run first; then every place an operator or a client reads is searched for the password the
lab deployed: `terraform output -json`, each function's configuration and CloudWatch log, the
native executor's per-environment logs, LocalStack's and Postgres's logs and the lab's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import labtools
from lab import postgres, settings, stack
from lab.process import LabError
from tests_support import app_conninfo, poll

REPORT = "REPORT RequestId:"  # one per invocation in a function's log
MARK = f"secrets-{uuid.uuid4().hex[:12]}"  # this run's correlation ids and bodies carry it


@pytest.fixture(scope="module")
def password(outputs: dict[str, Any]) -> str:
    """The app role's password as the lab deployed it, checked against what the Lambdas read."""
    secret = labtools.aws_client("secretsmanager").get_secret_value(SecretId=outputs["db_secret_arn"])
    deployed = str(json.loads(secret["SecretString"])["password"])
    assert deployed == app_conninfo()["password"], "the secret holds the password the lab set"
    # Searched for as a string: it must not be a word the logs have anyway (the role's name, say).
    assert len(deployed) >= 12, "set a longer LAB_APP_DB_PASSWORD: a short one matches by chance"
    for common in ("outbox_app", "outbox", "postgres", "test"):
        assert deployed not in common, f"LAB_APP_DB_PASSWORD must not be {common!r} or a part of it"
    return deployed


@dataclass(frozen=True)
class Sent:
    """A request or invoke of this test: what came back, and a direct invoke's request id."""

    body: str
    request_id: str | None = None


def function_log(function: str) -> str:
    """The function's CloudWatch log as one text ('' before its first invocation)."""
    try:
        return "\n".join(labtools.function_logs(function, 1_000_000))
    except LabError:  # no log group yet
        return ""


def send(method: str, url: str, body: bytes | None = None, content_type: str = "application/json") -> Sent:
    response = requests.request(
        method,
        url,
        data=body,
        headers={"Content-Type": content_type, "X-Correlation-Id": MARK},
        timeout=15,
    )
    assert response.status_code < 500 or response.status_code == 503, (
        url,
        response.status_code,
        response.text,
    )
    return Sent(f"{method} {url} -> {response.status_code} {dict(response.headers)} {response.text}")


def invoke(function: str, event: Any) -> Sent:
    response = labtools.aws_client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    body = f"invoke {function} -> {response.get('FunctionError')} {response['Payload'].read().decode()}"
    # LocalStack runs the invocation under the API request's id: its REPORT line names it.
    return Sent(body, response["ResponseMetadata"]["RequestId"])


def bad_sqs_event(queue: str) -> dict[str, Any]:
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "x",
        "body": f"not json {MARK}",
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
    }
    return {"Records": [record]}


@pytest.fixture(scope="module")
def error_bodies(outputs: dict[str, Any]) -> Iterator[list[str]]:
    """Drive failing requests and invokes through every function; their responses, once each
    function's log shows the invocations."""
    functions: dict[str, str] = outputs["functions"]
    before = {role: function_log(name).count(REPORT) for role, name in functions.items()}
    jobs, events, entities = outputs["jobs_url"], outputs["events_url"], outputs["entities_url"]
    payments = f"{outputs['payments_url']}/partner1/payments"
    driven: dict[str, list[Callable[[], Sent]]] = {
        "jobs_api": [
            lambda: send("POST", jobs, b"{not json"),
            lambda: send("POST", jobs, b'\xff\xfe{"client_id": "x"}'),
            lambda: send("POST", jobs, b'{"client_id": ""}'),
            lambda: send("POST", jobs, b"{}", content_type="text/plain"),
            lambda: send("GET", f"{jobs}/not-a-uuid"),
            lambda: send("GET", f"{jobs}/{uuid.uuid4()}"),
            lambda: send("DELETE", jobs),
            lambda: invoke(functions["jobs_api"], {"not": "an API event"}),
        ],
        "events_api": [
            lambda: send("POST", events, b'{"eventHeader": {}}'),
            lambda: send("POST", f"{events}/bulk", b"[1, 2]"),
            lambda: send("GET", f"{entities}/{MARK}"),
            lambda: invoke(functions["events_api"], "not an API event"),
        ],
        "payments": [
            lambda: send("POST", payments, b'{"amount": -1, "currency": "XXX"}'),
            lambda: send("POST", f"{outputs['payments_url']}/nobody/payments", b"{}"),
            # Refused with a warning naming the action: this run's mark in the logs.
            lambda: invoke(functions["payments"], {"partnerId": "partner1", "action": MARK, "data": {}}),
        ],
        "ping": [lambda: send("GET", outputs["ping_url"]), lambda: invoke(functions["ping"], [])],
        "worker": [lambda: invoke(functions["worker"], bad_sqs_event("outbox-lab-jobs"))],
        "projector": [lambda: invoke(functions["projector"], bad_sqs_event("outbox-lab-car-events.fifo"))],
        "dispatcher": [lambda: invoke(functions["dispatcher"], "not an event")],
    }
    assert set(driven) == set(functions), "every function is driven"
    sent = {role: [call() for call in calls] for role, calls in driven.items()}
    for role, results in sent.items():
        invokes = [result.request_id for result in results if result.request_id]
        wait_for_log(functions[role], before[role] + len(results), invokes)
    yield [result.body for results in sent.values() for result in results]


def wait_for_log(function: str, reports: int, request_ids: list[str]) -> None:
    """Until the log shows this many invocations, these invokes' among them (an API call's request
    id is not known here: only this test calls the APIs, so the count stands for it)."""

    def shown() -> bool:
        log = function_log(function)
        return log.count(REPORT) >= reports and all(f"{REPORT} {rid}" in log for rid in request_ids)

    poll(shown, timeout=30, what=f"{function}'s log to show this test's invocations")


def test_error_bodies_do_not_carry_the_password(error_bodies: list[str], password: str) -> None:
    assert any(" -> 4" in body for body in error_bodies), "client errors were driven"
    assert any(" -> Unhandled" in body for body in error_bodies), "function errors were driven"
    assert not [body for body in error_bodies if password in body]


def test_terraform_outputs_do_not_carry_the_password(outputs: dict[str, Any], password: str) -> None:
    assert outputs["db_secret_arn"], "the outputs name the secret, never its value"
    assert password not in json.dumps(outputs)


def test_function_configurations_do_not_carry_the_password(outputs: dict[str, Any], password: str) -> None:
    client = labtools.aws_client("lambda")
    configurations = {
        role: client.get_function_configuration(FunctionName=name)
        for role, name in outputs["functions"].items()
    }
    # The functions with a database name the secret; none gets the password or a URL that could hold it.
    assert "DB_SECRET_ID" in configurations["jobs_api"]["Environment"]["Variables"]
    for role, configuration in configurations.items():
        variables = configuration["Environment"]["Variables"]
        assert not {"DB_PASSWORD", "DATABASE_URL"} & set(variables), role
        assert password not in json.dumps(configuration, default=str), role


def test_cloudwatch_logs_do_not_carry_the_password(
    error_bodies: list[str], outputs: dict[str, Any], password: str
) -> None:
    logs = {name: labtools.function_logs(name, 1_000_000) for name in outputs["functions"].values()}
    everything = "\n".join(line for lines in logs.values() for line in lines)
    assert MARK in everything, "this run's invocations were logged, and read here"
    assert "[ERROR]" in everything, "the failures were logged"
    leaked = {name: [line for line in lines if password in line] for name, lines in logs.items()}
    assert not {name: lines for name, lines in leaked.items() if lines}


def lab_log_files() -> list[Path]:
    """Logs the lab writes: LocalStack's, the executor's per environment, Postgres's, its own."""
    found = [settings.LOCALSTACK_LOG, postgres.log_file()]
    found += sorted(settings.LOGS.glob("*.log"))
    found += sorted((settings.LAB / "tmp").glob("lab-lambda-*/output.log"))
    return [path for path in found if path.is_file()]


def test_the_lab_log_files_do_not_carry_the_password(error_bodies: list[str], password: str) -> None:
    if stack.current_mode() != "native":
        pytest.skip(
            "the executor's and LocalStack's log files are native mode's; Docker keeps them in containers"
        )
    files = lab_log_files()
    executor_logs = [path for path in files if path.name == "output.log"]
    assert settings.LOCALSTACK_LOG in files and postgres.log_file() in files
    # The live environments' logs hold this run's failures: the search covers what was just logged.
    assert any(MARK.encode() in path.read_bytes() for path in executor_logs), (
        "the live executor logs are found"
    )
    needle = password.encode()
    assert not [str(path) for path in files if needle in path.read_bytes()]
