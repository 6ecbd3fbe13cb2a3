"""Windows, date splits without look-ahead, Scaler fitted on training dates, WindowDataset."""

import numpy as np
import pandas as pd
import pytest
import torch

from finscore.data import Scaler, WindowDataset, make_windows, market_features, split_windows
from finscore.errors import DataError

TRAIN_END, VAL_END = pd.Timestamp("2020-06-30"), pd.Timestamp("2020-09-30")


@pytest.fixture(scope="module")
def rets():
    rng = np.random.default_rng(2)
    idx = pd.bdate_range("2020-01-01", "2020-12-31", name="date")
    return pd.DataFrame(rng.normal(0, 0.01, (len(idx), 3)), index=idx, columns=["A", "B", "C"])


def test_window_contents_and_shapes(rets):
    w = make_windows(rets, context=10, horizon=5, stride=3)
    T = len(rets)
    assert len(w) == (T - 10 - 5) // 3 + 1
    assert w.context.shape == (len(w), 10, 3) and w.target.shape == (len(w), 5, 3) and w.features is None
    k = 4
    pos = 9 + 3 * k
    assert w.origin[k] == rets.index[pos] and w.target_end[k] == rets.index[pos + 5]
    np.testing.assert_array_equal(w.context[k], rets.iloc[pos - 9:pos + 1].to_numpy())
    np.testing.assert_array_equal(w.target[k], rets.iloc[pos + 1:pos + 6].to_numpy())
    assert w.assets == ("A", "B", "C")
    assert w.target_end[-1] <= rets.index[-1]


def test_zero_context(rets):
    w = make_windows(rets, context=0, horizon=2)
    assert w.context.shape == (len(rets) - 2, 0, 3) and w.origin[0] == rets.index[0]
    np.testing.assert_array_equal(w.target[0], rets.iloc[1:3].to_numpy())


def test_features_row_at_origin(rets):
    f = market_features(rets, window=20)
    w = make_windows(rets, 20, 5, features=f)
    np.testing.assert_array_equal(w.features, f.loc[w.origin].to_numpy())
    assert w.feature_names == tuple(f.columns)
    with pytest.raises(DataError, match=r"feature 'realized_vol' is NaN/inf at origin 2020-01-14"):
        make_windows(rets, 10, 5, features=f)
    with pytest.raises(DataError, match=r"features have no row for origin date 2020-01-28"):
        make_windows(rets, 20, 5, features=f.iloc[:-300])


def test_features_with_a_repeated_date_or_a_time_zone(rets):
    f = market_features(rets, window=20)
    repeated = pd.concat([f.iloc[:40], f.iloc[[39]], f.iloc[40:]])  # .loc gave one row too many before
    with pytest.raises(DataError, match=f"features have duplicate dates, first {f.index[39].date()}"):
        make_windows(rets, 20, 5, features=repeated)
    zoned = f.tz_localize("America/New_York")  # no origin was found before
    np.testing.assert_array_equal(make_windows(rets, 20, 5, features=zoned).features,
                                  make_windows(rets, 20, 5, features=f).features)


def test_window_longer_than_history(rets):
    with pytest.raises(DataError, match=r"context 250 \+ horizon 20 dates is longer than the history: 262 dates from 2020-01-01 to 2020-12-31"):
        make_windows(rets, 250, 20)


@pytest.mark.parametrize(("kw", "msg"), [({"context": -1, "horizon": 5}, "context must be an integer >= 0"),
                                         ({"context": 5, "horizon": 0}, "horizon must be an integer >= 1"),
                                         ({"context": 5, "horizon": 2, "stride": 0}, "stride must be an integer >= 1")])
def test_bad_window_arguments(rets, kw, msg):
    with pytest.raises(DataError, match=msg):
        make_windows(rets, **kw)


def test_split_has_no_straddling_windows(rets):
    w = make_windows(rets, 20, 10)
    train, val, test = split_windows(w, TRAIN_END, VAL_END)
    assert len(train) and len(val) and len(test)
    assert (train.target_end <= TRAIN_END).all()
    assert (val.origin >= TRAIN_END).all() and (val.target_end <= VAL_END).all()
    assert (test.origin >= VAL_END).all()
    # no target date is shared across splits: the first out-of-sample target starts after the boundary
    first_val_target = rets.index[rets.index.get_loc(val.origin[0]) + 1]
    assert first_val_target > train.target_end.max()
    # exactly the windows straddling a boundary are excluded
    straddle = ((w.origin < TRAIN_END) & (w.target_end > TRAIN_END)) | ((w.origin < VAL_END) & (w.target_end > VAL_END))
    assert len(train) + len(val) + len(test) == len(w) - straddle.sum()
    _, empty_val, test2 = split_windows(w, TRAIN_END)
    assert len(empty_val) == 0 and (test2.origin >= TRAIN_END).all()


def test_split_errors(rets):
    w = make_windows(rets, 20, 10)
    with pytest.raises(DataError, match="val_end 2020-03-01 must be after train_end 2020-06-30"):
        split_windows(w, TRAIN_END, "2020-03-01")
    with pytest.raises(DataError, match="no training window ends on or before train_end 2020-01-15"):
        split_windows(w, "2020-01-15")


def test_no_look_ahead_through_the_pipeline(rets):
    """Perturbing returns after train_end changes neither the train windows, their features nor the scaler."""
    later = rets.copy()
    later.loc[later.index > TRAIN_END] *= 7.0
    outs = []
    for r in (rets, later):
        f = market_features(r, window=20)
        train, _, _ = split_windows(make_windows(r, 20, 10, features=f), TRAIN_END, VAL_END)
        scaler, fscaler = Scaler().fit(r, end=TRAIN_END), Scaler().fit(f, end=TRAIN_END)
        outs.append((train, scaler, fscaler, WindowDataset(train, scaler=scaler, feature_scaler=fscaler).tensors()))
    (t1, s1, f1, d1), (t2, s2, f2, d2) = outs
    np.testing.assert_array_equal(t1.target, t2.target)
    np.testing.assert_array_equal(t1.context, t2.context)
    np.testing.assert_array_equal(t1.features, t2.features)
    assert s1.to_dict() == s2.to_dict() and f1.to_dict() == f2.to_dict()
    assert torch.equal(d1["x"], d2["x"]) and torch.equal(d1["cond"], d2["cond"])


def test_scaler_roundtrip_and_serialisation(rets):
    s = Scaler().fit(rets, end=TRAIN_END)
    train = rets.loc[:TRAIN_END]
    np.testing.assert_allclose(s.mean_, train.mean().to_numpy())
    np.testing.assert_allclose(s.scale_, train.std(ddof=1).to_numpy())
    z = s.transform(train)
    np.testing.assert_allclose(z.mean().to_numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std().to_numpy(), 1, rtol=1e-12)
    pd.testing.assert_frame_equal(s.inverse_transform(z), train)
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(s.inverse_transform(s.transform(x)), x)
    s2 = Scaler.from_dict(s.to_dict())
    np.testing.assert_array_equal(s2.transform(rets.to_numpy()), s.transform(rets.to_numpy()))
    assert s2.fit_end_ == TRAIN_END and s2.n_fit_ == len(train)


def test_scaler_errors(rets):
    from finscore.errors import NotFittedError

    with pytest.raises(NotFittedError, match="Scaler is not fitted"):
        Scaler().transform(rets)
    with pytest.raises(DataError, match="column 'B' is constant on the training dates"):
        Scaler().fit(rets.assign(B=0.0))
    s = Scaler().fit(rets)
    with pytest.raises(DataError, match="do not match the fitted columns"):
        s.transform(rets[["C", "B", "A"]])
    with pytest.raises(DataError, match="last axis has size 2"):
        s.transform(np.zeros((3, 2)))
    with pytest.raises(DataError, match="invalid Scaler state"):
        Scaler.from_dict({"mean": [0.0]})


def test_window_dataset_items(rets):
    f = market_features(rets, window=20)
    w = make_windows(rets, 20, 10, features=f)
    ds = WindowDataset(w, with_context=True)
    item = ds[3]
    assert set(item) == {"x", "cond", "context"} and len(ds) == len(w)
    assert item["x"].shape == (10, 3) and item["cond"].shape == (5,) and item["context"].shape == (20, 3)
    assert item["x"].dtype == torch.float32
    torch.testing.assert_close(item["x"], torch.as_tensor(w.target[3], dtype=torch.float32))
    loader = torch.utils.data.DataLoader(ds, batch_size=8)
    assert next(iter(loader))["x"].shape == (8, 10, 3)
    assert set(WindowDataset(make_windows(rets, 5, 5)).tensors()) == {"x"}
    with pytest.raises(DataError, match="scaler columns"):
        WindowDataset(w, scaler=Scaler().fit(rets[["A", "B", "C"]].rename(columns={"A": "Z"})))
