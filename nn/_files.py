"""Reading model files warily, and writing files so that a crash, a Ctrl-C or a full disk
never leaves half a file.

A model file is read only if it is a regular file (a FIFO would wait for a writer, a
device may never end), at most a set number of bytes, and parsed as JSON only after a
linear scan has measured how deeply it nests; duplicate keys and huge integers are refused.

When writing, the bytes go to a new temporary file with a unique name in the target's
folder (created exclusively, so a planted file or link of that name is never followed),
which is then renamed over the target in one step. A link at the target itself is
replaced, not followed. On any failure the temporary file is removed and the target is
unchanged.
"""

from __future__ import annotations

import errno
import functools
import itertools
import json
import os
import re
import stat
import tempfile
from typing import Any

# What a file that is not a regular one is called in an error message.
_FILE_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def read_regular_file(path: str | os.PathLike, max_bytes: int) -> bytes | None:
    """The bytes of the regular file at `path`, or None if it holds more than `max_bytes`.

    Anything else is refused before it is opened: a directory with IsADirectoryError,
    a FIFO, device or socket with a ValueError naming `path` and its kind. The file is
    opened without waiting (O_NONBLOCK) and looked at again once open, so a FIFO put
    in its place in between is refused too, not waited on.
    """
    where = os.fspath(path)
    _refuse_irregular(where, os.stat(where).st_mode)
    descriptor = os.open(where, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(descriptor)
        _refuse_irregular(where, status.st_mode)
        if status.st_size > max_bytes:
            return None
        # Read in pieces, at most one byte past the limit: a file that reports a size of
        # 0 (as those in /proc do) is not read to its end either.
        pieces, total = [], 0
        while total <= max_bytes:
            piece = file.read(min(2**20, max_bytes + 1 - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
    return None if total > max_bytes else b"".join(pieces)


def _refuse_irregular(where: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), where)
    if not stat.S_ISREG(mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(mode), "a special file")
        raise ValueError(f"{where}: not a regular file ({kind})")


def parse_json(text: str, where: str, max_depth: int, max_int_digits: int) -> Any:
    """`text` parsed as strict JSON, or a ValueError starting with `where` saying why not.

    Refused: nesting deeper than `max_depth` (measured before parsing), an object with
    a key given twice (JSON's own rules let the last one win silently), and integers
    of more than `max_int_digits` digits.
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise ValueError(f"{where}: JSON nested {depth} levels deep, more than the "
                         f"{max_depth} a saved model may have")

    def bounded_int(digits: str) -> int:
        # Python refuses ints of over 4300 digits with an error of its own; a model has
        # no use for more than a few digits, and float() of a longer one overflows.
        count = len(digits.lstrip("-"))
        if count > max_int_digits:
            raise ValueError(f"an integer of {count} digits (at most {max_int_digits})")
        return int(digits)

    try:
        return json.loads(text, parse_int=bounded_int, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON ({error})") from None
    except ValueError as error:  # from bounded_int or _unique_keys
        raise ValueError(f"{where}: {error}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r} in one JSON object")
            seen.add(key)
    return document


# A JSON string, closed or not: the unclosed one runs to the end of the text, so that
# no quote is scanned twice and the scan stays linear.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply the JSON `text` nests arrays and objects, without parsing it.

    Strings are removed first (brackets in them do not nest), then everything that is
    not a bracket; the running count needs no recursion, so a file nested 100,000
    levels deep is measured, and refused, at once.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)


@functools.cache
def _file_mode() -> int:
    """What open() would give a new file: 0o666 less the process's umask."""
    try:  # Linux shows the umask; reading it elsewhere means setting it for a moment
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, data: bytes | str) -> None:
    """Replace the file at `path` with `data` (str is written as UTF-8) in one step.

    An OSError names `path` (not the temporary file) and what went wrong.
    """
    target = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder, name = os.path.split(target)
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp",
                                                 dir=folder or ".")
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, _file_mode())
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise type(error)(error.errno, f"cannot write {target}: "
                          f"{error.strerror or error}") from None
    except BaseException:  # Ctrl-C in the middle: no temporary file left behind either
        _remove(temporary)
        raise


def _remove(path: str | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
