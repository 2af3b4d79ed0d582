"""Helpers shared by several test modules: tasks with a planted answer, hostile YAML, a file server, model directories."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from socbench.emulate import block_folds, spatial_blocks
from socbench.explain import EmulationTask


def member_dir(world: Path, model: str, member: str = "r1i1p1f1") -> Path:
    """The DRS directory of one member of a synthetic world's model (what ``socbench check --model`` takes)."""
    return next(world.glob(f"CMIP6/*/*/{model}/historical/{member}"))


def perturbed_copy(world: Path, destination: Path, product_file: str, variable: str, relative: float = 0.001,
                   seed: int = 1) -> Path:
    """A copy of ``world`` with one product's ``variable`` multiplied by 1 + ``relative`` N(0, 1) (fixed ``seed``)."""
    import shutil

    import netCDF4

    shutil.copytree(world, destination)
    with netCDF4.Dataset(destination / product_file, "a") as nc:
        values = nc[variable][:]
        nc[variable][:] = values * (1.0 + relative * np.random.default_rng(seed).standard_normal(values.shape))
    return destination


def make_task(y_shift: float = 0.0, estimator: str = "gradient_boosting", explainer: str = "shap", n: int = 1500):
    """An emulation task on tabular data with a planted answer (drivers x0 > x1 > x2, x3 irrelevant)."""
    rng = np.random.default_rng(0)
    lat = rng.uniform(-50, 70, n)
    lon = rng.uniform(-180, 180, n)
    X = rng.normal(size=(n, 4))
    # planted: x0 strong and linear, x1 saturating, x2 weak, x3 irrelevant
    y = 1.0 * X[:, 0] + 0.6 * np.tanh(X[:, 1]) + 0.2 * X[:, 2] + 0.05 * rng.normal(size=n)
    return task_of(X, y + y_shift, rng.uniform(0.5, 1.5, n), lat, lon, estimator=estimator, explainer=explainer)


def task_of(X, y, weight, lat, lon, regions=None, estimator="gradient_boosting", explainer="shap", bootstraps=2):
    """A task on a table; ``regions`` maps names to cell masks (default: one region of all cells)."""
    regions = regions or {"r": np.ones(len(y), bool)}
    grids = np.stack([np.quantile(X[m], np.linspace(0.05, 0.95, 10), axis=0).T for m in regions.values()])
    blocks = spatial_blocks(lat, lon, 10.0)
    fold_of = block_folds(blocks, 3, 7)
    return EmulationTask(
        dataset="d", X=X, y=y, weight=weight, regions=tuple(regions), membership=np.stack(list(regions.values())),
        grids=grids, folds=np.array([fold_of[b] for b in blocks]), blocks=blocks, block_size=10.0,
        estimator=estimator, params={} if estimator == "gam" else {"max_iter": 80}, explainer=explainer,
        response="ale", bootstraps=bootstraps, max_explain_cells=800, seed=7,
    )


def alias_bomb() -> str:
    """The "billion laughs": 9 levels of 9 aliases, about 600 bytes, 9^9 values when expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


class Server:
    """A tiny HTTP file server with Range support, a log of requests and a broken path."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                path = self.path.lstrip("/")
                server.requests.append((path, self.headers.get("Range")))
                if path.startswith("broken/"):
                    self.send_error(500, "Internal Server Error")
                    return
                if path not in server.files:
                    self.send_error(404, "Not Found")
                    return
                body, start = server.files[path], 0
                range_header = self.headers.get("Range")
                if range_header:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])
                server.sent += len(body) - start

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def downloads(self) -> list[str]:
        return [path for path, _ in self.requests]
