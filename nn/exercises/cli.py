"""`valuegrad exercises` and `valuegrad check NAME FILE.py`: the exercises without Jupyter."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1_000_000
TIME_LIMIT_SECONDS = 60


def add_commands(commands: Any) -> None:
    """Add the two subcommands to the `valuegrad` parser's `commands`."""
    listing = commands.add_parser("exercises", help="list the exercises and their notebooks",
                                  description="List every exercise with the notebook that "
                                  "teaches it and the function to write.")
    listing.set_defaults(run=run_exercises)
    check = commands.add_parser(
        "check", help="check a solution to an exercise written in a Python file",
        description="Run FILE.py and check the function it defines (named as in "
        "`valuegrad exercises`) for exercise NAME. Exit status 0 when it passes, 1 when not. "
        f"The check stops after {TIME_LIMIT_SECONDS} s.")
    check.add_argument("name", metavar="NAME", help="the exercise, e.g. backward")
    check.add_argument("file", type=Path, metavar="FILE.py", help="your solution")
    check.set_defaults(run=run_check)


def run_exercises(args: argparse.Namespace) -> int:
    from nn.exercises import exercises
    for exercise in exercises():
        print(f"{exercise.name:20} {exercise.notebook:28} {exercise.signature}")
    return 0


def _fail(message: str) -> int:
    print(f"valuegrad: error: {message}", file=sys.stderr)
    return 2


def run_check(args: argparse.Namespace) -> int:
    from nn.exercises import EXERCISES, check
    if args.name not in EXERCISES:
        return _fail(f"no exercise called {args.name!r}; `valuegrad exercises` lists them")
    function_name = EXERCISES[args.name].signature.split()[1].split("(")[0]
    try:
        if args.file.stat().st_size > MAX_FILE_BYTES:
            return _fail(f"{args.file}: larger than {MAX_FILE_BYTES:,} bytes")
        source = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _fail(f"{args.file}: cannot read it: {error}")
    namespace: dict[str, Any] = {"__name__": "solution"}
    with _time_limit():
        try:
            exec(compile(source, str(args.file), "exec"), namespace)
            solution = namespace.get(function_name)
            if not callable(solution):
                return _fail(f"{args.file} defines no function {function_name}()")
            result = check(args.name, solution)
        except TimeoutError:
            return _fail(f"stopped after {TIME_LIMIT_SECONDS} s: is there an endless loop?")
        except Exception as error:  # the learner's file may raise anything while it runs
            return _fail(f"{args.file} raised {type(error).__name__}: {error}")
    print(result)
    return 0 if result.passed else 1


class _time_limit:
    """Raise TimeoutError in the main thread after TIME_LIMIT_SECONDS (where signals allow)."""

    def __enter__(self) -> None:
        self.armed = hasattr(signal, "SIGALRM") and threading.current_thread() is \
            threading.main_thread()
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.alarm(TIME_LIMIT_SECONDS)

    def __exit__(self, *exc: Any) -> None:
        if self.armed:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _expire(signum: int, frame: Any) -> None:
        raise TimeoutError
