"""Writing files so that a crash, a Ctrl-C or a full disk never leaves half a file.

The bytes go to a new temporary file with a unique name in the target's folder (created
exclusively, so a planted file or link of that name is never followed), which is then
renamed over the target in one step. A link at the target itself is replaced, not
followed. On any failure the temporary file is removed and the target is unchanged.
"""

from __future__ import annotations

import functools
import os
import tempfile


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
