"""`socbench data fetch/list` against a registry served from 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from helpers import Server

from socbench import data
from socbench.cli import main


@pytest.fixture()
def server():
    rng = np.random.default_rng(7)
    files = {
        "cSoil/TEST/soilc_0.5x0.5.nc": rng.bytes(300_000),
        "tas/TEST/tas.nc": rng.bytes(120_000),
        "clay/TEST/clay.tif": rng.bytes(50_000),  # its source publishes no hash
    }
    running = Server(files)
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def write_registry(directory: Path, server: Server, broken: bool = False) -> Path:
    """registry.txt (sha1 and sha256 hashes, one file without) and its sidecar."""
    directory.mkdir(parents=True, exist_ok=True)
    lines, sources = [], ["files:"]
    for index, (path, body) in enumerate(server.files.items()):
        digest = "-" if path.startswith("clay/") else (
            f"sha1:{hashlib.sha1(body).hexdigest()}" if index == 0 else f"sha256:{hashlib.sha256(body).hexdigest()}")
        lines.append(f"{path} {digest}")
        sources += [f"  {path}:", f"    base_url: {server.url}/", f"    size: {len(body)}",
                    "    licence: CC-BY-4.0", f"    citation: Test et al. ({index}), a fixture."]
    if broken:
        lines.append("broken/file.nc sha1:" + "0" * 40)
        sources += ["  broken/file.nc:", f"    url: {server.url}/broken/file.nc", "    licence: none", "    citation: none"]
    registry = directory / "registry.txt"
    registry.write_text("# test registry\n" + "\n".join(lines) + "\n")
    (directory / "registry-sources.yaml").write_text("\n".join(sources) + "\n")
    return registry


def fetch(registry: Path, target: Path, *extra: str) -> int:
    return main(["data", "fetch", "--registry", str(registry), "--dir", str(target), *extra])


def test_fresh_fetch_then_nothing_downloaded(server, tmp_path, capsys):
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    assert fetch(registry, target) == 0
    for path, body in server.files.items():
        assert (target / path).read_bytes() == body
    assert sorted(server.downloads()) == sorted(server.files)
    out = capsys.readouterr().out
    assert out.count("hash verified (sha1)") == 1 and out.count("hash verified (sha256)") == 1
    assert "the source publishes no hash; recorded sha256:" in out
    recorded = data.recorded_hashes(target)
    assert recorded["clay/TEST/clay.tif"] == "sha256:" + hashlib.sha256(server.files["clay/TEST/clay.tif"]).hexdigest()

    server.requests.clear()
    assert fetch(registry, target) == 0
    assert server.requests == []  # a second fetch downloads nothing
    assert capsys.readouterr().out.count("present, hash verified") == 3


def test_corrupt_file_refused_then_refetched_with_force(server, tmp_path, capsys):
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    assert fetch(registry, target) == 0
    corrupt = target / "tas/TEST/tas.nc"
    corrupt.write_bytes(b"truncated")
    capsys.readouterr()
    server.requests.clear()
    assert fetch(registry, target) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if line.startswith("socbench: error")]) == 1
    message = err[-1]
    assert "tas.nc: present but its hash is sha256:" in message and "refusing it" in message and "--force" in message
    assert corrupt.read_bytes() == b"truncated" and server.requests == []
    assert fetch(registry, target, "--force") == 0
    assert corrupt.read_bytes() == server.files["tas/TEST/tas.nc"]
    assert server.downloads() == ["tas/TEST/tas.nc"]


def test_recorded_hash_guards_later_fetches(server, tmp_path, capsys):
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    assert fetch(registry, target) == 0
    (target / "clay/TEST/clay.tif").write_bytes(b"changed")
    assert fetch(registry, target) == 2
    assert "clay.tif: present but its hash is" in capsys.readouterr().err


def test_server_error_gives_one_line_and_exit_2(server, tmp_path, capsys):
    registry = write_registry(tmp_path / "reg", server, broken=True)
    capsys.readouterr()
    assert fetch(registry, tmp_path / "data") == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("socbench: error")]
    assert len(errors) == 1, err
    assert "broken/file.nc: download from" in errors[0] and "HTTP 500" in errors[0]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2  # the "fetching" line and the error


def test_unreachable_server_gives_one_line(tmp_path, capsys):
    directory = tmp_path / "reg"
    directory.mkdir()
    (directory / "registry.txt").write_text("a/b.nc sha1:" + "1" * 40 + "\n")
    (directory / "registry-sources.yaml").write_text("files:\n  a/b.nc:\n    base_url: http://127.0.0.1:9/\n")
    assert fetch(directory / "registry.txt", tmp_path / "data") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "a/b.nc: download from http://127.0.0.1:9/a/b.nc failed (ConnectionError" in err[-1]


def test_partial_download_is_resumed(server, tmp_path):
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    body = server.files["cSoil/TEST/soilc_0.5x0.5.nc"]
    part = target / "cSoil/TEST/soilc_0.5x0.5.nc.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:100_000])
    entry = data.load_registry(registry).files["cSoil/TEST/soilc_0.5x0.5.nc"]
    outcome = data.fetch_file(entry, target, stream=io.StringIO())
    assert outcome.action == "downloaded" and outcome.received == len(body) - 100_000
    assert ("cSoil/TEST/soilc_0.5x0.5.nc", "bytes=100000-") in server.requests
    assert (target / entry.path).read_bytes() == body and not part.exists()


def test_corrupt_partial_download_is_dropped(server, tmp_path):
    """A .part whose bytes are wrong fails the hash check once, then a fetch starts afresh."""
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    entry = data.load_registry(registry).files["tas/TEST/tas.nc"]
    part = target / "tas/TEST/tas.nc.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)
    with pytest.raises(data.DataError, match=r"tas\.nc: downloaded file .* does not match sha256:"):
        data.fetch_file(entry, target, stream=io.StringIO())
    assert not part.exists()
    assert data.fetch_file(entry, target, stream=io.StringIO()).action == "downloaded"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_tty_only(server, tmp_path):
    registry = write_registry(tmp_path / "reg", server)
    entry = data.load_registry(registry).files["cSoil/TEST/soilc_0.5x0.5.nc"]
    terminal, pipe = Terminal(), io.StringIO()
    data.fetch_file(entry, tmp_path / "tty", stream=terminal)
    data.fetch_file(entry, tmp_path / "pipe", stream=pipe)
    assert "100%" in terminal.getvalue() and "soilc_0.5x0.5.nc" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_cli_progress_follows_stderr(server, tmp_path, capsys, monkeypatch):
    """Through the CLI: piped stderr (pytest capture) has no bar; a terminal stderr has one."""
    registry = write_registry(tmp_path / "reg", server)
    assert fetch(registry, tmp_path / "piped") == 0
    assert "%|" not in capsys.readouterr().err
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert fetch(registry, tmp_path / "tty") == 0
    assert "100%|" in terminal.getvalue()


def test_list_shows_status_size_source_licence(server, tmp_path, capsys):
    registry = write_registry(tmp_path / "reg", server)
    target = tmp_path / "data"
    assert main(["data", "list", "--registry", str(registry), "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.count("[absent,") == 3 and "cSoil/TEST/soilc_0.5x0.5.nc  [absent, 293.0 kB]" in out
    assert f"source:   {server.url}/tas/TEST/tas.nc (sha256:" in out
    assert "licence:  CC-BY-4.0" in out and "citation: Test et al. (0), a fixture." in out
    assert fetch(registry, target) == 0
    (target / "tas/TEST/tas.nc").write_bytes(b"bad")
    capsys.readouterr()
    assert main(["data", "list", "--registry", str(registry), "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.count("[present,") == 2 and "tas/TEST/tas.nc  [CORRUPT, 3 B]" in out
    assert "cSoil/TEST/soilc_0.5x0.5.nc  [present, 293.0 kB]" in out


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCBENCH_DATA", str(tmp_path / "env"))
    assert data.data_dir() == tmp_path / "env"
    assert data.data_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("SOCBENCH_DATA")
    assert data.data_dir().parts[-2:] == ("socbench", "data")


@pytest.mark.parametrize(
    ("line", "message"),
    [("a.nc", "expected 'path hash'"), ("a.nc sha512:ab", "is not 'sha1:<hex>'"), ("a.nc sha1:xyz", "is not 'sha1:<hex>'")],
)
def test_bad_registry_lines_are_named(tmp_path, line, message):
    (tmp_path / "registry.txt").write_text("# header\n" + line + "\n")
    (tmp_path / "registry-sources.yaml").write_text("files:\n  a.nc: {base_url: http://127.0.0.1/}\n")
    with pytest.raises(data.DataError, match=rf"registry\.txt:2: .*{message}"):
        data.load_registry(tmp_path / "registry.txt")


def test_file_without_source_is_named(tmp_path):
    (tmp_path / "registry.txt").write_text("b.nc -\n")
    (tmp_path / "registry-sources.yaml").write_text("files: {}\n")
    with pytest.raises(data.DataError, match=r"registry-sources\.yaml: b\.nc: no 'base_url', 'url' or 'derive'"):
        data.load_registry(tmp_path / "registry.txt")


def test_derived_ratio_is_computed_and_recorded(tmp_path, capsys):
    """A `derive: ratio` entry (the soil benchmark's C:N) is computed from its two inputs and its hash recorded."""
    pytest.importorskip("rioxarray")
    import xarray as xr

    lat, lon = np.arange(45.0, -46.0, -10.0), np.arange(-175.0, 180.0, 10.0)
    soc = np.full((lat.size, lon.size), 200, "int16")  # dg/kg
    nitrogen = np.full((lat.size, lon.size), 150, "int16")  # cg/kg
    nitrogen[0, 0] = -32768  # nodata
    source = tmp_path / "source"
    files = {}
    for name, values in (("soc.tif", soc), ("n.tif", nitrogen)):
        raster = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon})
        raster.rio.write_crs("EPSG:4326", inplace=True).rio.write_nodata(-32768, inplace=True)
        source.mkdir(exist_ok=True)
        raster.rio.to_raster(source / name)
        files[f"soil/{name}"] = (source / name).read_bytes()
    server = Server(files)
    server.thread.start()
    try:
        registry = tmp_path / "reg" / "registry.txt"
        registry.parent.mkdir()
        registry.write_text("soil/soc.tif -\nsoil/n.tif -\nsoil/cn.nc -\n")
        (registry.parent / "registry-sources.yaml").write_text(
            f"files:\n  soil/soc.tif: {{base_url: '{server.url}'}}\n  soil/n.tif: {{base_url: '{server.url}'}}\n"
            "  soil/cn.nc:\n    derive: {ratio: [soil/soc.tif, soil/n.tif], factor: 10, variable: cn, units: '1'}\n")
        entries = data.load_registry(registry).select(["soil/cn.nc"])
        assert [e.path for e in entries] == ["soil/soc.tif", "soil/n.tif", "soil/cn.nc"]  # inputs come first
        outcomes = data.fetch(entries, tmp_path / "data", stream=io.StringIO())
        assert [o.action for o in outcomes] == ["recorded", "recorded", "derived"]
        with xr.open_dataset(tmp_path / "data/soil/cn.nc") as cn:
            values = cn["cn"].values
            assert cn["cn"].attrs["units"] == "1" and values.shape == soc.shape
        np.testing.assert_allclose(values[np.isfinite(values)], 10 * 200 / 150, rtol=1e-6)  # C:N = 10 soc / N
        assert np.isnan(values).sum() == 1
        assert "soil/cn.nc" in data.recorded_hashes(tmp_path / "data")
        again = data.fetch(entries, tmp_path / "data", stream=io.StringIO())
        assert [o.action for o in again] == ["cached"] * 3
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
