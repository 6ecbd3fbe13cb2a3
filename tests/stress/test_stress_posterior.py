"""PilotPosterior: the draws' covariance is the Gaussian posterior's, sigma^2 S (S + sigma^2 I)^-1."""

import pytest
import torch

from finscore.stress.posterior import PilotPosterior


def pilot_draws(seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    cov = a @ a.T / 6 + 0.1 * torch.eye(6, dtype=torch.float64)
    x = torch.randn(2, 3000, 6, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    x[1] *= 3.0  # a second context with 9 times the covariance
    return x.reshape(2, 3000, 2, 3)


@pytest.mark.parametrize("sigma", [0.05, 1.0, 30.0])
def test_draws_have_the_posterior_covariance(sigma):
    # 4000 draws: the sample covariance's entries have sd about sqrt((c_ii c_jj + c_ij^2) / K) <= sqrt(2 / K)
    # times the scale; tolerance 5 of those (relative to the largest variance).
    draws = pilot_draws()
    groups = torch.tensor([0, 1, 1])
    k = 4000
    post = PilotPosterior(draws, groups, n_draws=k, seed=1)
    eps = post(torch.full((3,), sigma, dtype=torch.float64))
    assert eps.shape == (k, 3, 2, 3)
    for row, grp in enumerate(groups.tolist()):
        s = torch.cov(draws[grp].reshape(3000, 6).T)
        expected = sigma**2 * s @ torch.linalg.inv(s + sigma**2 * torch.eye(6, dtype=torch.float64))
        got = eps[:, row].reshape(k, 6).T @ eps[:, row].reshape(k, 6) / k  # mean is exactly 0 (antithetic)
        scale = float(expected.diagonal().max())
        assert float((got - expected).abs().max()) < 5 * (2 / k) ** 0.5 * scale


def test_antithetic_and_fixed():
    post = PilotPosterior(pilot_draws(), torch.tensor([0, 1]), n_draws=8)
    sigma = torch.tensor([0.5, 2.0], dtype=torch.float32)
    eps = post(sigma)
    assert eps.dtype == torch.float32 and eps.shape == (8, 2, 2, 3)
    assert float(eps.sum(0).abs().max()) < 1e-6  # xi and -xi
    assert torch.equal(eps, post(sigma))  # the same draws at every call: a smooth function of sigma


@pytest.mark.parametrize("n_draws", [0, 3, True, 2.0])
def test_bad_n_draws(n_draws):
    with pytest.raises(ValueError, match="n_draws must be an even int >= 2"):
        PilotPosterior(pilot_draws(), torch.tensor([0]), n_draws=n_draws)


def test_bad_draws_shape():
    with pytest.raises(ValueError, match=r"draws must be \(G, P, ...\)"):
        PilotPosterior(torch.zeros(2, 5), torch.tensor([0]))
