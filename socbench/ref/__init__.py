"""socbench as a diagnostic provider of the CMIP7 Rapid Evaluation Framework (climate-ref).

Installed with ``pip install "socbench[ref]"`` (Python >= 3.12, as climate-ref);
climate-ref finds :data:`provider` through the entry point ``socbench`` of the
group ``climate-ref.providers``. The core of socbench never imports this
package, so socbench itself keeps working on Python 3.10 and 3.11.

See docs/climate-ref.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climate_ref_core.data import resolve_cache_dir
from climate_ref_core.providers import DiagnosticProvider
from loguru import logger

from socbench import __version__
from socbench.errors import SocbenchError

from . import bundles
from .diagnostic import SocDrivers

__all__ = ["SocbenchProvider", "provider"]


class SocbenchProvider(DiagnosticProvider):
    """Provider of socbench's diagnostics; its data is the reference bundle (the observational envelope)."""

    def fetch_data(self, config: Any) -> None:
        """Fetch the reference bundle into the data cache, hash-checked (``ref providers setup``)."""
        path = bundles.fetch_bundle()
        logger.info(f"socbench reference bundle ready in {path}")

    def validate_setup(self, config: Any) -> bool:
        """Whether the bundle is cached, complete and unmodified."""
        if not super().validate_setup(config):
            return False
        try:
            bundles.cached_bundle()
        except SocbenchError as exc:
            logger.error(str(exc))
            return False
        return True

    def get_data_path(self) -> Path | None:
        return resolve_cache_dir(bundles.CACHE_NAME)


provider = SocbenchProvider("socbench", __version__)
provider.register(SocDrivers(bundles.definition()))
