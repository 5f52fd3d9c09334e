"""What a check says: passed, not attempted, or the mistake in words and the case showing it."""

from __future__ import annotations

import html
from dataclasses import dataclass

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted yet"
REFUSED = "refused"


@dataclass(frozen=True)
class Result:
    """The outcome of `check(name, solution)`.

    status: "passed", "failed", "not attempted yet" or "refused".
    mistake: the catalogued misconception it shows ("" when none is known, or it passed).
    message: what went wrong (or right), in a teacher's words.
    example, expected, got: the smallest input that shows it, and the two answers.
    revisit: the idea to go back to.
    """

    exercise: str
    status: str
    message: str
    mistake: str = ""
    example: str = ""
    expected: str = ""
    got: str = ""
    revisit: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def _lines(self) -> list[tuple[str, str]]:
        rows = [("Mistake", self.mistake), ("Smallest input that shows it", self.example),
                ("Expected", self.expected), ("Your answer gave", self.got),
                ("Revisit", self.revisit)]
        return [(label, text) for label, text in rows if text]

    def __str__(self) -> str:
        head = f"{self.exercise}: {self.status}. {self.message}"
        return "\n".join([head, *(f"  {label}: {text}" for label, text in self._lines())])

    def __repr__(self) -> str:
        return f"<Result {self.exercise}: {self.status}>"

    def _repr_html_(self) -> str:
        colour = {PASSED: "#2e7d32", NOT_ATTEMPTED: "#757575"}.get(self.status, "#c62828")
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>"
                       f"{html.escape(label)}</th><td><code>{html.escape(text)}</code></td></tr>"
                       if label in ("Smallest input that shows it", "Expected",
                                    "Your answer gave") else
                       f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}"
                       f"</th><td>{html.escape(text)}</td></tr>"
                       for label, text in self._lines())
        return (f"<div style='border-left:4px solid {colour};padding:0.3em 0.8em'>"
                f"<b style='color:{colour}'>{html.escape(self.exercise)}: "
                f"{html.escape(self.status)}</b> {html.escape(self.message)}"
                f"{'<table>' + rows + '</table>' if rows else ''}</div>")


@dataclass(frozen=True)
class Hint:
    """One hint, shown as text and in Jupyter."""

    exercise: str
    number: int
    total: int
    text: str

    def __str__(self) -> str:
        return f"{self.exercise}, hint {self.number} of {self.total}: {self.text}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (f"<div style='border-left:4px solid #1565c0;padding:0.3em 0.8em'>"
                f"<b>{html.escape(self.exercise)}, hint {self.number} of {self.total}:</b> "
                f"{html.escape(self.text)}</div>")
