import pytest
import torch

from finscore.nets import NetConfig, ScoreNet


def _inputs(b=3, h=5, d=4, c=6, ca=2):
    return torch.randn(b, h, d), torch.randn(b), torch.randn(b, c), torch.randn(b, d, ca)


def test_output_shapes_and_any_number_of_assets():
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=2, heads=4))
    for d in (1, 4, 9):
        u, t, c, a = _inputs(d=d)
        assert net(u, t, cond=c, asset_cond=a).shape == (3, 5, d)
    e = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=1, heads=4, energy=True))
    assert e(*_inputs()[:2], cond=_inputs()[2], asset_cond=_inputs()[3]).shape == (3,)


def test_assets_are_permutation_equivariant():
    torch.manual_seed(0)
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=2, heads=4))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    u, t, c, a = _inputs()
    perm = torch.tensor([2, 0, 3, 1])
    out = net(u, t, cond=c, asset_cond=a)
    out_p = net(u[:, :, perm], t, cond=c, asset_cond=a[:, perm])
    assert torch.allclose(out[:, :, perm], out_p, atol=1e-5)


def test_cond_mask_switches_to_the_null_condition():
    torch.manual_seed(0)
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=1, heads=4))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    u, t, c, a = _inputs()
    off = torch.zeros(3, dtype=torch.bool)
    # unconditional output must not depend on the condition
    assert torch.allclose(net(u, t, cond=c, asset_cond=a, cond_mask=off),
                          net(u, t, cond=2 * c, asset_cond=-a, cond_mask=off), atol=1e-6)
    assert not torch.allclose(net(u, t, cond=c, asset_cond=a), net(u, t, cond=2 * c, asset_cond=-a))


def test_zero_initialised_output():
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16))
    assert torch.count_nonzero(net(*_inputs()[:2], cond=_inputs()[2], asset_cond=_inputs()[3])) == 0


def test_shape_errors_are_specific():
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16))
    u, t, c, a = _inputs()
    with pytest.raises(ValueError, match="horizon=5"):
        net(torch.randn(3, 7, 4), t, cond=c, asset_cond=a)
    with pytest.raises(ValueError, match="asset_cond must have shape"):
        net(u, t, cond=c, asset_cond=a[:, :2])
    with pytest.raises(ValueError, match="divisible"):
        NetConfig(horizon=5, width=10, heads=4)
