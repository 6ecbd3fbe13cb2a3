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


def test_a_partially_conditional_branch_sees_only_the_kept_features():
    torch.manual_seed(0)
    net = ScoreNet(NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=1, heads=4,
                             keep_cond=(0, 4), keep_asset_cond=(1,)))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    u, t, c, a = _inputs()
    off = torch.zeros(3, dtype=torch.bool)
    base = net(u, t, cond=c, asset_cond=a, cond_mask=off)
    dropped_c, dropped_a = c.clone(), a.clone()
    dropped_c[:, [1, 2, 3, 5]] *= -3.0
    dropped_a[..., 0] += 5.0
    # the dropped features do not move the unconditional branch ...
    assert torch.allclose(base, net(u, t, cond=dropped_c, asset_cond=dropped_a, cond_mask=off), atol=1e-6)
    # ... each kept one does, and the conditional branch still sees every feature
    for cond, acond in ((c + torch.eye(6)[0], a), (c + torch.eye(6)[4], a), (c, a + torch.tensor([0.0, 1.0]))):
        assert not torch.allclose(base, net(u, t, cond=cond, asset_cond=acond, cond_mask=off), atol=1e-4)
    on = torch.ones(3, dtype=torch.bool)
    assert torch.allclose(net(u, t, cond=c, asset_cond=a), net(u, t, cond=c, asset_cond=a, cond_mask=on))
    assert not torch.allclose(net(u, t, cond=c, asset_cond=a), net(u, t, cond=dropped_c, asset_cond=a), atol=1e-4)
    # a row's branch is its own: mixing masks in one batch gives each row what it gets alone
    mixed = torch.tensor([True, False, True])
    out = net(u, t, cond=c, asset_cond=a, cond_mask=mixed)
    assert torch.allclose(out[1], base[1], atol=1e-6)
    assert torch.allclose(out[0], net(u, t, cond=c, asset_cond=a)[0], atol=1e-6)
    with pytest.raises(ValueError, match=r"keep_cond must be distinct feature indices in \[0, 6\), got \(6,\)"):
        NetConfig(horizon=5, cond_dim=6, keep_cond=(6,))
    with pytest.raises(ValueError, match="keep_asset_cond must be distinct"):
        NetConfig(horizon=5, asset_cond_dim=2, keep_asset_cond=(1, 1))


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


def test_static_asset_descriptors_tell_assets_apart_in_both_branches():
    torch.manual_seed(0)
    static = torch.randn(4, 3)
    cfg = NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, depth=2, heads=4, n_assets=4, asset_static_dim=3)
    net = ScoreNet(cfg, asset_static=static)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    u, t, c, a = _inputs()
    perm = torch.tensor([2, 0, 3, 1])
    out = net(u, t, cond=c, asset_cond=a)
    # permuting the data alone is no longer a symmetry; permuting the descriptors with it is
    assert not torch.allclose(out[:, :, perm], net(u[:, :, perm], t, cond=c, asset_cond=a[:, perm]), atol=1e-3)
    net_p = ScoreNet(cfg, asset_static=static[perm])
    net_p.load_state_dict({**net.state_dict(), "asset_static": static[perm]})
    assert torch.allclose(out[:, :, perm], net_p(u[:, :, perm], t, cond=c, asset_cond=a[:, perm]), atol=1e-5)
    # the unconditional branch keeps the descriptors (they are not part of the condition)
    off = torch.zeros(3, dtype=torch.bool)
    net_p.load_state_dict(net.state_dict())
    net_p.asset_static.copy_(static[perm])
    assert not torch.allclose(net(u, t, cond=c, asset_cond=a, cond_mask=off),
                              net_p(u, t, cond=c, asset_cond=a, cond_mask=off), atol=1e-3)
    assert "asset_static" in net.state_dict()  # saved with the weights


def test_static_descriptor_errors_are_specific():
    cfg = NetConfig(horizon=5, cond_dim=6, asset_cond_dim=2, width=16, n_assets=4, asset_static_dim=3)
    with pytest.raises(ValueError, match=r"asset_static must have shape \(4, 3\)"):
        ScoreNet(cfg, asset_static=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="asset_static_dim=0"):
        ScoreNet(NetConfig(horizon=5, width=16), asset_static=torch.zeros(4, 3))
    with pytest.raises(ValueError, match="both be positive or both 0"):
        NetConfig(horizon=5, width=16, asset_static_dim=3)
    u, t, c, a = _inputs(d=5)
    with pytest.raises(ValueError, match="descriptors of 4 assets; got a window of 5"):
        ScoreNet(cfg)(u, t, cond=c, asset_cond=a)
