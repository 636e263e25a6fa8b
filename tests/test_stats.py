"""Student's t p-values (stls/stats.py) against SciPy."""
import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as sp

from stls import stats


@pytest.mark.parametrize("df", [1, 2, 3, 5, 8, 10, 11, 30, 100, 1000])
def test_two_sided_p_matches_scipy(df):
    for t in np.r_[0.0, np.geomspace(1e-4, 60, 80)]:
        expected = 2 * sp.t.sf(t, df)
        assert stats.t_two_sided_p(float(t), df) == pytest.approx(expected, rel=1e-10, abs=1e-14), t
        assert stats.t_two_sided_p(-float(t), df) == pytest.approx(expected, rel=1e-10, abs=1e-14), -t


def test_regularised_beta_matches_scipy():
    for a, b in ((0.5, 0.5), (2, 3), (10, 0.5), (50, 40), (0.7, 12)):
        for x in np.linspace(0, 1, 41):
            assert stats.regularised_beta(a, b, float(x)) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-14)


def test_edges():
    assert stats.t_two_sided_p(0.0, 7) == 1.0
    assert stats.t_two_sided_p(math.inf, 7) == 0.0
    assert math.isnan(stats.t_two_sided_p(math.nan, 7))
    assert stats.t_two_sided_p(12.706204736, 1) == pytest.approx(0.05, rel=1e-8)   # the textbook 95% value
