"""Templates and static assets: the last step from view data to files."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from socbench import __version__
from socbench.resources import resource_dir

#: Vega, Vega-Lite and vega-embed in one script, written once per output directory.
VEGA_BUNDLE = "vega-bundle.js"
STATIC_ASSETS = ("scorecard.css", "scorecard.js")


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=select_autoescape(("html", "htm", "xml"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, path: Path, **context: Any) -> None:
    """Render ``template`` with ``context`` into ``path``."""
    html = environment().get_template(template).render(version=__version__, **context)
    path.write_text(html, encoding="utf-8")


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The JavaScript bundle shipped by vl-convert (no network access, ~0.9 MB)."""
    import vl_convert

    return vl_convert.javascript_bundle()


def write_assets(directory: Path, with_charts: bool) -> None:
    """Copy the page style and script, and the Vega bundle when a page has charts."""
    assets = directory / "assets"
    assets.mkdir()
    source = resource_dir("templates") / "assets"
    for name in STATIC_ASSETS:
        shutil.copyfile(source / name, assets / name)
    if with_charts:
        (assets / VEGA_BUNDLE).write_text(vega_bundle(), encoding="utf-8")
