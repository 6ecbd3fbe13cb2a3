"""``finscore data list`` / ``finscore data info`` against direct pandas computations."""

import numpy as np
import pandas as pd

from finscore.cli import main
from finscore.data import describe_prices, embedded


def _direct_log_returns(start="2000-01-01", end=None):
    raw = pd.read_csv(embedded.embedded_path("sp500"), index_col=0, parse_dates=True).loc[start:end]
    return np.log(raw).diff().iloc[1:]


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("sp500", "sp500_index", "factors", "2014-01-02", "8313"):
        assert name in out


def test_data_info_sp500_matches_pandas(capsys):
    assert main(["data", "info", "sp500"]) == 0
    out = capsys.readouterr().out
    r = _direct_log_returns()
    assert "dates: 2000-01-03 to 2022-12-28 (5785 dates, 5784 daily returns)" in out
    assert "assets (20): AAPL AMD BAC" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split() and line.split()[0] in r.columns}
    assert len(rows) == 20
    for asset in r.columns:
        s = r[asset]
        expected = [asset, "0", f"{252 * s.mean():.4f}", f"{np.sqrt(252) * s.std():.4f}",
                    f"{s.min():.4f}", str(s.idxmin().date()), f"{s.max():.4f}", str(s.idxmax().date()),
                    f"{s.kurt():.4f}", str(int((s == 0).sum())), f"{(s == 0).mean():.4f}"]
        assert rows[asset] == expected


def test_describe_prices_values():
    from finscore.data import load_prices

    table = describe_prices(load_prices("sp500", end="2005-12-31"))
    r = _direct_log_returns(end="2005-12-31")
    np.testing.assert_allclose(table["ann_vol"], r.std() * np.sqrt(252), rtol=1e-10)
    from scipy.stats import kurtosis

    np.testing.assert_allclose(table["excess_kurt"], kurtosis(r, fisher=True, bias=False), rtol=1e-8)
    assert table.loc["RRC", "zero_days"] == (r["RRC"] == 0).sum()


def test_data_info_file_with_options(capsys, tmp_path, prices):
    prices.iloc[3, 1] = np.nan
    path = tmp_path / "p.csv"
    prices.to_csv(path)
    assert main(["data", "info", str(path), "--assets", "B,A", "--start", "2020-01-02"]) == 0
    out = capsys.readouterr().out
    assert "assets (2): B A" in out and "dates: 2020-01-02 to 2020-02-11" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("B "))
    assert row[1] == "1"  # one missing value, forward-filled


def test_data_info_errors(capsys, tmp_path):
    assert main(["data", "info", str(tmp_path / "missing.csv")]) == 2
    assert "price file not found" in capsys.readouterr().err
    assert main(["data", "info", "sp500", "--assets", "FOO"]) == 2
    assert "requested asset(s) ['FOO'] not in sp500" in capsys.readouterr().err
