"""Native mode pins the LocalStack release of Docker mode's image tag: CI runs what Docker users run."""

from __future__ import annotations

import re

from lab import settings


def test_the_compose_image_and_the_native_venv_are_one_release() -> None:
    images = re.findall(r"localstack/localstack:([\w.-]+)", settings.COMPOSE_FILE.read_text())

    assert images == [settings.LOCALSTACK_VERSION], "docker-compose.yml's default image tag"


def test_the_constraints_pin_that_release() -> None:
    pins = [
        line
        for line in settings.LOCALSTACK_CONSTRAINTS.read_text().splitlines()
        if line.startswith("localstack")
    ]

    assert f"localstack-core=={settings.LOCALSTACK_VERSION}" in pins, pins
