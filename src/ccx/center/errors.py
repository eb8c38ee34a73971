"""Errors of the centre package."""

from __future__ import annotations


class CenterError(Exception):
    """The centre refused or failed an operation (a command's exit status, a bad request)."""


class ParseError(CenterError):
    """Scheduler or exporter output that does not have the expected shape; names the line."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no
