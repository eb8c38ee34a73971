"""Errors of the centre package."""

from __future__ import annotations


class CenterError(Exception):
    """The centre refused or failed an operation (a command's exit status, a bad request)."""


class ParseError(CenterError):
    """Scheduler or exporter output that does not have the expected shape; names the line."""

    def __init__(self, line_no: int, message: str) -> None:
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no
        self.problems: tuple[str, ...] = (str(self),)


class ManyLinesParseError(ParseError):
    """Every malformed line of an input (up to a limit), first line first."""

    def __init__(self, errors: list[ParseError]) -> None:
        assert errors, "at least one error"
        self.problems = tuple(str(error) for error in errors)
        self.line_no = errors[0].line_no
        Exception.__init__(self, "; ".join(self.problems))
