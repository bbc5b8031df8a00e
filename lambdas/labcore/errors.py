"""Domain errors raised by services and labcore; labcore.http maps them to responses in one place."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A rule of the domain refused the request; `code` is the stable machine-readable name."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class InvalidInput(DomainError):
    code = "validation_error"

    def __init__(self, message: str, details: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.details: list[FieldProblem] = details or []


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Unavailable(DomainError):
    """A dependency (the database) cannot be reached: the caller may retry later."""

    code = "unavailable"
