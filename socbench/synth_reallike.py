"""The real-like synthetic world: the conditions of real data, with a planted truth.

``make_reallike_world`` writes a world that reproduces what socbench meets on
real data (issue 14: HWSD, NCSCD and a merged product, CMIP models, drivers MAT,
MAP and heterotrophic respiration): observation products that are mostly noise
inside a biome, nearly deterministic models, collinear drivers, and models that
are right-shaped but too steep, mirrored in precipitation, right for the wrong
reasons or unrelated. It reuses the building blocks of :mod:`socbench.synth`
(smooth random fields, grids, land fraction, netCDF and CMIP6 DRS writers,
product writer); ``socbench synth OUTDIR --world real-like`` calls it.

The planted truth
-----------------
**Drivers** (canonical units; ``z_*`` are independent smooth unit fields):

- MAT [degC] and MAP [mm yr-1]: the fields of the default world
  (``socbench.synth``), so the Whittaker biomes are the same;
- Rh [kg C m-2 yr-1] = 0.85 x Miami NPP(MAT, MAP) x exp(0.6 z_rh): in steady
  state heterotrophic respiration balances productivity, so Rh rises with
  temperature and precipitation (r = 0.40 with MAT, 0.63 with ln MAP over land): the drivers are
  partly collinear, as real ones are.

**Observed soil organic carbon** (0-1 m, kg m-2) is ``exp(ln SOC)`` with
three additive, monotone responses (``PLANTED_AMPLITUDES``)::

    ln SOC = C0 - 0.05 (MAT - 10) + 0.35 ln(MAP / 1000) + 0.45 ln(Rh / 0.3)

SOC falls with temperature (first-order kinetics, Q10 ~ 1.65) and rises with
precipitation and with Rh (SOC = Rh x turnover time). MAT varies mostly between
biomes, so the climate gradient between biomes is strong and the driver signal
inside a biome modest (``truth.json`` -> ``truth.variance_between_biomes``).

**Products** = truth x bias x exp(0.3 z_product + 0.9 white noise) / exp(0.45),
z_product with features of ~700-1,500 km (|k| 12..30) made linearly uncorrelated
with the drivers over land (``product_smooth_noise``), clipped
to 0.3..150 kg m-2, each with its own noise; ``HWSD-like`` (``Kg/m2``, global,
``resolution/2``), ``Merged-like`` (``Mg ha-1``, global, lon 0..360, lat north
to south) and ``NCSCD-like`` (``hg m-2``, north of 50N only).

**Observed drivers**: ``WFDEI-like`` MAT (monthly climatology in K, land only),
``CMAP-like`` MAP (monthly climatology in mm/day on a coarse global grid, lat
north to south, lon 0..360, the one field every dataset uses) and
``CARDAMOM-like`` Rh (gC m-2 d-1, 0 where there is no data).

**Models** (CMIP6 DRS, monthly noleap ``tas``, ``rh``, ``cSoil``, with
``sftlf`` and ``areacella``, each on its own grid): tas = MAT + 1.5 K x own
smooth bias; rh = 0.85 Miami(own tas, MAP) exp(0.6 z_rh + 0.2 own z); cSoil
by role (``ROLES``), with 0.08 white noise in ln units.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import synth
from .regions import WHITTAKER_BIOMES, whittaker_class
from .units import DAYS_PER_YEAR

__all__ = ["PLANTED_AMPLITUDES", "ROLES", "make_reallike_world", "reallike_ln_soc"]

DRIVERS = ("temperature", "precipitation", "rh")
CANONICAL_UNITS = {"temperature": "degC", "precipitation": "mm yr-1", "rh": "kg m-2 yr-1"}
#: Coefficient of each additive response of ln SOC; the sign is the direction.
PLANTED_AMPLITUDES = {"temperature": -0.05, "precipitation": 0.35, "rh": 0.45}
#: Values at which the responses vanish (degC, mm yr-1, kg C m-2 yr-1).
REFERENCES = {"temperature": 10.0, "precipitation": 1000.0, "rh": 0.3}
#: Intercept of ln SOC (ln kg m-2): ~1,480 Pg over land north of 60S for seed 0.
C0 = 2.65
#: Rh's spread beyond productivity (ln units): turnover and substrate differ inside a biome, so Rh is the
#: driver that varies most there. At 0.35 the three drivers moved ln SOC about equally inside most biomes
#: (shares within 0.1 of 1/3 in total variation), where no driver comparison can tell a model from one that
#: knows nothing; at 0.6 the planted shares are 0.14-0.30 from equal in every biome.
RH_PER_NPP, RH_SPREAD = 0.85, 0.6
MODEL_TAS_BIAS, MODEL_RH_BIAS, MODEL_NOISE = 1.5, 0.2, 0.08
#: Std (ln units) of each product's smooth and white noise, on its own grid (half the base resolution:
#: averaging 2 x 2 cells onto the analysis grid halves the white part).
PRODUCT_NOISE = (0.3, 0.9)
#: Wavenumbers of the products' smooth noise: features ~700-1,500 km, shorter than the climate's, so
#: that inside a biome the noise cannot pass for a driver.
PRODUCT_NOISE_WAVENUMBERS = (12.0, 30.0)
PRODUCT_CLIP = (0.3, 150.0)
NCSCD_SOUTH = 50.0
#: The wrong-driver model: a hump in precipitation, none of the planted responses.
WRONG_DRIVER_FORMULA = "ln SOC = -(ln(MAP / 700))^2, standardised to the truth's spread, observed stock"
NOISE_WAVENUMBERS = (12.0, 24.0)
PROCESS_FORMULA = ("ln SOC [kg m-2] = C0 + a_T (MAT - 10) + a_P ln(MAP / 1000) + a_R ln(Rh / 0.3);"
                   " MAT degC, MAP mm yr-1, Rh kg C m-2 yr-1")


@dataclass(frozen=True)
class Role:
    """One model of the world: what its cSoil is made of."""

    source_id: str
    institution_id: str
    kind: str  # faithful, replicate, steep, mirror, double, wrong-driver, noise
    description: str
    factors: dict = field(default_factory=lambda: {name: 1.0 for name in DRIVERS})
    rescale: bool = False  # rescale to the observed (noise-free truth) stock
    stock_factor: float = 1.0
    climate_of: int | None = None  # index of the model whose climate bias it shares


def _factors(**changed) -> dict:
    return {name: float(changed.get(name, 1.0)) for name in DRIVERS}


_REPLICATE = "faithful replicate (an ensemble member): RL-FAITHFUL's process, climate and grid, its own noise"
#: A replicate's role with ``replicates_share_grid=False``.
REPLICATE_ON_OWN_GRID = "faithful replicate: RL-FAITHFUL's process and climate, its own grid and noise"
#: The models, in order (their index sets their grid, climate bias and noise streams).
ROLES = (
    Role("RL-FAITHFUL", "RLA", "faithful", "faithful: the planted process on its own climate"),
    Role("RL-FAITHFUL-R2", "RLA", "replicate", _REPLICATE, climate_of=0),
    Role("RL-FAITHFUL-R3", "RLA", "replicate", _REPLICATE, climate_of=0),
    Role("RL-STEEP2", "RLB", "steep", "right-shaped, Rh response 2x the planted amplitude, observed stock",
         factors=_factors(rh=2.0), rescale=True),
    Role("RL-STEEP4", "RLC", "steep", "right-shaped, Rh response 4x the planted amplitude, observed stock",
         factors=_factors(rh=4.0), rescale=True),
    Role("RL-MIRRORP", "RLD", "mirror", "precipitation response mirrored (opposite sign), the rest faithful,"
         " observed stock", factors=_factors(precipitation=-1.0), rescale=True),
    Role("RL-DOUBLE", "RLE", "double", "faithful process on RL-FAITHFUL's climate, x2 stock",
         stock_factor=2.0, climate_of=0),
    Role("RL-WRONGDRIVER", "RLF", "wrong-driver", f"wrong driver: {WRONG_DRIVER_FORMULA}", rescale=True),
    Role("RL-NOISE", "RLG", "noise", "smooth field unrelated to the drivers (|k| 12..24), observed stock",
         rescale=True),
)

#: Product biases (stock ratio to the truth); the noise's mean, exp(var / 2), is divided out.
PRODUCT_BIAS = {"HWSD-like": 1.0, "Merged-like": 1.1, "NCSCD-like": 0.9}
_MEAN_ONE = math.exp(-(PRODUCT_NOISE[0] ** 2 + PRODUCT_NOISE[1] ** 2) / 2.0)
_PRODUCTS = (
    synth._ProductSpec("HWSD-like", "hwsd_like_soilc.nc", "soilc", "Kg/m2", 1.0,
                       PRODUCT_BIAS["HWSD-like"] * _MEAN_ONE, 0.5),
    synth._ProductSpec("Merged-like", "merged_like_soc.nc", "soc", "Mg ha-1", 10.0,
                       PRODUCT_BIAS["Merged-like"] * _MEAN_ONE, 0.5, lon_start=0.0, descending=True),
    synth._ProductSpec("NCSCD-like", "ncscd_like_socc.nc", "SOCC", "hg m-2", 10.0,
                       PRODUCT_BIAS["NCSCD-like"] * _MEAN_ONE, 0.5, lat_south=NCSCD_SOUTH),
)

#: What the world is built to reproduce (issue 14): emulator CV R^2 as ``emulators.csv`` reports it.
TARGETS = {
    "products_global_cv_r2": [0.3, 0.45],
    "products_within_biome_cv_r2": [-0.6, 0.2],
    "models_global_cv_r2": [0.85, 0.99],
    "noise_model_global_cv_r2": "below learner.min_r2 (0.3)",
}
#: Calibration record: what ``socbench run benchmarks/real-like.yaml`` measured on the first version of this
#: world (Rh spread 0.35) for seed 0 at 2 degrees, with the pipeline of socbench commit 9fd587b (per-region
#: emulators). Not recomputed.
CALIBRATION = {
    "command": "socbench synth W --world real-like && socbench run benchmarks/real-like.yaml --data-root W",
    "pipeline_commit": "9fd587b",
    "rh_spread": 0.35,
    "global_cv_r2": {"HWSD-like": 0.36, "Merged-like": 0.38, "RL-FAITHFUL": 0.97, "RL-FAITHFUL-R2": 0.98,
                     "RL-FAITHFUL-R3": 0.97, "RL-STEEP2": 0.97, "RL-STEEP4": 0.98, "RL-MIRRORP": 0.97,
                     "RL-DOUBLE": 0.97, "RL-WRONGDRIVER": 0.95, "RL-NOISE": -0.01},
    "within_biome_cv_r2_range": {"HWSD-like": [-0.43, 0.08], "Merged-like": [-0.42, 0.21],
                                 "NCSCD-like": [0.10, 0.12]},
    "global_ale_range_rh": {"HWSD-like": 1.15, "Merged-like": 0.72, "RL-FAITHFUL": 0.92, "RL-STEEP2": 1.83,
                            "RL-STEEP4": 3.97},
    "global_ale_slope_ln_rh": {"HWSD-like": 0.46, "Merged-like": 0.35, "RL-FAITHFUL": 0.385, "RL-STEEP2": 0.78,
                               "RL-STEEP4": 1.66},
}

# --------------------------------------------------------------------------------------
# The planted process
# --------------------------------------------------------------------------------------


def responses(temperature, precipitation, rh, factors=None) -> dict:
    """The additive responses of ln SOC (ln units) by driver; ``factors`` scale the amplitudes."""
    factors = factors or _factors()
    values = {"temperature": np.asarray(temperature, float) - REFERENCES["temperature"],
              "precipitation": np.log(np.maximum(precipitation, 1.0) / REFERENCES["precipitation"]),
              "rh": np.log(np.maximum(rh, 1e-4) / REFERENCES["rh"])}
    return {name: factors[name] * PLANTED_AMPLITUDES[name] * values[name] for name in DRIVERS}


def reallike_ln_soc(temperature, precipitation, rh, factors=None) -> np.ndarray:
    """The planted process: ln SOC (ln kg m-2) from MAT (degC), MAP (mm yr-1) and Rh (kg C m-2 yr-1).

    Parameters
    ----------
    temperature, precipitation, rh : array_like
        The drivers in canonical units; they broadcast together.
    factors : dict of str to float, optional
        Multipliers of the planted amplitudes by driver (a steeper or mirrored model).

    Returns
    -------
    numpy.ndarray
        ``C0`` plus the three responses.
    """
    parts = responses(temperature, precipitation, rh, factors)
    return C0 + sum(parts[name] for name in DRIVERS)


def _rh(seed: int, temperature, precipitation, lat, lon, model: int | None = None) -> np.ndarray:
    """Heterotrophic respiration (kg C m-2 yr-1): a share of Miami NPP, with its own spatial spread."""
    spread = RH_SPREAD * synth._smooth_field(seed, "reallike:rh", lat, lon)
    if model is not None:
        spread = spread + MODEL_RH_BIAS * synth._smooth_field(seed, f"reallike:model{model}:rh", lat, lon)
    return RH_PER_NPP * synth._miami_npp(temperature, precipitation) * np.exp(spread)


def observed_drivers(seed: int, lat, lon) -> dict:
    """The observed drivers (canonical units) at points (lat, lon) in degrees."""
    fields = synth._observed_fields(seed, lat, lon)
    temperature, precipitation = fields["temperature"], fields["precipitation"]
    return {"temperature": temperature, "precipitation": precipitation,
            "rh": _rh(seed, temperature, precipitation, lat, lon)}


def model_drivers(seed: int, index: int, lat, lon) -> dict:
    """A model's drivers: its own tas and rh, and the shared observed MAP."""
    observed = synth._observed_fields(seed, lat, lon)
    temperature = observed["temperature"] + MODEL_TAS_BIAS * synth._smooth_field(
        seed, f"reallike:model{index}:tas", lat, lon)
    precipitation = observed["precipitation"]
    return {"temperature": temperature, "precipitation": precipitation,
            "rh": _rh(seed, temperature, precipitation, lat, lon, model=index)}


def truth_soc(seed: int, lat, lon) -> np.ndarray:
    """Noise-free observed SOC (kg m-2) at points."""
    return np.exp(reallike_ln_soc(**observed_drivers(seed, lat, lon)))


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def _model_spec(index: int, role: Role, resolution: float, replicates_share_grid: bool = True) -> synth._ModelSpec:
    climate = index if role.climate_of is None else role.climate_of
    shares_grid = replicates_share_grid and role.kind == "replicate"
    grid = synth.native_grid(climate if shares_grid else index, resolution)
    own_grid_replicate = role.kind == "replicate" and not shares_grid
    description = REPLICATE_ON_OWN_GRID if own_grid_replicate else role.description
    return synth._ModelSpec(index, role.source_id, role.institution_id, description, grid,
                            kind=role.kind, climate_index=climate)


def _standardised_to_truth(seed: int, grid, ln_soc: np.ndarray) -> np.ndarray:
    """``ln_soc`` with the noise-free truth's mean and spread over the grid's land."""
    weights = synth._land_weights(grid)
    truth = np.log(truth_soc(seed, *grid.mesh()))
    scale = synth._weighted_std(truth, weights) / synth._weighted_std(ln_soc, weights)
    return np.average(truth, weights=weights) + scale * (ln_soc - np.average(ln_soc, weights=weights))


def _role_ln_soc(seed: int, spec: synth._ModelSpec, role: Role, drivers: dict) -> np.ndarray:
    """ln cSoil of a model before noise and stock scaling."""
    lat2, lon2 = spec.grid.mesh()
    if role.kind == "wrong-driver":
        hump = -np.log(drivers["precipitation"] / 700.0) ** 2
        return _standardised_to_truth(seed, spec.grid, hump)
    if role.kind == "noise":
        return 0.6 * synth._smooth_field(seed, f"reallike:model{spec.index}:noise", lat2, lon2,
                                         wavenumbers=NOISE_WAVENUMBERS)
    return reallike_ln_soc(**drivers, factors=role.factors)


def model_csoil(seed: int, spec: synth._ModelSpec, role: Role, drivers: dict) -> np.ndarray:
    """cSoil (kg m-2, every cell) of a model, by its role."""
    noise = synth._rng(seed, f"reallike:model{spec.index}:noise").normal(size=spec.grid.shape)
    soc = np.exp(_role_ln_soc(seed, spec, role, drivers) + MODEL_NOISE * noise)
    if role.rescale:
        weights = synth._land_weights(spec.grid)
        target = synth._stock_pg(truth_soc(seed, *spec.grid.mesh()), weights)
        soc = soc * target / synth._stock_pg(soc, weights)
    return role.stock_factor * soc


def _write_model(outdir: Path, seed: int, spec: synth._ModelSpec, role: Role, years: tuple) -> dict:
    """Write one model's files; return its manifest entry."""
    landfrac = synth._land_fraction(spec.grid)
    land = (landfrac > 0)[None]
    lat2, lon2 = spec.grid.mesh()
    drivers = model_drivers(seed, spec.climate_index, lat2, lon2)
    write = functools.partial(synth._write_cmip, outdir, seed, spec, member="r1i1p1f1", years=years)
    write("sftlf", 100.0 * landfrac)
    write("areacella", spec.grid.area())
    n_years = years[1] - years[0] + 1
    for cmip, canonical, cycle in (("tas", "temperature", "temperature"), ("rh", "rh", "rh")):
        months = synth._monthly(drivers[canonical], spec.grid.lat, cycle, n_years)
        write(cmip, synth._to_model_units(cmip, months), land=land)
    csoil = model_csoil(seed, spec, role, drivers)
    path = write("cSoil", synth._constant_in_time(csoil, years), land=land)
    weights = synth._land_weights(spec.grid, landfrac)
    return {"role": spec.role, "kind": role.kind, "institution_id": role.institution_id,
            "amplitude_factors": dict(role.factors), "stock_factor": role.stock_factor,
            "rescaled_to_observed_stock": role.rescale, "climate_of": ROLES[spec.climate_index].source_id,
            "noise_std": MODEL_NOISE, "grid": synth._grid_summary(spec.grid),
            "stock_pg": synth._stock_pg(np.where(landfrac > 0, csoil, np.nan), weights),
            "path": str(path.relative_to(outdir))}


# --------------------------------------------------------------------------------------
# Observed drivers
# --------------------------------------------------------------------------------------


def _climatology_time() -> tuple:
    return synth._monthly_time((2000, 2000))


def _write_driver(outdir: Path, seed: int, path: str, grid, variable: str, data: np.ndarray, attrs: dict,
                  title: str, fill=synth.FILL_VALUE) -> dict:
    time = _climatology_time() if data.ndim == 3 else None
    synth._write_netcdf(outdir / path, grid, {variable: (data, attrs, fill)},
                        synth._obs_global_attrs(seed, title), time)
    if time is not None:
        _mark_climatology(outdir / path)
    return {"path": path, "variable": variable, "units": attrs["units"], "grid": synth._grid_summary(grid)}


def _mark_climatology(path: Path) -> None:
    """Label the time axis a 12-month climatology (CF ``climatology`` attribute, as CMAP's)."""
    import netCDF4

    with netCDF4.Dataset(path, "a") as nc:
        time = nc["time"]
        time.delncattr("bounds")
        time.setncatts({"climatology": "time_bnds", "climo_period": "1981/01/01 - 2010/12/31"})


def _write_observed_drivers(outdir: Path, seed: int, resolution: float) -> dict:
    """Write the WFDEI-like MAT, CMAP-like MAP and CARDAMOM-like Rh; return their manifest entries."""
    fine = synth._make_grid(resolution / 2.0, resolution / 2.0)
    fine_land = synth._land_fraction(fine) > 0
    coarse = synth._make_grid(resolution * 1.25, resolution * 1.25, lon_start=0.0, descending=True)
    observed = observed_drivers(seed, *fine.mesh())
    tas = synth._monthly(observed["temperature"], fine.lat, "temperature", 1) + 273.15
    precipitation = synth._observed_fields(seed, *coarse.mesh())["precipitation"]
    # per-day values: MAP on the climatology's noleap calendar; Rh has no time axis, so it is read
    # with the standard calendar's year
    pr = synth._monthly(precipitation, coarse.lat, "precipitation", 1) / DAYS_PER_YEAR["noleap"]
    rh = np.where(fine_land, observed["rh"] * 1000.0 / DAYS_PER_YEAR["standard"], 0.0)
    return {
        "temperature": _write_driver(
            outdir, seed, "obs/covariates/wfdei_like_tair.nc", fine, "Tair", np.where(fine_land[None], tas, np.nan),
            {"standard_name": "air_temperature", "long_name": "Near-surface air temperature", "units": "K"},
            "WFDEI-like monthly climatology of near-surface air temperature"),
        "precipitation": _write_driver(
            outdir, seed, "obs/covariates/cmap_like_precip.nc", coarse, "precip", pr,
            {"long_name": "Average monthly rate of precipitation", "units": "mm/day"},
            "CMAP-like monthly long-term mean precipitation", fill=-9.969209968386869e36),
        "rh": _write_driver(
            outdir, seed, "obs/covariates/cardamom_like_rh.nc", fine, "rh", rh,
            {"long_name": "Heterotrophic respiration", "units": "gC m-2 d-1", "comment": "0 where no data"},
            "CARDAMOM-like mean heterotrophic respiration"),
    }


# --------------------------------------------------------------------------------------
# What was planted, measured at generation
# --------------------------------------------------------------------------------------


def _weighted_corr(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> float:
    cov = np.cov(np.stack([a, b]), aweights=weights)
    return float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))


def _describe_truth(seed: int) -> dict:
    """The planted process and what it gives on the 1-degree land grid north of 60S."""
    grid = synth._make_grid(1.0, 1.0)
    weights = synth._land_weights(grid)
    land = weights > 0
    drivers = {name: values[land] for name, values in observed_drivers(seed, *grid.mesh()).items()}
    parts = responses(**drivers)
    ln_soc = reallike_ln_soc(**drivers)
    w = weights[land]
    biomes = whittaker_class(drivers["temperature"], drivers["precipitation"])
    return {
        "formula": PROCESS_FORMULA,
        "C0": C0,
        "amplitudes": dict(PLANTED_AMPLITUDES),
        "reference_values": dict(REFERENCES),
        "direction": {"temperature": "decreasing", "precipitation": "increasing", "rh": "increasing"},
        "response_std": {name: synth._weighted_std(parts[name], w) for name in DRIVERS},
        "response_range_p5_p95": {name: float(np.ptp(np.percentile(parts[name], [5, 95]))) for name in DRIVERS},
        "ln_soc_std": synth._weighted_std(ln_soc, w),
        "variance_between_biomes": _between_share(ln_soc, biomes, w),
        "within_biome_ln_soc_std": _within_stds(ln_soc, biomes, w),
        "driver_correlation": {
            "temperature~rh": _weighted_corr(drivers["temperature"], np.log(drivers["rh"]), w),
            "precipitation~rh": _weighted_corr(np.log(drivers["precipitation"]), np.log(drivers["rh"]), w),
            "temperature~precipitation": _weighted_corr(drivers["temperature"],
                                                        np.log(drivers["precipitation"]), w),
            "method": "area x land weighted Pearson of MAT, ln MAP, ln Rh",
        },
        "stock_pg": synth._stock_pg(np.exp(ln_soc), w),
    }


def _between_share(values: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> float:
    """Share of the weighted variance of ``values`` explained by the group means."""
    total = synth._weighted_std(values, weights) ** 2
    means = np.zeros_like(values)
    for code in np.unique(groups):
        member = groups == code
        means[member] = np.average(values[member], weights=weights[member])
    return float(synth._weighted_std(means, weights) ** 2 / total)


def _within_stds(values: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> dict:
    return {WHITTAKER_BIOMES[int(code)]: synth._weighted_std(values[groups == code], weights[groups == code])
            for code in np.unique(groups) if code > 0 and (groups == code).sum() >= 100}


def _write_product(outdir: Path, seed: int, spec, resolution: float, truth) -> dict:
    """Write one product; its manifest entry states the nominal bias (the noise's mean divided out)."""
    entry = synth._write_product(outdir, seed, spec, resolution, PRODUCT_NOISE, truth, PRODUCT_CLIP,
                                 functools.partial(product_smooth_noise, seed))
    entry.update(bias=PRODUCT_BIAS[spec.name], noise_mean_divided_out=1.0 / _MEAN_ONE,
                 noise_wavenumbers=list(PRODUCT_NOISE_WAVENUMBERS), clip_kg_m2=list(PRODUCT_CLIP),
                 smooth_noise="uncorrelated (linearly, area-weighted over land) with MAT, ln MAP and ln Rh")
    return entry


def product_smooth_noise(seed: int, name: str, lat, lon, landfrac) -> np.ndarray:
    """A product's smooth noise: a unit field with |k| in ``PRODUCT_NOISE_WAVENUMBERS``, minus its
    linear projection on the drivers over land, rescaled to unit std.

    A field of 30 Fourier features can by chance follow a driver's large-scale pattern (by -0.36 per
    ln MAP for HWSD-like, seed 0); the products would then misstate the drivers' effects. Without the
    projection they are unbiased about them.
    """
    field = synth._smooth_field(seed, name, lat, lon, PRODUCT_NOISE_WAVENUMBERS)
    drivers = observed_drivers(seed, lat, lon)
    grid_weights = np.cos(np.deg2rad(lat)) * landfrac * (lat >= synth.SOUTH_LIMIT)
    design = np.stack([np.ones_like(field), drivers["temperature"], np.log(drivers["precipitation"]),
                       np.log(drivers["rh"])], axis=-1)
    root = np.sqrt(grid_weights).ravel()
    coef, *_ = np.linalg.lstsq(design.reshape(-1, 4) * root[:, None], field.ravel() * root, rcond=None)
    residual = field - design @ coef
    return residual / synth._weighted_std(residual[grid_weights > 0], grid_weights[grid_weights > 0])


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def make_reallike_world(
    outdir, seed: int = 0, resolution: float = 2.0, years: tuple = (2010, 2014), replicates_share_grid: bool = True
) -> dict:
    """Write the real-like world and return its manifest (also ``outdir/truth.json``).

    ``outdir``, ``seed`` and ``years`` are as in :func:`socbench.synth.make_world`;
    ``resolution`` is the base grid spacing in degrees (models near it,
    products and MAT/Rh at half of it). The faithful replicates are ensemble
    members of RL-FAITHFUL: its process, climate and grid, with noise of
    their own ("same process, different noise"); with
    ``replicates_share_grid=False`` each is on a grid of its own, so that
    regridding changes its data too (docs/synthetic-world.md).

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ValueError
        If ``resolution`` or ``years`` are invalid.
    """
    synth._check_arguments(len(ROLES), len(_PRODUCTS), resolution, years)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    years = (int(years[0]), int(years[1]))
    truth = functools.partial(truth_soc, seed)
    manifest = {
        "generator": "socbench.synth_reallike", "world": "real-like", "seed": int(seed),
        "resolution": float(resolution), "years": list(years),
        "analysis_region": f"land north of {abs(synth.SOUTH_LIMIT):g}S; stocks = sum(SOC x cell area x land fraction)",
        "canonical_units": dict(CANONICAL_UNITS),
        "truth": _describe_truth(seed),
        "covariates": _write_observed_drivers(outdir, seed, resolution),
        "products": {spec.name: _write_product(outdir, seed, spec, resolution, truth) for spec in _PRODUCTS},
    }
    specs = [_model_spec(index, role, resolution, replicates_share_grid) for index, role in enumerate(ROLES)]
    manifest["models"] = {role.source_id: _write_model(outdir, seed, spec, role, years)
                          for spec, role in zip(specs, ROLES)}
    manifest["model_roles"] = {role.source_id: role.kind for role in ROLES}
    manifest["sensitivity_ratios"] = {role.source_id: dict(role.factors) for role in ROLES
                                      if role.kind in ("faithful", "replicate", "steep", "mirror", "double")}
    manifest["stocks_pg"] = {"truth": manifest["truth"]["stock_pg"],
                             "products": {name: entry["stock_pg"] for name, entry in manifest["products"].items()},
                             "models": {name: entry["stock_pg"] for name, entry in manifest["models"].items()}}
    manifest["targets"] = dict(TARGETS)
    manifest["calibration"] = dict(CALIBRATION)
    synth._write_manifest(outdir, manifest)
    return manifest
