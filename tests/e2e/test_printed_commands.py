"""The commands `make apply` prints run as pasted at the repo root (where `make` runs)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lab import settings, terraform


def json_documents(text: str) -> list[Any]:
    """The JSON documents written one after another (the payload, then the CLI's own answer)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_the_printed_awslocal_line_invokes_the_payments_function(outputs: dict[str, Any]) -> None:
    (line,) = [example for example in outputs["curl_examples"] if "awslocal" in example]
    pasted = terraform.runnable(line)  # as `make apply` and `make urls` print it
    out = subprocess.run(
        ["bash", "-c", pasted], cwd=settings.ROOT, capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    payload, answer = json_documents(out.stdout)
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert payload["success"] is True
    assert (payload["data"]["partnerId"], payload["data"]["amount"]) == ("partner1", 10050)
