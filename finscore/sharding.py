"""Sharded, streamed scenario generation: many workers, bounded memory, output independent of the worker count.

The shard is the unit of randomness: shard ``k`` of ``K`` draws its scenarios from child ``k`` of
``numpy.random.SeedSequence(seed)`` and writes ``part-<k>.parquet``; which worker (process, Dask task,
Ray task) runs it does not matter, so the dataset is identical for any number of workers. Within a
shard, scenarios are generated and written ``chunk`` at a time (Parquet row groups), so peak memory is
one chunk, whatever ``n``: 10^7 scenarios of 20 x 20 never sit in RAM together.

Workers load the model from its checkpoint directory (``ScoreGenerator.save``): only a path travels.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finscore._io import atomic_path
from finscore.data.checks import check_positive_int

ENGINES = ("local", "dask", "ray")


@dataclass(frozen=True)
class Shard:
    """One unit of work: ``n`` scenarios with ids ``offset .. offset + n - 1`` from child seed ``index``."""

    index: int
    n: int
    offset: int
    seed: np.random.SeedSequence


def plan_shards(n: int, shards: int, seed: int = 0) -> list[Shard]:
    """Split ``n`` scenarios into ``shards`` near-equal shards with SeedSequence children as seeds."""
    for name, v in (("n", n), ("shards", shards)):
        check_positive_int(v, name)
    if shards > n:
        raise ValueError(f"shards ({shards}) cannot exceed the number of scenarios n ({n})")
    sizes = np.full(shards, n // shards)
    sizes[: n % shards] += 1
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    children = np.random.SeedSequence(seed).spawn(shards)
    return [Shard(k, int(s), int(o), c) for k, (s, o, c) in enumerate(zip(sizes, offsets, children))]


def run_shard(model_path: str, shard: Shard, out_dir: str, horizon: int | None, chunk: int,
              sample_kwargs: dict[str, Any], threads: int = 1) -> str:
    """Generate one shard into ``out_dir/part-<k>.parquet`` (atomic), ``chunk`` scenarios at a time.

    ``sample_kwargs``: keywords of ``ScoreGenerator.sample``, plus ``device`` (where the model is loaded) and
    ``settings`` (applied with ``ScoreGenerator.with_settings``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from finscore.generator import ScoreGenerator
    from finscore.scenarios import _META_KEY

    torch.set_num_threads(threads)
    settings = sample_kwargs.pop("settings", {})
    gen = ScoreGenerator.load(model_path, device=sample_kwargs.pop("device", "auto")).with_settings(**settings)
    gen.progress = False
    rng = np.random.default_rng(shard.seed)
    path = Path(out_dir) / f"part-{shard.index:05d}.parquet"
    writer = None
    with atomic_path(path, overwrite=True) as tmp:
        try:
            for start in range(0, shard.n, chunk):
                m = min(chunk, shard.n - start)
                scen = gen.sample(m, horizon, seed=rng, **sample_kwargs)
                frame = scen.to_frame().astype(np.float32)
                frame.index = frame.index.set_levels(frame.index.levels[0] + shard.offset + start, level=0)
                table = pa.Table.from_pandas(frame, preserve_index=True)
                if writer is None:
                    info = {"start": None if scen.start is None else scen.start.isoformat(),
                            "metadata": {**scen.metadata, "shard": shard.index, "offset": shard.offset},
                            "shape": [shard.n, *scen.values.shape[1:]]}
                    schema = table.schema.with_metadata({**(table.schema.metadata or {}),
                                                         _META_KEY: json.dumps(info, default=str).encode()})
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
    return str(path)


def sample_sharded(model_path: str | os.PathLike, n: int, out_dir: str | os.PathLike, *, horizon: int | None = None,
                   shards: int = 8, engine: str = "local", workers: int = 2, seed: int = 0, chunk: int = 50_000,
                   overwrite: bool = False, progress: bool = True, settings: dict[str, Any] | None = None,
                   **sample_kwargs: Any) -> list[Path]:
    """Write ``n`` scenarios from a saved ScoreGenerator as a Parquet dataset of ``shards`` files.

    Parameters
    ----------
    model_path : checkpoint directory written by ``ScoreGenerator.save``.
    n, horizon : scenarios in total and days per path (default: the trained horizon).
    out_dir : directory of the dataset (``part-00000.parquet`` ...); it must hold no part files unless ``overwrite``
        (then they are replaced as a whole, once all the new shards are complete).
    shards : number of shards (the unit of randomness: the output depends on ``shards`` and ``seed`` only).
    engine : "local" (process pool of ``workers``), "dask" (the active ``dask.distributed`` client, else a
        local process scheduler with ``workers``) or "ray" (``ray.init()`` if needed; cluster via RAY_ADDRESS).
    chunk : scenarios per write (peak memory ~ chunk x horizon x d x 8 bytes x a few).
    settings : sampling settings every worker applies to the loaded model (``ScoreGenerator.with_settings``);
        checked once here, before anything is written.
    sample_kwargs : passed to ``ScoreGenerator.sample`` (sampler, steps, ...).

    Returns
    -------
    list of the part files, in shard order. Read them back with ``pandas.read_parquet(out_dir)`` or,
    per part, ``Scenarios.from_parquet``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    if engine != "local" and importlib.util.find_spec(engine) is None:
        raise ImportError(f"engine={engine!r} needs {engine}: pip install 'finscore[scale]'")
    model_path = str(Path(model_path).resolve())
    if not Path(model_path, "config.json").is_file():
        raise FileNotFoundError(f"{model_path} is not a saved model (ScoreGenerator.save writes config.json there)")
    from finscore.generator import ScoreGenerator

    # a damaged checkpoint or a bad setting fails here, once, before anything is written
    ScoreGenerator.load(model_path, device="cpu").with_settings(**(settings or {}))
    plan = plan_shards(n, shards, seed)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file; give a directory for the part files")
    existing = sorted(out.glob("part-*.parquet")) if out.exists() else []
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds {len(existing)} part files; pass overwrite=True (CLI: --force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    # the shards are written into a folder beside out_dir and moved in once all of them are complete, so a run
    # that fails leaves an earlier dataset as it was
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        kwargs = {**sample_kwargs, "settings": dict(settings or {})}
        args = [(model_path, s, str(stage), horizon, chunk, dict(kwargs)) for s in plan]
        written = _ENGINE_RUNNERS[engine](args, workers, progress)
        out.mkdir(exist_ok=True)
        for p in existing:  # the previous dataset, replaced as a whole (a larger one leaves no stale parts)
            p.unlink()
        paths = []
        for p in written:
            paths.append(out / Path(p).name)
            os.replace(p, paths[-1])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return paths


def _run_local(args: list[tuple], workers: int, progress: bool) -> list[str]:
    from tqdm.auto import tqdm

    if workers == 1:
        return [run_shard(*a) for a in tqdm(args, desc="shards", disable=not progress)]
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_shard, *a) for a in args]
        return [f.result() for f in tqdm(futures, desc="shards", disable=not progress)]


def _run_dask(args: list[tuple], workers: int, progress: bool) -> list[str]:
    import dask
    tasks = [dask.delayed(run_shard)(*a) for a in args]
    try:
        from distributed import get_client

        get_client()  # an active cluster client: use it
        return list(dask.compute(*tasks))
    except (ImportError, ValueError):
        return list(dask.compute(*tasks, scheduler="processes", num_workers=workers))


def _run_ray(args: list[tuple], workers: int, progress: bool) -> list[str]:
    import ray
    if not ray.is_initialized():
        ray.init(num_cpus=None if os.environ.get("RAY_ADDRESS") else workers)
    remote = ray.remote(num_cpus=1)(run_shard)
    return ray.get([remote.remote(*a) for a in args])


_ENGINE_RUNNERS = {"local": _run_local, "dask": _run_dask, "ray": _run_ray}
