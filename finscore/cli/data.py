"""``finscore data list`` and ``finscore data info NAME|PATH``."""

from __future__ import annotations

import argparse

import pandas as pd

from finscore.cli._common import date_arg


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="list embedded datasets or summarise a price source")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True
    sub.add_parser("list", help="list the embedded datasets").set_defaults(func=run)
    info = sub.add_parser("info", help="summarise a price source (embedded name, CSV/Parquet path, yahoo:TICKERS)")
    info.add_argument("source", help="embedded name, file path or 'yahoo:AAPL,MSFT'")
    info.add_argument("--start", default=None, type=date_arg, help="first date (embedded sets default to 2000-01-01)")
    info.add_argument("--end", default=None, type=date_arg, help="last date")
    info.add_argument("--assets", default=None, help="comma-separated assets to keep")
    info.add_argument("--max-ffill", type=int, default=5, help="longest forward-filled gap (dates)")
    info.add_argument("--no-strict", action="store_true", help="repair bad data (reported) instead of failing")
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore.data import describe_prices, list_datasets, load_prices

    if args.data_command == "list":
        print(list_datasets().to_string())
        return 0
    assets = None if args.assets is None else [a.strip() for a in args.assets.split(",") if a.strip()]
    prices = load_prices(args.source, args.start, args.end, assets, strict=not args.no_strict, max_ffill=args.max_ffill)
    idx = prices.index
    print(f"source: {prices.attrs['source']}")
    print(f"dates: {idx[0].date()} to {idx[-1].date()} ({len(idx)} dates, {len(idx) - 1} daily returns)")
    print(f"assets ({prices.shape[1]}): {' '.join(prices.columns)}")
    for key, label in (("repairs", "repair"), ("trimmed", "trimmed")):
        for note in prices.attrs.get(key, []):
            print(f"{label}: {note}")
    table = describe_prices(prices)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0
