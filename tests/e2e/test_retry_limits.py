"""The deployed retry limits: a jobs message goes to the DLQ at its 3rd receive, an outbox row parks at 5."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dispatcher.service import DispatchSettings


def test_jobs_queue_redrives_to_its_dlq_after_three_receives(
    outputs: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    sqs = aws("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=outputs["jobs_queue_url"], AttributeNames=["RedrivePolicy"]
    )
    policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
    dlq = sqs.get_queue_attributes(QueueUrl=outputs["jobs_dlq_url"], AttributeNames=["QueueArn"])
    assert int(policy["maxReceiveCount"]) == 3
    assert policy["deadLetterTargetArn"] == dlq["Attributes"]["QueueArn"]


def test_deployed_dispatcher_parks_a_row_after_five_failed_publishes(
    outputs: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    configuration = aws("lambda").get_function_configuration(FunctionName=outputs["functions"]["dispatcher"])
    environment = configuration.get("Environment", {}).get("Variables", {})
    configured = environment.get("DISPATCH_MAX_ATTEMPTS", "").strip()
    # What the dispatcher runs with: the deployed variable, or the code's default when it is unset.
    effective = int(float(configured)) if configured else DispatchSettings().max_attempts
    assert effective == 5
