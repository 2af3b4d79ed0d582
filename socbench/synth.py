"""A synthetic world with a planted, documented truth.

``make_world`` writes a small archive that looks like the real thing (CMIP6 DRS
model output, observation SOC products in their own units, grids and axis
orders, observed covariate maps) but whose soil carbon is produced by a process
known exactly. ``socbench demo`` and the scientific tests run the benchmark on
it and check that the scores find what was planted.

The planted truth
-----------------
**One world, any grid.** Every "true" field is a smooth function of (lat, lon),
so every dataset, on whatever grid, samples the same world at its cell centres.
The building block is a smooth random field on the sphere: the sum of 30 random
Fourier features ``a_i cos(k_i . x + phi_i)`` of the 3-D unit vector ``x``, with
``|k_i|`` uniform in 2..8, normalised to zero mean and unit standard deviation
(weighted by area x land fraction over land north of 60S on a fixed 1-degree
reference grid, so that every seed has the same spread over land). Each field
has its own random stream derived from ``(seed, name)``; no global random
state is used.

**Observed covariates** (canonical units; ``z_*`` are independent unit fields):

- temperature [degC] = -15 + 42 cos(lat)^1.3 + 4 z_a
  (tropics ~27, 60N ~2, 70N ~-5);
- precipitation [mm yr-1] = (250 + 2200 exp(-(lat/12)^2)
  + 700 exp(-((|lat|-50)/12)^2)) exp(0.35 z_b), clipped to 50..4500;
- npp [kg C m-2 yr-1] = Miami model (Lieth 1975),
  0.45e-3 min(3000 (1 - exp(-0.000664 P)), 3000 / (1 + exp(1.315 - 0.119 T)))
  times exp(0.6 z_c), so that NPP is not a pure function of T and P
  (with less, NPP and precipitation correlate at r ~ 0.8 over land);
- clay [percent] = 25 + 10 z_d, clipped to 5..60;
- cn_ratio [1] = 14 + 3 z_e + 4 |lat|/90, clipped to 8..30;
- wetland [fraction] = logistic(1.5 z_f - 2.5 + 2 exp(-((lat-63)/7)^2)).

**Observed soil organic carbon** (0-1 m, kg m-2) is ``exp(truth_ln_soc(...))``:
ln SOC = C0 + the sum of six additive, monotone components with fixed
coefficients (module constants, identical for every dataset)::

    clay           +1.055   * ln(clay / 25)             increasing, std ~0.45
    temperature    -0.03495 * (T - 10)                  decreasing, std ~0.35
    cn_ratio       +1.067   * ln(cn / 14)               increasing, std ~0.22
    wetland        +1.102   * wetland                   increasing, std ~0.18
    npp            +0.3284  * ln(npp / (npp + 0.45))    saturating, std ~0.15
    precipitation  +0.1295  * ln(P / 1000)              weak,       std ~0.08

(the exact values are in ``COEFFICIENTS``; the stds, over land north of 60S on
the 1-degree grid for seed 0, in ``PLANTED_WEIGHTS``), clipped to 1..60 kg m-2.
The temperature term is first-order decomposition kinetics (a Q10 of
``exp(10 * 0.03495)`` ~ 1.4); the NPP term is Michaelis-Menten with the
half-saturation constant near the median land NPP (0.45). ``C0 = 2.6050`` gives
a global stock over land north of 60S of 1,500 Pg for seed 0 (1,420-1,680 Pg
for seeds 1-7; for seed 0, 98 % of land cells are 2.8..36 kg m-2). Clay and
temperature are the two strongest drivers (``STRONGEST_DRIVERS``).

**Land** comes from real coastlines (``global_land_mask``); the land fraction of
a cell is the fraction of land among sub-points (at least 4 x 4 per cell).
Observation products have no SOC south of 60S.

**Observation products** = truth x bias x exp(0.12 z_product + 0.12 white
noise), clipped to 1..60 kg m-2, then written in their own units and grids
(NCSCD-like covers 45N..90N only, so its stock, ~530 Pg, is regional):

====================  ==========  =========  =====  ===============  ==========================
product               variable    units      bias   grid             quirk
====================  ==========  =========  =====  ===============  ==========================
HWSD-like             soc         kg m-2     1.0    resolution/2     lon -180..180
SoilGrids-like        ocs         Mg ha-1    1.3    resolution/4     lon 0..360, lat descending
NCSCD-like            SOCC        hg m-2     0.85   resolution/2     45N..90N only
GSOCmap-like          soc_stock   t ha-1     0.9    resolution       lon -180..180
Extra-<k>             soc         kg m-2     ~1     resolution       (n_products > 4)
====================  ==========  =========  =====  ===============  ==========================

**Models** (CMIP6 DRS, monthly, noleap, each on its own regular grid). A
model's climate = the observed field + its own smooth bias (tas + 1 K z,
pr and npp x exp(0.2 z)), plus a seasonal cycle whose monthly and
days-in-month-weighted means are both exactly zero (tas) or one (pr, npp
factors), so the period mean recovers the climatology. Roles:

- ``SYN-FAITHFUL``: cSoil = exp(truth_ln_soc(own climate, observed clay,
  C:N, wetland)) x exp(0.05 white noise). Right stock, right reasons. Also has
  an older version (v20180101, cSoil x3, to be ignored) and a member r2i1p1f1.
- ``SYN-TEMPNPP``: ln cSoil = a - 0.05 T + 0.7 ln NPP from its own climate
  (the ESM pattern, Hashimoto et al. 2017, GMD 10:1321), ``a`` set so its global
  stock equals the observed truth's. Right stock, wrong reasons.
- ``SYN-DOUBLE``: the faithful process on the faithful model's climate, x2. Right reasons,
  wrong stock.
- ``SYN-UNRELATED``: exp(0.6 z) rescaled to the observed global stock, where z
  has shorter features (|k| 12..24) than the drivers, so that the drivers
  cannot stand in for location: the field is unrelated to them.

Everything written, and measured (stocks, correlations), is also described in
``<outdir>/truth.json``.
"""

from __future__ import annotations

import functools
import json
import math
import uuid
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .definition.validators import refuse_duplicates

__all__ = [
    "COVARIATES",
    "CANONICAL_UNITS",
    "COEFFICIENTS",
    "PLANTED_WEIGHTS",
    "STRONGEST_DRIVERS",
    "add_copy_model",
    "make_world",
    "planted_shares",
    "truth_ln_soc",
]

# --------------------------------------------------------------------------------------
# The planted process (constants calibrated once, for seed 0 on the 1-degree land grid)
# --------------------------------------------------------------------------------------

#: Canonical covariate names, in the order used everywhere.
COVARIATES = ("temperature", "precipitation", "npp", "clay", "cn_ratio", "wetland")

#: Canonical units of the covariates (what ``truth_ln_soc`` expects).
CANONICAL_UNITS = {
    "temperature": "degC",
    "precipitation": "mm yr-1",
    "npp": "kg m-2 yr-1",
    "clay": "percent",
    "cn_ratio": "1",
    "wetland": "1",
}

#: Intercept of ln SOC (ln kg m-2); gives ~1,500 Pg over land north of 60S for seed 0.
C0 = 2.6050
#: Coefficient of each additive component of ln SOC (see the module docstring).
COEFFICIENTS = {
    "clay": 1.055,
    "temperature": 0.03495,
    "cn_ratio": 1.067,
    "wetland": 1.102,
    "npp": 0.3284,
    "precipitation": 0.1295,
}
#: Reference values at which the components vanish (clay %, degC, C:N, mm yr-1).
CLAY_REF, TEMPERATURE_REF, CN_REF, PRECIPITATION_REF = 25.0, 10.0, 14.0, 1000.0
#: Half-saturation constant of the NPP response (kg C m-2 yr-1), ~median land NPP.
NPP_HALF_SATURATION = 0.45
#: Every SOC cell is clipped to this range (kg m-2).
SOC_CLIP = (1.0, 60.0)

#: Approximate spatial std (ln units) of each additive component over land, seed 0.
PLANTED_WEIGHTS = {
    "clay": 0.45,
    "temperature": 0.35,
    "cn_ratio": 0.22,
    "wetland": 0.18,
    "npp": 0.15,
    "precipitation": 0.08,
}
#: The two drivers with the largest planted components, strongest first.
STRONGEST_DRIVERS = ("clay", "temperature")

PROCESS_FORMULA = (
    "ln SOC [kg m-2] = C0 + clay_coef*ln(clay/25) - temperature_coef*(T - 10)"
    " + cn_ratio_coef*ln(cn/14) + wetland_coef*wetland"
    " + npp_coef*ln(npp/(npp + K)) + precipitation_coef*ln(P/1000),"
    " SOC clipped to [1, 60] kg m-2; T degC, P mm yr-1, npp kg C m-2 yr-1, clay percent,"
    " cn dimensionless, wetland fraction"
)

#: SYN-TEMPNPP's process: ln cSoil = a - TEMPNPP_T * T + TEMPNPP_NPP * ln(NPP).
TEMPNPP_T, TEMPNPP_NPP = 0.05, 0.7

EARTH_RADIUS = 6_371_000.0
SOUTH_LIMIT = -60.0  # observation products (and reported stocks) are north of this
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
SECONDS_PER_YEAR = 365.0 * 86400.0  # noleap calendar
FILL_VALUE = 1.0e20
CREATION_DATE = "2019-03-08T00:00:00Z"

# --------------------------------------------------------------------------------------
# Datasets of the world
# --------------------------------------------------------------------------------------

_MODEL_ROLES = (
    ("SYN-FAITHFUL", "SYNA", "faithful: the observed process on its own climate (right stock, right reasons)"),
    ("SYN-TEMPNPP", "SYNB", "temperature+NPP only, rescaled to the observed stock (right stock, wrong reasons)"),
    ("SYN-DOUBLE", "SYNC", "faithful process on the faithful model's climate, x2 stock (right reasons, wrong stock)"),
    ("SYN-UNRELATED", "SYND", "smooth field unrelated to any driver, rescaled to the observed stock"),
)
#: Roles that ``make_world(roles=...)`` accepts besides the four above ("mix:<lambda>" and "longnoise").
_EXTRA_ROLES = {
    "faithful": 0, "tempnpp": 1, "double": 2, "unrelated": 3,
}
#: Wavenumbers of the long-range noise model: correlation falls to 1/e over ~30 degrees.
LONG_NOISE_WAVENUMBERS = (3.0, 5.0)
#: The wrong-driver process of the graded family: precipitation and NPP, which the truth weighs least.
WRONG_DRIVER_FORMULA = "ln SOC = ln(P / 1000) + 1.5 ln(npp / 0.45), standardised to the truth's spread over land"
# (dlon, dlat) per model, in units of ``resolution``; cycled.
_MODEL_GRID_FACTORS = ((1.25, 1.0), (0.9375, 0.75), (1.40625, 1.4), (1.0, 0.8))
_VERSION, _OLD_VERSION = "v20190308", "v20180101"


@dataclass(frozen=True)
class _ProductSpec:
    name: str
    filename: str
    variable: str
    units: str
    per_kg_m2: float  # value in ``units`` of 1 kg m-2
    bias: float
    grid_factor: float  # grid spacing = resolution * grid_factor
    lon_start: float = -180.0
    descending: bool = False
    lat_south: float = -90.0
    fill_value: float = -9999.0
    process: str = "truth"  # "truth", or "outlier": other drivers (see _outlier_ln_soc)

    @property
    def path(self) -> str:
        return f"obs/soc/{self.name}/{self.filename}"

    @property
    def coverage(self) -> str:
        south = max(self.lat_south, SOUTH_LIMIT)
        return f"land, {abs(south):g}{'N' if south >= 0 else 'S'}..90N"


_PRODUCTS = (
    _ProductSpec("HWSD-like", "hwsd_like_soc.nc", "soc", "kg m-2", 1.0, 1.0, 0.5),
    _ProductSpec("SoilGrids-like", "soilgrids_like_ocs.nc", "ocs", "Mg ha-1", 10.0, 1.3, 0.25,
                 lon_start=0.0, descending=True, fill_value=float("nan")),
    _ProductSpec("NCSCD-like", "ncscd_like_socc.nc", "SOCC", "hg m-2", 10.0, 0.85, 0.5, lat_south=45.0),
    _ProductSpec("GSOCmap-like", "gsocmap_like_soc.nc", "soc_stock", "t ha-1", 10.0, 0.9, 1.0),
)

# name: (file, variable, units, factor from canonical units)
#: Products that ``make_world(extra_products=...)`` can add to test the robust envelope.
_EXTRA_PRODUCTS = {
    # driven by precipitation and wetland instead of clay and C:N: disagrees on the drivers
    "outlier": _ProductSpec("Outlier-like", "outlier_like_soc.nc", "soc", "kg m-2", 1.0, 1.0, 0.5, process="outlier"),
    # values in hg m-2 but labelled kg m-2: read 10x too large
    "misread": _ProductSpec("Misread-like", "misread_like_soc.nc", "soc", "kg m-2", 10.0, 1.0, 0.5),
}

_COVARIATE_FILES = {
    "temperature": ("climate_tas.nc", "tas", "degC", 1.0),
    "precipitation": ("climate_pr.nc", "pr", "mm yr-1", 1.0),
    "npp": ("modis_like_npp.nc", "npp", "g m-2 yr-1", 1000.0),
    "clay": ("clay.nc", "clay", "percent", 1.0),
    "cn_ratio": ("cn_ratio.nc", "cn", "1", 1.0),
    "wetland": ("wetland.nc", "wetland_fraction", "1", 1.0),
}
_COVARIATE_LONG_NAMES = {
    "temperature": ("air_temperature", "Mean annual near-surface air temperature"),
    "precipitation": ("lwe_precipitation_rate", "Mean annual precipitation"),
    "npp": ("net_primary_productivity_of_biomass_expressed_as_carbon", "Net primary production (carbon)"),
    "clay": ("", "Topsoil clay content"),
    "cn_ratio": ("", "Soil carbon to nitrogen mass ratio"),
    "wetland": ("", "Wetland fraction of the grid cell"),
}
_UNITS_TO_KG_M2 = {"kg m-2": 1.0, "Mg ha-1": 0.1, "t ha-1": 0.1, "hg m-2": 0.1}

# --------------------------------------------------------------------------------------
# The planted process
# --------------------------------------------------------------------------------------


def _components(temperature, precipitation, npp, clay, cn_ratio, wetland) -> dict:
    """Return the six additive components of ln SOC (ln units), by covariate name."""
    npp = np.maximum(np.asarray(npp, dtype=float), 1e-6)
    coef = COEFFICIENTS
    return {
        "clay": coef["clay"] * np.log(np.maximum(clay, 0.1) / CLAY_REF),
        "temperature": -coef["temperature"] * (np.asarray(temperature, dtype=float) - TEMPERATURE_REF),
        "cn_ratio": coef["cn_ratio"] * np.log(np.maximum(cn_ratio, 0.1) / CN_REF),
        "wetland": coef["wetland"] * np.asarray(wetland, dtype=float),
        "npp": coef["npp"] * np.log(npp / (npp + NPP_HALF_SATURATION)),
        "precipitation": coef["precipitation"] * np.log(np.maximum(precipitation, 1.0) / PRECIPITATION_REF),
    }


def planted_shares(covariates: dict, weights: np.ndarray) -> dict:
    """The planted importance shares of the observed process over a set of cells.

    The process is additive, so the exact SHAP value of a covariate is its
    component minus the component's weighted mean; the planted share of a
    covariate is its mean absolute SHAP value, normalised to sum to 1 (what
    the benchmark's explain stage estimates).

    Parameters
    ----------
    covariates : dict of str to ndarray
        The six covariates (canonical units) on the cells.
    weights : ndarray
        Cell weights (area x land fraction).
    """
    parts = _components(**{name: np.asarray(covariates[name], float) for name in COVARIATES})
    weights = np.asarray(weights, float)
    mean_abs = {
        name: float(np.average(np.abs(part - np.average(part, weights=weights)), weights=weights))
        for name, part in parts.items()
    }
    total = sum(mean_abs.values())
    return {name: value / total for name, value in mean_abs.items()}


def truth_ln_soc(temperature, precipitation, npp, clay, cn_ratio, wetland) -> np.ndarray:
    """The planted observed-SOC process.

    Parameters
    ----------
    temperature : array_like
        Mean annual air temperature, degC.
    precipitation : array_like
        Mean annual precipitation, mm yr-1.
    npp : array_like
        Net primary production, kg C m-2 yr-1.
    clay : array_like
        Clay content, percent.
    cn_ratio : array_like
        Soil C:N ratio, dimensionless.
    wetland : array_like
        Wetland fraction of the cell, 0..1.

    Returns
    -------
    numpy.ndarray
        ln of the 0-1 m SOC stock (ln kg m-2), ``C0`` plus the six additive
        components, clipped to ``ln(SOC_CLIP)``. Inputs broadcast together.
    """
    parts = _components(temperature, precipitation, npp, clay, cn_ratio, wetland)
    total = C0 + sum(parts[name] for name in COVARIATES)
    return np.clip(total, math.log(SOC_CLIP[0]), math.log(SOC_CLIP[1]))


# --------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Grid:
    """A regular lat-lon grid; arrays in the order they are stored in files."""

    lat: np.ndarray
    lon: np.ndarray
    lat_bnds: np.ndarray
    lon_bnds: np.ndarray

    @property
    def shape(self) -> tuple:
        return (self.lat.size, self.lon.size)

    @property
    def dlon(self) -> float:
        return float(abs(self.lon_bnds[0, 1] - self.lon_bnds[0, 0]))

    @property
    def dlat(self) -> float:
        return float(abs(self.lat_bnds[0, 1] - self.lat_bnds[0, 0]))

    def mesh(self) -> tuple:
        """Return 2-D (lat, lon) arrays of cell centres."""
        return np.meshgrid(self.lat, self.lon, indexing="ij")

    def area(self) -> np.ndarray:
        """Return the cell areas (m2), R^2 dlon (sin(lat_n) - sin(lat_s))."""
        sin_b = np.sin(np.deg2rad(self.lat_bnds))
        band = np.abs(sin_b[:, 1] - sin_b[:, 0])
        dlon = np.deg2rad(np.abs(self.lon_bnds[:, 1] - self.lon_bnds[:, 0]))
        return EARTH_RADIUS**2 * band[:, None] * dlon[None, :]


def _make_grid(dlon, dlat, lon_start=-180.0, centred_on_start=False, lat_south=-90.0,
               lat_north=90.0, descending=False) -> _Grid:
    """Build a regular grid; spacings are adjusted so whole cells fill the span."""
    nlon = max(1, round(360.0 / dlon))
    nlat = max(1, round((lat_north - lat_south) / dlat))
    lon_edges = lon_start + np.arange(nlon + 1) * (360.0 / nlon)
    if centred_on_start:
        lon_edges = lon_edges - 180.0 / nlon
    lat_edges = np.linspace(lat_south, lat_north, nlat + 1)
    lat_bnds = np.stack([lat_edges[:-1], lat_edges[1:]], axis=1)
    lon_bnds = np.stack([lon_edges[:-1], lon_edges[1:]], axis=1)
    if descending:
        lat_bnds = lat_bnds[::-1, ::-1].copy()
    return _Grid(lat_bnds.mean(axis=1), lon_bnds.mean(axis=1), lat_bnds, lon_bnds)


def _land_fraction(grid: _Grid) -> np.ndarray:
    """Return the land fraction (0..1) of each cell, by supersampling real coastlines."""
    return _land_fraction_cached(grid.lat_bnds.tobytes(), grid.lon_bnds.tobytes()).copy()


@functools.lru_cache(maxsize=16)
def _land_fraction_cached(lat_bytes: bytes, lon_bytes: bytes) -> np.ndarray:
    from global_land_mask import globe  # slow import (~2 s, ~1 GB): only when needed

    lat_bnds = np.frombuffer(lat_bytes).reshape(-1, 2)
    lon_bnds = np.frombuffer(lon_bytes).reshape(-1, 2)
    sub_lat = _sub_points(lat_bnds)
    sub_lon = _sub_points(lon_bnds)
    lat2, lon2 = np.meshgrid(sub_lat.ravel(), sub_lon.ravel(), indexing="ij")
    lon2 = (lon2 + 180.0) % 360.0 - 180.0
    land = globe.is_land(np.clip(lat2, -89.999, 89.999), lon2).astype(float)
    nlat, nsub_lat = sub_lat.shape
    nlon, nsub_lon = sub_lon.shape
    return land.reshape(nlat, nsub_lat, nlon, nsub_lon).mean(axis=(1, 3))


def _sub_points(bnds: np.ndarray) -> np.ndarray:
    """Return (n, k) evenly spaced sub-points inside each cell; k >= 4, <= ~0.25 deg apart."""
    width = float(np.abs(bnds[0, 1] - bnds[0, 0]))
    k = int(min(16, max(4, math.ceil(width / 0.25))))
    frac = (np.arange(k) + 0.5) / k
    return bnds[:, :1] + (bnds[:, 1:] - bnds[:, :1]) * frac[None, :]


# --------------------------------------------------------------------------------------
# Smooth random fields on the sphere
# --------------------------------------------------------------------------------------


def _rng(seed: int, name: str) -> np.random.Generator:
    """Return an independent generator for the stream ``name`` of ``seed``."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def _unit_vectors(lat, lon) -> np.ndarray:
    """Return (..., 3) unit vectors of points given in degrees."""
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def _raw_field(params, lat, lon) -> np.ndarray:
    wavevectors, phases, amplitudes = params
    xyz = _unit_vectors(lat, lon)
    return np.cos(xyz @ wavevectors.T + phases) @ amplitudes


@functools.lru_cache(maxsize=256)
def _field_params(seed: int, name: str, n_features: int = 30, wavenumbers: tuple = (2.0, 8.0)):
    """Fourier-feature parameters of the field ``name``, and its normalisation."""
    rng = _rng(seed, "field:" + name)
    direction = rng.normal(size=(n_features, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    wavevectors = direction * rng.uniform(*wavenumbers, size=(n_features, 1))
    params = (wavevectors, rng.uniform(0.0, 2.0 * np.pi, n_features), rng.normal(size=n_features))
    reference = _make_grid(1.0, 1.0)
    weights = _land_weights(reference)
    values = _raw_field(params, *reference.mesh())
    mean = np.average(values, weights=weights)
    std = np.sqrt(np.average((values - mean) ** 2, weights=weights))
    return params, mean, std


def _smooth_field(seed: int, name: str, lat, lon, wavenumbers: tuple = (2.0, 8.0)) -> np.ndarray:
    """Evaluate the smooth random field ``name`` at points (zero mean, unit std over land).

    ``wavenumbers`` bounds |k| of the Fourier features on the unit sphere: 2..8
    gives features thousands of km across; larger values give shorter ones.
    """
    params, mean, std = _field_params(int(seed), name, wavenumbers=tuple(wavenumbers))
    return (_raw_field(params, lat, lon) - mean) / std


# --------------------------------------------------------------------------------------
# The observed world
# --------------------------------------------------------------------------------------


def _miami_npp(temperature, precipitation) -> np.ndarray:
    """Miami-model NPP (Lieth 1975) as carbon, kg C m-2 yr-1."""
    by_water = 3000.0 * (1.0 - np.exp(-0.000664 * precipitation))
    by_heat = 3000.0 / (1.0 + np.exp(1.315 - 0.119 * temperature))
    return 0.45 * np.minimum(by_water, by_heat) / 1000.0


def _observed_fields(seed: int, lat, lon) -> dict:
    """The true observed covariates (canonical units) at points (lat, lon) in degrees.

    Results are cached (read-only arrays): every grid is visited several times.
    """
    lat, lon = np.broadcast_arrays(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))
    return _observed_cached(int(seed), lat.tobytes(), lon.tobytes(), lat.shape)


@functools.lru_cache(maxsize=8)
def _observed_cached(seed: int, lat_bytes: bytes, lon_bytes: bytes, shape: tuple) -> dict:
    lat = np.frombuffer(lat_bytes).reshape(shape)
    lon = np.frombuffer(lon_bytes).reshape(shape)
    fields = _compute_observed(seed, lat, lon)
    for values in fields.values():
        values.setflags(write=False)
    return fields


def _compute_observed(seed: int, lat, lon) -> dict:
    field = functools.partial(_smooth_field, seed, lat=lat, lon=lon)
    abs_lat = np.abs(lat)
    coslat = np.cos(np.deg2rad(lat)).clip(0.0, 1.0)
    temperature = -15.0 + 42.0 * coslat**1.3 + 4.0 * field("temperature")
    belts = 250.0 + 2200.0 * np.exp(-((lat / 12.0) ** 2)) + 700.0 * np.exp(-(((abs_lat - 50.0) / 12.0) ** 2))
    precipitation = np.clip(belts * np.exp(0.35 * field("precipitation")), 50.0, 4500.0)
    npp = _miami_npp(temperature, precipitation) * np.exp(0.6 * field("npp"))
    clay = np.clip(25.0 + 10.0 * field("clay"), 5.0, 60.0)
    cn_ratio = np.clip(14.0 + 3.0 * field("cn_ratio") + 4.0 * abs_lat / 90.0, 8.0, 30.0)
    boreal = 2.0 * np.exp(-(((lat - 63.0) / 7.0) ** 2))
    wetland = 1.0 / (1.0 + np.exp(-(1.5 * field("wetland") - 2.5 + boreal)))
    return {
        "temperature": temperature,
        "precipitation": precipitation,
        "npp": npp,
        "clay": clay,
        "cn_ratio": cn_ratio,
        "wetland": np.clip(wetland, 0.0, 1.0),
    }


def _truth_soc(seed: int, lat, lon) -> np.ndarray:
    """Noise-free observed SOC (kg m-2) at points."""
    return np.exp(truth_ln_soc(**_observed_fields(seed, lat, lon)))


def _land_weights(grid: _Grid, landfrac=None) -> np.ndarray:
    """Area x land fraction (m2) of each cell north of 60S; 0 elsewhere."""
    landfrac = _land_fraction(grid) if landfrac is None else landfrac
    lat2, _ = grid.mesh()
    return np.where(lat2 >= SOUTH_LIMIT, grid.area() * landfrac, 0.0)


def _stock_pg(soc_kg_m2: np.ndarray, weights: np.ndarray) -> float:
    """Total stock (Pg) of a kg m-2 field with cell weights in m2; NaN cells skipped."""
    valid = np.isfinite(soc_kg_m2) & (weights > 0)
    return float(np.sum(soc_kg_m2[valid] * weights[valid]) / 1e12)


def _weighted_std(values: np.ndarray, weights: np.ndarray) -> float:
    mean = np.average(values, weights=weights)
    return float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))


def _component_stds(seed: int, grid: _Grid) -> dict:
    """Measured std (ln units) of each component over land north of 60S (calibration aid)."""
    weights = _land_weights(grid)
    lat2, lon2 = grid.mesh()
    parts = _components(**_observed_fields(seed, lat2, lon2))
    land = weights > 0
    return {name: _weighted_std(parts[name][land], weights[land]) for name in COVARIATES}


def _correlations(fields: dict, weights: np.ndarray) -> list:
    """Area-weighted Pearson correlation matrix of the covariates over weighted cells."""
    land = weights > 0
    data = np.stack([fields[name][land] for name in COVARIATES])
    cov = np.cov(data, aweights=weights[land])
    scale = np.sqrt(np.diag(cov))
    return (cov / np.outer(scale, scale)).tolist()


# --------------------------------------------------------------------------------------
# netCDF writing
# --------------------------------------------------------------------------------------


def _axis_attrs(name: str) -> dict:
    if name == "lat":
        return {"standard_name": "latitude", "long_name": "Latitude", "units": "degrees_north",
                "axis": "Y", "bounds": "lat_bnds"}
    return {"standard_name": "longitude", "long_name": "Longitude", "units": "degrees_east",
            "axis": "X", "bounds": "lon_bnds"}


def _write_netcdf(path: Path, grid: _Grid, variables: dict, global_attrs: dict, time=None) -> None:
    """Write a CF file: ``variables`` maps name -> (data, attrs, fill value or None)."""
    import netCDF4

    path.parent.mkdir(parents=True, exist_ok=True)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.setncatts(global_attrs)
        nc.createDimension("bnds", 2)
        if time is not None:
            _write_time(nc, *time)
        for axis in ("lat", "lon"):
            values, bnds = getattr(grid, axis), getattr(grid, axis + "_bnds")
            nc.createDimension(axis, values.size)
            var = nc.createVariable(axis, "f8", (axis,))
            var.setncatts(_axis_attrs(axis))
            var[:] = values
            nc.createVariable(axis + "_bnds", "f8", (axis, "bnds"))[:] = bnds
        for name, (data, attrs, fill) in variables.items():
            dims = ("time", "lat", "lon") if data.ndim == 3 else ("lat", "lon")
            var = nc.createVariable(name, "f4", dims, zlib=True, complevel=1, fill_value=fill)
            var.setncatts(attrs)
            var[:] = np.ma.masked_invalid(data.astype(np.float32))


def _write_time(nc, values: np.ndarray, bnds: np.ndarray) -> None:
    nc.createDimension("time", None)
    time = nc.createVariable("time", "f8", ("time",))
    time.setncatts({"standard_name": "time", "long_name": "time", "units": "days since 1850-01-01",
                    "calendar": "noleap", "axis": "T", "bounds": "time_bnds"})
    time[:] = values
    nc.createVariable("time_bnds", "f8", ("time", "bnds"))[:] = bnds


def _monthly_time(years: tuple) -> tuple:
    """Mid-month times and bounds (days since 1850-01-01, noleap) for the years."""
    starts = np.concatenate([[0.0], np.cumsum(DAYS_IN_MONTH)[:-1]])
    lows, highs = [], []
    for year in range(years[0], years[1] + 1):
        offset = (year - 1850) * 365.0
        lows.append(offset + starts)
        highs.append(offset + starts + DAYS_IN_MONTH)
    low, high = np.concatenate(lows), np.concatenate(highs)
    return (low + high) / 2.0, np.stack([low, high], axis=1)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

_CMIP_VARIABLES = {
    # name: (table, realm, standard_name, long_name, units, cell_methods, land only)
    "cSoil": ("Emon", "land", "soil_mass_content_of_carbon", "Carbon Mass in Model Soil Pool",
              "kg m-2", "area: mean where land time: mean", True),
    "tas": ("Amon", "atmos", "air_temperature", "Near-Surface Air Temperature", "K",
            "area: time: mean", False),
    "pr": ("Amon", "atmos", "precipitation_flux", "Precipitation", "kg m-2 s-1",
           "area: time: mean", False),
    "npp": ("Lmon", "land", "net_primary_productivity_of_biomass_expressed_as_carbon",
            "Net Primary Production on Land as Carbon Mass Flux", "kg m-2 s-1",
            "area: mean where land time: mean", True),
    "rh": ("Lmon", "land", "heterotrophic_respiration_carbon_flux",
           "Total Heterotrophic Respiration on Land as Carbon Mass Flux", "kg m-2 s-1",
           "area: mean where land time: mean", True),
    "sftlf": ("fx", "atmos", "land_area_fraction",
              "Percentage of the Grid Cell Occupied by Land (Including Lakes)", "%", "area: mean", False),
    "areacella": ("fx", "atmos", "cell_area", "Grid-Cell Area for Atmospheric Grid Variables", "m2",
                  "area: sum", False),
}


@dataclass(frozen=True)
class _ModelSpec:
    index: int
    source_id: str
    institution_id: str
    role: str
    grid: _Grid
    kind: str = ""  # base role name, e.g. "SYN-FAITHFUL" for SYN-FAITHFUL-2
    mix: float = 0.0  # SYN-MIX: weight of the wrong-driver field
    climate_index: int | None = None  # whose climate the model has (default: its own; SYN-DOUBLE: index - 2)
    climate_bias: float = 1.0  # scale of the model's own climate bias


def native_grid(index: int, resolution: float) -> _Grid:
    """The ``index``-th model's native grid: near ``resolution``, in one of a cycle of shapes and offsets."""
    fx, fy = _MODEL_GRID_FACTORS[index % len(_MODEL_GRID_FACTORS)]
    return _make_grid(resolution * fx, resolution * fy, lon_start=0.0, centred_on_start=index % 2 == 0)


def _model_spec(index: int, resolution: float, replicates_share_climate: bool = True) -> _ModelSpec:
    """The ``index``-th model: role, identifiers and native grid.

    The ``-2``, ``-3``, ... replicates of a role have its process on their own
    grid and noise; with ``replicates_share_climate`` also its climate (as
    ensemble members of one model do), else a climate bias of their own.
    """
    base, institution, role = _MODEL_ROLES[index % len(_MODEL_ROLES)]
    cycle = index // len(_MODEL_ROLES)
    source_id = base if cycle == 0 else f"{base}-{cycle + 1}"
    spec = _ModelSpec(index, source_id, institution, role, native_grid(index, resolution), kind=base)
    if cycle > 0 and replicates_share_climate:
        first = index % len(_MODEL_ROLES)
        spec = replace(spec, climate_index=first - 2 if base == "SYN-DOUBLE" else first)
    return spec


def _model_climate(seed: int, index: int, lat, lon, bias: float = 1.0) -> dict:
    """A model's annual climatology (canonical units): observed + ``bias`` x its own smooth bias."""
    observed = _observed_fields(seed, lat, lon)
    field = functools.partial(_smooth_field, seed, lat=lat, lon=lon)
    tag = f"model{index}:"
    return {
        "temperature": observed["temperature"] + bias * 1.0 * field(tag + "tas"),
        "precipitation": observed["precipitation"] * np.exp(bias * 0.2 * field(tag + "pr")),
        "npp": observed["npp"] * np.exp(bias * 0.2 * field(tag + "npp")),
    }


def _role_spec(index: int, role: str, resolution: float, model_grid: str, climate_bias: float) -> _ModelSpec:
    """The model of a named role (see :func:`make_world`)."""
    name, _, argument = role.partition(":")
    if name in _EXTRA_ROLES:
        base, institution, description = _MODEL_ROLES[_EXTRA_ROLES[name]]
        source_id, mix = base, 0.0
    elif name == "mix":
        mix = float(argument)
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"role {role!r}: the mixing weight must be in [0, 1]")
        base, institution = "SYN-MIX", "SYNE"
        source_id = f"SYN-MIX-{round(100 * mix):03d}"
        description = f"observed process mixed with the wrong-driver field at lambda = {mix:g} ({WRONG_DRIVER_FORMULA})"
    elif name == "longnoise":
        base, institution, mix = "SYN-LONGNOISE", "SYNF", 0.0
        source_id = base
        description = "noise unrelated to any driver, correlated over ~30 degrees or more"
    else:
        known = ", ".join([*_EXTRA_ROLES, "mix:<lambda>", "longnoise"])
        raise ValueError(f"unknown model role {role!r} (known: {known})")
    if model_grid == "analysis":
        grid = _make_grid(resolution, resolution, lon_start=0.0)
    else:
        grid = native_grid(index, resolution)
    return _ModelSpec(index, source_id, institution, description, grid, kind=base, mix=mix,
                      climate_bias=climate_bias)


def _wrong_driver_ln_soc(seed: int, grid: _Grid, climate: dict) -> np.ndarray:
    """The graded family's wrong-driver field, standardised to the truth's mean and spread over land."""
    wrong = np.log(climate["precipitation"] / 1000.0) + 1.5 * np.log(climate["npp"] / NPP_HALF_SATURATION)
    weights = _land_weights(grid)
    truth = np.log(_truth_soc(seed, *grid.mesh()))
    scale = _weighted_std(truth, weights) / _weighted_std(wrong, weights)
    return np.average(truth, weights=weights) + scale * (wrong - np.average(wrong, weights=weights))


def _model_csoil(seed: int, spec: _ModelSpec, climate: dict, member: int = 1) -> np.ndarray:
    """cSoil (kg m-2, everywhere) of a model, by its role."""
    lat2, lon2 = spec.grid.mesh()
    observed = _observed_fields(seed, lat2, lon2)
    noise = _rng(seed, f"model{spec.index}:member{member}:noise").normal(size=spec.grid.shape)
    if spec.kind in ("SYN-FAITHFUL", "SYN-DOUBLE"):
        ln_soc = truth_ln_soc(climate["temperature"], climate["precipitation"], climate["npp"],
                              observed["clay"], observed["cn_ratio"], observed["wetland"])
        factor = 2.0 if spec.kind == "SYN-DOUBLE" else 1.0
        return factor * np.exp(ln_soc + 0.05 * noise)
    if spec.kind == "SYN-MIX":
        ln_truth = truth_ln_soc(climate["temperature"], climate["precipitation"], climate["npp"],
                                observed["clay"], observed["cn_ratio"], observed["wetland"])
        ln_soc = (1.0 - spec.mix) * ln_truth + spec.mix * _wrong_driver_ln_soc(seed, spec.grid, climate)
        return _rescale_to_truth(seed, spec.grid, np.exp(ln_soc + 0.05 * noise))
    if spec.kind == "SYN-LONGNOISE":
        ln_soc = 0.6 * _smooth_field(seed, f"model{spec.index}:longnoise", lat2, lon2,
                                     wavenumbers=LONG_NOISE_WAVENUMBERS)
        return _rescale_to_truth(seed, spec.grid, np.exp(ln_soc))
    if spec.kind == "SYN-TEMPNPP":
        ln_soc = -TEMPNPP_T * climate["temperature"] + TEMPNPP_NPP * np.log(climate["npp"])
    else:
        # Shorter features than the drivers' (|k| 12..24, ~1,500-3,500 km) so that the
        # drivers cannot stand in for location: the field is unrelated to them.
        ln_soc = 0.6 * _smooth_field(seed, f"model{spec.index}:unrelated", lat2, lon2, wavenumbers=(12.0, 24.0))
    return _rescale_to_truth(seed, spec.grid, np.exp(ln_soc))


def _rescale_to_truth(seed: int, grid: _Grid, soc: np.ndarray) -> np.ndarray:
    """Scale ``soc`` so its stock north of 60S equals the noise-free truth's on ``grid``."""
    weights = _land_weights(grid)
    lat2, lon2 = grid.mesh()
    target = _stock_pg(_truth_soc(seed, lat2, lon2), weights)
    return soc * target / _stock_pg(soc, weights)


def _seasonal_shape(peak_day: float = 196.0) -> np.ndarray:
    """A 12-month cycle peaking at ``peak_day`` whose plain and days-weighted means are 0.

    Scaled so that max |value| = 1.
    """
    mid = np.concatenate([[0.0], np.cumsum(DAYS_IN_MONTH)[:-1]]) + DAYS_IN_MONTH / 2.0
    cycle = np.cos(2.0 * np.pi * (mid - peak_day) / 365.0)
    basis = np.stack([np.ones(12), DAYS_IN_MONTH], axis=1)
    coef, *_ = np.linalg.lstsq(basis, cycle, rcond=None)
    cycle = cycle - basis @ coef
    return cycle / np.abs(cycle).max()


def _monthly(climate: np.ndarray, lat: np.ndarray, variable: str, n_years: int) -> np.ndarray:
    """(12*n_years, nlat, nlon) monthly values whose period mean is ``climate``."""
    shape = _seasonal_shape()[:, None, None]
    hemisphere = np.where(lat >= 0.0, 1.0, -1.0)[None, :, None]
    sin_lat = np.abs(np.sin(np.deg2rad(lat)))[None, :, None]
    if variable == "temperature":
        months = climate[None] + (1.0 + 15.0 * sin_lat**1.5) * hemisphere * shape
    elif variable == "precipitation":
        amplitude = 0.15 + 0.5 * np.exp(-(((np.rad2deg(np.arcsin(sin_lat)) - 12.0) / 15.0) ** 2))
        months = climate[None] * (1.0 + amplitude * hemisphere * shape)
    else:
        months = climate[None] * (1.0 + 0.85 * sin_lat**0.7 * hemisphere * shape)
    return np.tile(months, (n_years, 1, 1))


def _to_model_units(variable: str, values: np.ndarray) -> np.ndarray:
    """Convert canonical units to CMIP units (noleap year of 365 days)."""
    if variable == "tas":
        return values + 273.15
    if variable in ("pr", "npp", "rh"):
        return values / SECONDS_PER_YEAR
    return values


def _nominal_resolution(grid: _Grid) -> str:
    km = math.sqrt(grid.dlon * grid.dlat) * 111.2
    options = (25, 50, 100, 250, 500, 1000, 2500)
    return f"{min(options, key=lambda value: abs(math.log(value / km)))} km"


def _drs_path(outdir: Path, spec: _ModelSpec, variable: str, member: str, years: tuple,
              version: str = _VERSION) -> Path:
    table = _CMIP_VARIABLES[variable][0]
    stem = f"{variable}_{table}_{spec.source_id}_historical_{member}_gn"
    name = f"{stem}.nc" if table == "fx" else f"{stem}_{years[0]}01-{years[1]}12.nc"
    return (outdir / "CMIP6" / "CMIP" / spec.institution_id / spec.source_id / "historical" / member
            / table / variable / "gn" / version / name)


def _cmor_attrs(seed: int, spec: _ModelSpec, variable: str, member: str, relpath: str) -> dict:
    table, realm = _CMIP_VARIABLES[variable][:2]
    tracking = uuid.uuid5(uuid.NAMESPACE_URL, f"socbench-synth/{seed}/{relpath}")
    return {
        "Conventions": "CF-1.7 CMIP-6.2",
        "title": f"{spec.source_id} output prepared for CMIP6 (synthetic, socbench)",
        "comment": f"Synthetic data written by socbench.synth (seed {seed}); role: {spec.role}",
        "mip_era": "CMIP6",
        "activity_id": "CMIP",
        "institution_id": spec.institution_id,
        "institution": f"Synthetic modelling centre {spec.institution_id}",
        "source_id": spec.source_id,
        "source": f"{spec.source_id}: synthetic Earth System Model",
        "experiment_id": "historical",
        "experiment": "all-forcing simulation of the recent past",
        "variant_label": member,
        "member_id": member,
        "table_id": table,
        "variable_id": variable,
        "grid_label": "gn",
        "grid": f"native regular {spec.grid.dlon:g} x {spec.grid.dlat:g} degree lon-lat grid",
        "frequency": "fx" if table == "fx" else "mon",
        "realm": realm,
        "nominal_resolution": _nominal_resolution(spec.grid),
        "product": "model-output",
        "data_specs_version": "01.00.29",
        "tracking_id": f"hdl:21.14100/{tracking}",
        "creation_date": CREATION_DATE,
        "license": "CC BY 4.0 (synthetic data)",
    }


def _write_cmip(outdir: Path, seed: int, spec: _ModelSpec, variable: str, data: np.ndarray,
                member: str, years: tuple, version: str = _VERSION, land=None) -> Path:
    """Write one CMIP6 variable (monthly when ``data`` is 3-D, else fx)."""
    _, _, standard_name, long_name, units, cell_methods, land_only = _CMIP_VARIABLES[variable]
    path = _drs_path(outdir, spec, variable, member, years, version)
    if land_only and land is not None:
        data = np.where(land, data, np.nan)
    attrs = {"standard_name": standard_name, "long_name": long_name, "units": units,
             "cell_methods": cell_methods}
    if variable != "areacella":
        attrs["cell_measures"] = "area: areacella"
    time = _monthly_time(years) if data.ndim == 3 else None
    global_attrs = _cmor_attrs(seed, spec, variable, member, str(path.relative_to(outdir)))
    _write_netcdf(path, spec.grid, {variable: (data, attrs, FILL_VALUE)}, global_attrs, time)
    return path


def _write_model(outdir: Path, seed: int, spec: _ModelSpec, years: tuple) -> dict:
    """Write all files of one model; return its manifest entry."""
    landfrac = _land_fraction(spec.grid)
    # SYN-DOUBLE shares the faithful model's climate: it differs only in its stock.
    climate_index = spec.climate_index
    if climate_index is None:
        climate_index = spec.index - 2 if spec.kind == "SYN-DOUBLE" else spec.index
    climate = _model_climate(seed, climate_index, *spec.grid.mesh(), bias=spec.climate_bias)
    members = ["r1i1p1f1"] + (["r2i1p1f1"] if spec.kind == "SYN-FAITHFUL" else [])
    csoils = [_write_member(outdir, seed, spec, member, number, climate, landfrac, years)
              for number, member in enumerate(members, start=1)]
    if spec.kind == "SYN-FAITHFUL":  # an outdated version that discovery must ignore
        _write_cmip(outdir, seed, spec, "cSoil", _constant_in_time(3.0 * csoils[0], years), members[0], years,
                    version=_OLD_VERSION, land=(landfrac > 0)[None])
    land_csoil = np.where(landfrac > 0, csoils[0], np.nan)
    return {
        "role": spec.role,
        "institution_id": spec.institution_id,
        "members": members,
        "grid": _grid_summary(spec.grid),
        "stock_pg": _stock_pg(land_csoil, _land_weights(spec.grid, landfrac)),
        "path": str(_drs_path(outdir, spec, "cSoil", members[0], years).relative_to(outdir)),
    }


def _write_member(outdir: Path, seed: int, spec: _ModelSpec, member: str, number: int, climate: dict,
                  landfrac: np.ndarray, years: tuple) -> np.ndarray:
    """Write the files of one ensemble member; return its cSoil field (kg m-2)."""
    land = (landfrac > 0)[None]
    n_years = years[1] - years[0] + 1
    write = functools.partial(_write_cmip, outdir, seed, spec, member=member, years=years)
    write("sftlf", 100.0 * landfrac)
    write("areacella", spec.grid.area())
    for cmip, canonical in (("tas", "temperature"), ("pr", "precipitation"), ("npp", "npp")):
        months = _monthly(climate[canonical], spec.grid.lat, canonical, n_years)
        write(cmip, _to_model_units(cmip, months), land=land)
    csoil = _model_csoil(seed, spec, climate, number)
    write("cSoil", _constant_in_time(csoil, years), land=land)
    return csoil


def _constant_in_time(field: np.ndarray, years: tuple) -> np.ndarray:
    """A (months, lat, lon) view repeating ``field`` for every month of the years."""
    return np.broadcast_to(field, (12 * (years[1] - years[0] + 1),) + field.shape)


def _grid_summary(grid: _Grid) -> dict:
    return {"dlon": grid.dlon, "dlat": grid.dlat, "nlon": int(grid.lon.size), "nlat": int(grid.lat.size),
            "lon_range": [float(grid.lon_bnds.min()), float(grid.lon_bnds.max())],
            "lat_range": [float(grid.lat_bnds.min()), float(grid.lat_bnds.max())],
            "lat_order": "descending" if grid.lat[0] > grid.lat[-1] else "ascending"}


# --------------------------------------------------------------------------------------
# Observation products and covariates
# --------------------------------------------------------------------------------------


def _product_specs(n_products: int) -> list:
    specs = list(_PRODUCTS[: min(n_products, len(_PRODUCTS))])
    for k in range(1, n_products - len(_PRODUCTS) + 1):
        bias = 1.0 + 0.1 * (-1) ** k * ((k + 1) // 2)
        specs.append(_ProductSpec(f"Extra-{k}", f"extra_{k}_soc.nc", "soc", "kg m-2", 1.0,
                                  float(np.clip(bias, 0.7, 1.4)), 1.0))
    return specs


def _product_grid(spec: _ProductSpec, resolution: float) -> _Grid:
    step = resolution * spec.grid_factor
    return _make_grid(step, step, lon_start=spec.lon_start, lat_south=spec.lat_south,
                      descending=spec.descending)


def _outlier_ln_soc(seed: int, lat2, lon2) -> np.ndarray:
    """The outlier product's process: the truth's temperature and NPP terms, strong precipitation
    and wetland terms, no clay or C:N; standardised to the truth's mean and spread over land."""
    fields = _observed_fields(seed, lat2, lon2)
    parts = _components(**{name: fields[name] for name in COVARIATES})
    ln_soc = parts["temperature"] + parts["npp"] + 6.0 * parts["precipitation"] + 3.0 * parts["wetland"]
    reference = _make_grid(1.0, 1.0)
    weights = _land_weights(reference)
    ref_fields = _observed_fields(seed, *reference.mesh())
    ref_parts = _components(**{name: ref_fields[name] for name in COVARIATES})
    ref = ref_parts["temperature"] + ref_parts["npp"] + 6.0 * ref_parts["precipitation"] + 3.0 * ref_parts["wetland"]
    truth = np.log(_truth_soc(seed, *reference.mesh()))
    scale = _weighted_std(truth, weights) / _weighted_std(ref, weights)
    return np.average(truth, weights=weights) + scale * (ln_soc - np.average(ref, weights=weights))


def _product_soc(seed: int, spec: _ProductSpec, grid: _Grid, landfrac: np.ndarray,
                 noise: tuple = (0.12, 0.12), truth=None, clip: tuple = SOC_CLIP,
                 smooth_noise=None) -> np.ndarray:
    """A product's SOC (kg m-2): truth x bias x its own smooth and white noise; NaN off land.

    ``noise`` gives the standard deviations (ln units) of the smooth and the white part;
    ``truth`` (lat, lon) -> noise-free SOC replaces this world's truth (another world's process);
    ``smooth_noise`` (name, lat, lon, landfrac) -> unit field replaces :func:`_smooth_field` for the
    smooth part.
    """
    lat2, lon2 = grid.mesh()
    name = f"product:{spec.name}"
    if smooth_noise is None:
        smooth = _smooth_field(seed, name, lat2, lon2)
    else:
        smooth = smooth_noise(name, lat2, lon2, landfrac)
    white = _rng(seed, f"product:{spec.name}:white").normal(size=grid.shape)
    if truth is not None:
        base = truth(lat2, lon2)
    elif spec.process == "outlier":
        base = np.exp(_outlier_ln_soc(seed, lat2, lon2))
    else:
        base = _truth_soc(seed, lat2, lon2)
    soc = base * spec.bias * np.exp(noise[0] * smooth + noise[1] * white)
    soc = np.clip(soc, *clip)
    return np.where((landfrac > 0) & (lat2 >= SOUTH_LIMIT), soc, np.nan)


def _obs_global_attrs(seed: int, title: str) -> dict:
    return {"Conventions": "CF-1.8", "title": title,
            "source": f"socbench.synth synthetic world (seed {seed}); not real data",
            "history": f"{CREATION_DATE} written by socbench.synth"}


def _write_product(outdir: Path, seed: int, spec: _ProductSpec, resolution: float,
                   noise: tuple = (0.12, 0.12), truth=None, clip: tuple = SOC_CLIP,
                   smooth_noise=None) -> dict:
    """Write one observation SOC product; return its manifest entry.

    ``truth``, ``clip`` and ``smooth_noise`` as in :func:`_product_soc` (for other worlds).
    """
    grid = _product_grid(spec, resolution)
    landfrac = _land_fraction(grid)
    soc = _product_soc(seed, spec, grid, landfrac, noise, truth, clip, smooth_noise)
    truth_soc = (truth or functools.partial(_truth_soc, seed))(*grid.mesh())
    attrs = {"standard_name": "soil_mass_content_of_carbon", "long_name": "Soil organic carbon stock, 0-100 cm",
             "units": spec.units}
    title = f"{spec.name}: synthetic soil organic carbon stock (0-1 m)"
    _write_netcdf(outdir / spec.path, grid, {spec.variable: (soc * spec.per_kg_m2, attrs, spec.fill_value)},
                  _obs_global_attrs(seed, title))
    return {"path": spec.path, "variable": spec.variable, "units": spec.units, "bias": spec.bias,
            "process": spec.process, "noise_std": {"smooth": noise[0], "white": noise[1]},
            "value_per_kg_m2": spec.per_kg_m2,
            "resolution": resolution * spec.grid_factor, "coverage": spec.coverage,
            "grid": _grid_summary(grid), "stock_pg": _stock_pg(soc, _land_weights(grid, landfrac)),
            "truth_stock_pg_on_coverage": _stock_pg(truth_soc, _land_weights(grid, landfrac))}


def _write_covariates(outdir: Path, seed: int, grid: _Grid, landfrac: np.ndarray) -> dict:
    """Write the observed covariate maps; return their manifest entries."""
    lat2, lon2 = grid.mesh()
    fields = _observed_fields(seed, lat2, lon2)
    entries = {}
    for name, (filename, variable, units, factor) in _COVARIATE_FILES.items():
        standard_name, long_name = _COVARIATE_LONG_NAMES[name]
        attrs = {"long_name": long_name, "units": units}
        if standard_name:
            attrs["standard_name"] = standard_name
        values = np.where(landfrac > 0, fields[name] * factor, np.nan)
        path = f"obs/covariates/{filename}"
        _write_netcdf(outdir / path, grid, {variable: (values, attrs, FILL_VALUE)},
                      _obs_global_attrs(seed, f"Synthetic observed {long_name.lower()}"))
        entries[name] = {"canonical_units": CANONICAL_UNITS[name], "path": path, "variable": variable,
                         "units": units}
    return entries


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def make_world(outdir, seed: int = 0, resolution: float = 2.0, n_models: int = 4, n_products: int = 4,
               years: tuple = (2010, 2014), roles=None, model_grid: str = "native", climate_bias: float = 1.0,
               product_noise: tuple = (0.12, 0.12), extra_products=(), replicates_share_climate: bool = True) -> dict:
    """Write the synthetic world and return its manifest.

    Parameters
    ----------
    outdir : str or path-like
        Directory to write into (created if needed).
    seed : int
        Seed of every random field and noise in the world.
    resolution : float
        Base grid spacing in degrees: models are near it, products at 1/4..1x of it.
    n_models : int
        Number of models (>= 1); roles cycle FAITHFUL, TEMPNPP, DOUBLE, UNRELATED,
        the second cycle named ``-2`` (SYN-FAITHFUL-2, ...), and so on.
    n_products : int
        Number of observation SOC products (>= 3).
    years : tuple of int
        First and last year of the monthly model output.
    roles : list of str, optional
        The models by role, instead of ``n_models``: ``faithful``, ``tempnpp``,
        ``double`` (x2 stock on the first faithful model's climate),
        ``unrelated``, ``mix:<lambda>`` (the observed process mixed with the
        wrong-driver field, ``SYN-MIX-<100 lambda>``) and ``longnoise`` (noise
        correlated over ~30 degrees or more, ``SYN-LONGNOISE``).
    model_grid : {"native", "analysis"}
        Models on their own grids (default), or all on the regular
        ``resolution`` grid (no regridding differences between models).
    climate_bias : float
        Scale of each model's own climate bias (0: models see the observed climate).
    product_noise : (float, float)
        Standard deviations (ln units) of each product's smooth and white noise.
        About (0.5, 0.6) makes products only 30-50 % predictable from their
        drivers, as real ones are.
    extra_products : list of str
        ``outlier`` (a product driven by other drivers) and/or ``misread`` (a
        product whose values are 10x its units attribute).
    replicates_share_climate : bool
        With ``n_models > 4``, whether the replicates of a role (``-2``, ``-3``,
        ...) have its climate, as ensemble members of one model do (default),
        or a climate bias of their own (they are then the same soil process in
        different models' climates).

    Returns
    -------
    dict
        The manifest, also written as ``outdir/truth.json``.

    Raises
    ------
    ValueError
        If ``n_products < 3``, ``n_models < 1``, or ``resolution``/``years`` are invalid.
    """
    _check_arguments(n_models, n_products, resolution, years)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    years = (int(years[0]), int(years[1]))
    covariate_grid = _make_grid(resolution / 2.0, resolution / 2.0)
    landfrac = _land_fraction(covariate_grid)
    manifest = _describe_truth(seed, resolution, years, covariate_grid, landfrac)
    manifest["covariates"] = _write_covariates(outdir, seed, covariate_grid, landfrac)
    products = _product_specs(n_products) + [_extra_product(name) for name in extra_products]
    manifest["products"] = {spec.name: _write_product(outdir, seed, spec, resolution, tuple(product_noise))
                            for spec in products}
    if roles is None:
        specs = [_model_spec(index, resolution, replicates_share_climate) for index in range(n_models)]
    else:
        specs = _role_specs(list(roles), resolution, model_grid, climate_bias)
    manifest["models"] = {spec.source_id: _write_model(outdir, seed, spec, years) for spec in specs}
    manifest["model_roles"] = {name: entry["role"] for name, entry in manifest["models"].items()}
    manifest["stocks_pg"] = _stock_table(manifest)
    _write_manifest(outdir, manifest)
    return manifest


def _extra_product(name: str) -> _ProductSpec:
    if name not in _EXTRA_PRODUCTS:
        raise ValueError(f"unknown extra product {name!r} (known: {', '.join(_EXTRA_PRODUCTS)})")
    return _EXTRA_PRODUCTS[name]


def _role_specs(roles: list, resolution: float, model_grid: str, climate_bias: float) -> list:
    if model_grid not in ("native", "analysis"):
        raise ValueError(f"model_grid must be 'native' or 'analysis' (got {model_grid!r})")
    specs = [_role_spec(index, role, resolution, model_grid, climate_bias) for index, role in enumerate(roles)]
    refuse_duplicates([spec.source_id for spec in specs], "model names in roles")
    faithful = next((spec.index for spec in specs if spec.kind == "SYN-FAITHFUL"), None)
    return [replace(spec, climate_index=spec.index if faithful is None else faithful)
            if spec.kind == "SYN-DOUBLE" else spec for spec in specs]


def _check_arguments(n_models, n_products, resolution, years) -> None:
    if int(n_products) < 3:
        raise ValueError(f"n_products must be >= 3 (got {n_products})")
    if int(n_models) < 1:
        raise ValueError(f"n_models must be >= 1 (got {n_models})")
    if not 0.1 <= float(resolution) <= 20.0:
        raise ValueError(f"resolution must be between 0.1 and 20 degrees (got {resolution})")
    if len(years) != 2 or int(years[1]) < int(years[0]):
        raise ValueError(f"years must be (first, last) with last >= first (got {years})")


def _describe_truth(seed, resolution, years, grid: _Grid, landfrac: np.ndarray) -> dict:
    """The planted truth and what was measured of it on the covariate grid."""
    lat2, lon2 = grid.mesh()
    weights = _land_weights(grid, landfrac)
    fields = _observed_fields(seed, lat2, lon2)
    return {
        "generator": "socbench.synth",
        "seed": int(seed),
        "resolution": float(resolution),
        "years": list(years),
        "analysis_region": f"land north of {abs(SOUTH_LIMIT):g}S; stocks = sum(SOC x cell area x land fraction)",
        "canonical_units": dict(CANONICAL_UNITS),
        "planted_weights": dict(PLANTED_WEIGHTS),
        "strongest_drivers": list(STRONGEST_DRIVERS),
        "process": {
            "formula": PROCESS_FORMULA,
            "C0": C0,
            "coefficients": dict(COEFFICIENTS),
            "K_npp_half_saturation": NPP_HALF_SATURATION,
            "reference_values": {"clay": CLAY_REF, "temperature": TEMPERATURE_REF, "cn_ratio": CN_REF,
                                 "precipitation": PRECIPITATION_REF},
            "clip_kg_m2": list(SOC_CLIP),
            "direction": {"clay": "increasing", "temperature": "decreasing", "cn_ratio": "increasing",
                          "wetland": "increasing", "npp": "increasing, saturating", "precipitation": "increasing"},
        },
        "measured_component_std": _component_stds(seed, grid),
        "truth_stock_pg": _stock_pg(_truth_soc(seed, lat2, lon2), weights),
        "covariate_correlation": {"names": list(COVARIATES), "matrix": _correlations(fields, weights),
                                  "method": "area x land fraction weighted Pearson, land north of 60S"},
        "tempnpp_process": f"ln cSoil = a - {TEMPNPP_T} T + {TEMPNPP_NPP} ln(NPP), a set to match the truth stock",
    }


def _stock_table(manifest: dict) -> dict:
    return {
        "truth": manifest["truth_stock_pg"],
        "products": {name: entry["stock_pg"] for name, entry in manifest["products"].items()},
        "models": {name: entry["stock_pg"] for name, entry in manifest["models"].items()},
    }


def _rounded(value):
    """Round floats to 6 significant digits for a readable, stable JSON."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value


def _write_manifest(outdir: Path, manifest: dict) -> None:
    rounded = _rounded(manifest)
    manifest.clear()
    manifest.update(rounded)
    tmp = outdir / "truth.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(outdir / "truth.json")


def _read_product(path: Path, variable: str) -> tuple:
    """Read a product file: (grid, values as float64 with NaN, units)."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        var = nc.variables[variable]
        values = np.ma.filled(var[:].astype(float), np.nan)
        units = var.units
        grid = _Grid(np.asarray(nc["lat"][:], float), np.asarray(nc["lon"][:], float),
                     np.asarray(nc["lat_bnds"][:], float), np.asarray(nc["lon_bnds"][:], float))
    return grid, values, units


def _as_model_grid(grid: _Grid, values: np.ndarray) -> tuple:
    """Reorder a grid (and its 2-D values) to model conventions: lon 0..360, lat ascending."""
    shift = grid.lon % 360.0 - grid.lon
    lon, lon_bnds = grid.lon + shift, grid.lon_bnds + shift[:, None]
    lon_order, lat_order = np.argsort(lon), np.argsort(grid.lat)
    lat_bnds = np.sort(grid.lat_bnds[lat_order], axis=1)
    new = _Grid(grid.lat[lat_order], lon[lon_order], lat_bnds, lon_bnds[lon_order])
    return new, values[np.ix_(lat_order, lon_order)]


def add_copy_model(world_dir, product: str = "HWSD-like", source_id: str = "OBS-COPY") -> Path:
    """Add a CMIP6 model that is a copy of an observation product.

    Its cSoil is the product converted to kg m-2 on the product's own grid
    (reordered to lon 0..360, lat ascending), constant over the world's years;
    tas, pr and npp are the observed climatology fields in model units, constant
    in time; sftlf and areacella describe the same grid. ``truth.json`` gains an
    entry for the model.

    Parameters
    ----------
    world_dir : str or path-like
        A directory written by :func:`make_world`.
    product : str
        Name of the observation product to copy.
    source_id : str
        The new model's source_id.

    Returns
    -------
    pathlib.Path
        The new model's cSoil file.
    """
    world_dir = Path(world_dir)
    manifest = json.loads((world_dir / "truth.json").read_text())
    if product not in manifest["products"]:
        raise ValueError(f"unknown product {product!r}; the world has {sorted(manifest['products'])}")
    seed, years = manifest["seed"], tuple(manifest["years"])
    entry = manifest["products"][product]
    grid, values, units = _read_product(world_dir / entry["path"], entry["variable"])
    grid, soc = _as_model_grid(grid, values * _UNITS_TO_KG_M2[units])
    role = f"copy of the observation product {product}"
    spec = _ModelSpec(-1, source_id, "SYNOBS", role, grid)
    path = _write_copy_model(world_dir, seed, spec, soc, years)
    manifest["models"][source_id] = {"role": role, "institution_id": "SYNOBS", "members": ["r1i1p1f1"],
                                     "grid": _grid_summary(grid), "path": str(path.relative_to(world_dir)),
                                     "stock_pg": _stock_pg(soc, _land_weights(grid))}
    manifest["model_roles"][source_id] = role
    manifest["stocks_pg"]["models"][source_id] = manifest["models"][source_id]["stock_pg"]
    _write_manifest(world_dir, manifest)
    return path


def _write_copy_model(world_dir: Path, seed: int, spec: _ModelSpec, soc: np.ndarray, years: tuple) -> Path:
    """Write the files of a copy model; return its cSoil path."""
    landfrac = _land_fraction(spec.grid)
    land = (landfrac > 0)[None]
    observed = _observed_fields(seed, *spec.grid.mesh())
    write = functools.partial(_write_cmip, world_dir, seed, spec, member="r1i1p1f1", years=years)
    write("sftlf", 100.0 * landfrac)
    write("areacella", spec.grid.area())
    for cmip, canonical in (("tas", "temperature"), ("pr", "precipitation"), ("npp", "npp")):
        write(cmip, _constant_in_time(_to_model_units(cmip, observed[canonical]), years), land=land)
    return write("cSoil", _constant_in_time(soc, years), land=land)
