import numpy as np
import pytest
import torch

from finscore.diffusion import (DiscreteSigma, LogNormalSigma, LogUniformSigma, sigma_max_from_data,
                                sigmas_geometric, sigmas_karras)


def test_geometric_schedule_has_constant_ratio():
    s = sigmas_geometric(10, 0.01, 50.0)
    assert s.shape == (11,) and s[-1] == 0 and s[0] == pytest.approx(50.0) and s[-2] == pytest.approx(0.01)
    ratios = s[1:-1] / s[:-2]
    assert torch.allclose(ratios, ratios[0].expand_as(ratios))


def test_karras_schedule_endpoints_and_order():
    s = sigmas_karras(8, 0.02, 80.0, append_zero=False)
    assert s.shape == (8,) and s[0] == pytest.approx(80.0) and s[-1] == pytest.approx(0.02)
    assert (s[1:] < s[:-1]).all()


@pytest.mark.parametrize("args", [(0, 0.1, 1.0), (5, 0.0, 1.0), (5, 2.0, 1.0), (2.5, 0.1, 1.0)])
def test_schedule_rejects_bad_ranges(args):
    with pytest.raises(ValueError):
        sigmas_geometric(*args)


def test_sigma_max_is_the_largest_pairwise_distance():
    x = np.zeros((5, 2, 2))
    x[3] = 3.0  # distance from the zeros: sqrt(4 * 9) = 6
    x[4] = -1.0  # distance to x[3]: sqrt(4 * 16) = 8
    assert sigma_max_from_data(x) == pytest.approx(8.0)
    with pytest.raises(ValueError):
        sigma_max_from_data(np.full((3, 2), np.nan))


def test_training_distributions_have_their_moments():
    g = torch.Generator().manual_seed(0)
    n = 200_000
    ln = LogNormalSigma(-0.4, 1.2)(n, g).log()
    # mean of n normals: se = 1.2 / sqrt(n) = 0.0027; 5 se = 0.014
    assert abs(float(ln.mean()) + 0.4) < 0.014 and abs(float(ln.std()) - 1.2) < 0.01
    lu = LogUniformSigma(0.01, 100.0)(n, g)
    assert float(lu.min()) >= 0.01 and float(lu.max()) <= 100.0
    # log-uniform median is the geometric mean 1; P(sigma < 1) = 0.5, se = 0.5 / sqrt(n) = 0.0011
    assert abs(float((lu < 1).double().mean()) - 0.5) < 0.006
    d = DiscreteSigma((0.1, 1.0, 10.0))(n, g)
    assert torch.unique(d).tolist() == pytest.approx([0.1, 1.0, 10.0])
