"""target.add: model variables summed into the target (e.g. cSoil + cLitter)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from helpers import member_dir

from socbench.discover import ModelFiles
from socbench.prepare import prepare_context, prepare_model


def test_litter_is_added_to_soil_carbon(small_world, small_definition, tmp_path):
    data = small_definition.model_dump()
    data["target"]["add"] = ["cLitter"]
    definition = type(small_definition).model_validate(data)
    member = member_dir(small_world, "SYN-FAITHFUL")
    files = {p.name.split("_")[0]: [p] for p in member.rglob("v20190308/*.nc")}
    litter = tmp_path / "cLitter_Lmon_SYN-FAITHFUL_historical_r1i1p1f1_gn_201001-201412.nc"
    with xr.open_dataset(files["cSoil"][0]) as ds:
        renamed = ds.rename({"cSoil": "cLitter"})
        renamed["cLitter"] = renamed["cLitter"] * 0.25
        renamed["cLitter"].attrs = ds["cSoil"].attrs
        renamed.to_netcdf(litter)
    files["cLitter"] = [litter]
    context = prepare_context(definition, small_world)
    with_litter = prepare_model(context, ModelFiles("SYN-FAITHFUL", "r1i1p1f1", files))
    files.pop("cLitter")
    without = prepare_model(type(context)(**{**context.__dict__, "definition": small_definition}),
                            ModelFiles("SYN-FAITHFUL", "r1i1p1f1", files))
    ok = np.isfinite(without.soc)
    np.testing.assert_allclose(with_litter.soc[ok], 1.25 * without.soc[ok], rtol=1e-5)
