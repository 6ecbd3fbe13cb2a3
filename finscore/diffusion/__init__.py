"""The diffusion model in the abstract: noise schedules, EDM preconditioning (score and energy forms), DSM loss.

Nothing here knows about finance; a denoiser is any ``model(x, sigma, **extra_args) -> D(x; sigma)``.
"""

from finscore.diffusion.loss import DSMLoss, loss_per_sigma
from finscore.diffusion.precond import ClassifierFreeGuidance, Denoiser
from finscore.diffusion.schedules import (
    DiscreteSigma,
    LogNormalSigma,
    LogUniformSigma,
    sigma_max_from_data,
    sigmas_geometric,
    sigmas_karras,
)

__all__ = [
    "Denoiser", "ClassifierFreeGuidance", "DSMLoss", "loss_per_sigma",
    "sigmas_geometric", "sigmas_karras", "sigma_max_from_data",
    "LogUniformSigma", "LogNormalSigma", "DiscreteSigma",
]
