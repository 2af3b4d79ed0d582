import numpy as np
import pytest

from socbench.units import UnitError, convert, read_units, same_units


@pytest.mark.parametrize(
    "value, source, target, expected",
    [
        (1.0, "kg m-2", "kg m-2", 1.0), (10.0, "Mg ha-1", "kg m-2", 1.0), (10.0, "t ha-1", "kg m-2", 1.0),
        (10.0, "hg m-2", "kg m-2", 1.0), (1000.0, "g m-2", "kg m-2", 1.0), (3.0, "kg C m-2", "kg m-2", 3.0),
        (273.15, "K", "degC", 0.0), (1000.0, "g m-2 yr-1", "kg m-2 yr-1", 1.0), (50.0, "%", "1", 0.5),
        # scaled units
        (1000.0, "1e-3 kg m-2", "kg m-2", 1.0), (1.0, "10^3 kg m-2", "kg m-2", 1000.0),
        (2.0, "kg m-2", "1e-3 kg m-2", 2000.0), (1.0, "mm/day", "mm d-1", 1.0),
    ],
)
def test_conversions(value, source, target, expected):
    assert convert(value, source, target) == pytest.approx(expected)


@pytest.mark.parametrize("calendar, days", [("noleap", 365), ("360_day", 360), ("all_leap", 366)])
def test_flux_per_year_uses_calendar_year(calendar, days):
    assert convert(1.0, "kg m-2 s-1", "kg m-2 yr-1", calendar) == pytest.approx(days * 86400)


def test_water_mass_flux_to_depth():
    # 1 kg m-2 of water is 1 mm; a noleap year has 365 days
    assert convert(1.0 / 86400, "kg m-2 s-1", "mm yr-1", "noleap") == pytest.approx(365.0)


def test_arrays_keep_nan():
    out = convert(np.array([1.0, np.nan]), "Mg ha-1", "kg m-2")
    assert out[0] == pytest.approx(0.1) and np.isnan(out[1])


@pytest.mark.parametrize("source", ["K", "m s-1", "zorkmids m-2"])
def test_unconvertible_units_raise(source):
    with pytest.raises(UnitError):
        convert(1.0, source, "kg m-2")


@pytest.mark.parametrize(
    "value, source, expected, aliases",
    [
        (5.0, "Kg/m2", 5.0, ("Kg -> kg",)),  # HWSD and NCSCD as distributed by ILAMB
        (5.0, "kg/m^2", 5.0, ()),
        (5.0, "kgC m-2", 5.0, ("kgC -> kg",)),
        (5.0, "kg C m-2", 5.0, ("C -> (substance label, dropped)",)),
        (50.0, "Mg C ha-1", 5.0, ("C -> (substance label, dropped)",)),
        (50.0, "t/ha", 5.0, ()),
        (5000.0, "gC/m2", 5.0, ("gC -> g",)),
        (5.0, "kg.m-2", 5.0, ()),
    ],
)
def test_real_product_spellings_and_their_aliases(value, source, expected, aliases):
    assert convert(value, source, "kg m-2") == pytest.approx(expected)
    assert read_units(source).aliases == aliases


def test_same_units_ignores_spelling_but_not_scale():
    assert same_units("Kg/m2", "kg m-2")
    assert not same_units("g m-2", "kg m-2")
    assert not same_units("1e-3 kg m-2", "kg m-2")
    assert not same_units("K", "kg m-2")


def test_carbon_labels_are_not_coulombs():
    # UDUNITS and pint read a bare "C" as coulomb; here it labels carbon
    assert convert(1.0, "kg C m-2", "kg m-2") == pytest.approx(1.0)
    with pytest.raises(UnitError, match="different physical dimensions"):
        convert(1.0, "kg m-2", "C")
