"""``python -m stls serve``: start the dashboard with the app's modules already imported.

Two reasons to launch through here rather than ``streamlit run app.py`` (which also works):
- a folder named ``pages/`` makes Streamlit treat the app as a v1 multipage app until the first
  script run calls ``st.navigation``; a first visit straight to a page's URL then shows a
  "Page not found" dialog. Switching that mode off before the server starts avoids it;
- importing pandas, DuckDB, plotly and the ``stls`` modules, and computing the Overview's default
  view, in a background thread while the server starts and the first browser loads Streamlit's
  JavaScript, takes about a second off the first page load.
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def warm_imports() -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import scipy.special  # noqa: F401

    from stls import catalogue, charts, compare, scorecard  # noqa: F401
    from stls.views import district, needs, outcomes, overview  # noqa: F401
    catalogue.catalogue()


def warm_default_view() -> None:
    """Compute the Overview's default view into the version-keyed memo while the server starts,
    so the first visitor's page is ready sooner. Any failure is left to the page to report."""
    try:
        from stls import db as dbmod
        from stls import queries
        from stls.filters import Filters
        from stls.ui.state import default_last_year
        from stls.views import overview
        path = dbmod.default_path()
        if not path.exists():
            return
        handle = dbmod.Database(path)
        extent = queries.data_extent(handle)
        f = Filters(extent["first_year"], default_last_year(extent))
        overview.headline_cards(handle, f)
        overview.monthly_activity(handle, f)
        overview.district_comparison(handle, f, overview.COMPARISON_KPIS[0])
    except Exception:  # noqa: BLE001 - warming is an optimisation only
        return


def main(argv: list[str]) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli
    PagesManager.uses_pages_directory = False  # st.navigation owns navigation (see above)
    import threading

    def warm() -> None:  # in the background: the server answers while this runs
        warm_imports()
        warm_default_view()

    threading.Thread(target=warm, daemon=True, name="stls-warm").start()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    return cli.main()
