"""GET /ping through API Gateway: the layer's compiled psycopg talks to Postgres as the app role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests


@pytest.mark.parametrize("url_output", ["ping_url", "ping_execute_api_url"])
def test_ping_returns_200_json(outputs: dict[str, Any], url_output: str) -> None:
    response = requests.get(outputs[url_output], timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["user"] == "outbox_app"
    # The binary implementation only exists in the layer: the runtime interpreter has no psycopg.
    assert body["psycopg"] == {"version": "3.3.9", "impl": "binary"}
    assert body["python"].startswith("3.13.")


def test_user_request_url_is_the_documented_form(outputs: dict[str, Any], endpoint: str) -> None:
    assert (
        outputs["ping_url"]
        == f"{endpoint}/restapis/{outputs['api_id']}/{outputs['api_stage']}/_user_request_/ping"
    )
    assert (
        outputs["ping_execute_api_url"]
        == f"{endpoint}/_aws/execute-api/{outputs['api_id']}/{outputs['api_stage']}/ping"
    )
    assert any("_user_request_/ping" in line for line in outputs["curl_examples"])


WITHOUT_DATABASE = {"payments"}  # DynamoDB in the partners' accounts, no Postgres


def test_functions_run_python313_with_the_layer_and_binary_psycopg(
    outputs: dict[str, Any], aws: Callable[[str], Any]
) -> None:
    lambda_ = aws("lambda")
    for role, name in outputs["functions"].items():
        config = lambda_.get_function_configuration(FunctionName=name)
        assert config["Runtime"] == "python3.13"
        env = config["Environment"]["Variables"]
        assert "DB_PASSWORD" not in env, "credentials come from Secrets Manager only"
        if role in WITHOUT_DATABASE:
            assert "DB_SECRET_ID" not in env, f"{name} has no business with the database"
        else:
            assert env["PSYCOPG_IMPL"] == "binary"
            assert env["DB_SECRET_ID"] == outputs["db_secret_arn"]
        if outputs["layer_arn"]:
            assert [layer["Arn"] for layer in config["Layers"]] == [outputs["layer_arn"]]
