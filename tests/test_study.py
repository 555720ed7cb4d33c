"""The study engine: seeds, cache and resume, executors, tidy tables, rates, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from theorycheck import registry
from theorycheck.executors import make_executor, validate_spec
from theorycheck.rates import exponent_at_most, exponent_within, fit_exponent
from theorycheck.study import StudyError, replicate_seeds, run_study, write_study

TOY = """
import time
import numpy as np
from theorycheck.registry import study
from theorycheck.study import replicate_draws

GRID = [{"drift": 0.0, "horizons": [10, 100, 1000]}, {"drift": 0.5, "horizons": [10, 100, 1000]}]


def _walk(config, seeds, xp):
    horizon = max(config["horizons"])
    steps = replicate_draws(seeds, lambda g: g.standard_normal(horizon), xp)
    path = xp.cumulative_sum(xp.abs(steps) + config["drift"], axis=1)
    index = xp.asarray([h - 1 for h in config["horizons"]])
    time.sleep(config.get("delay", 0.0))
    if any(s.spawn_key[-1] == config.get("fail_at") for s in seeds):
        raise RuntimeError("planned failure")
    return {"T": xp.asarray(config["horizons"]), "distance": xp.take(path, index, axis=1),
            "final": path[:, -1]}


study("toy.walk", grid=GRID, replicates=40, batch_size=8, description="a walk",
      claimed_exponent=lambda config, metric: (1.0, 0.05) if metric == "distance" else None)(_walk)
study("toy.slow", grid=[{"drift": 1.0, "horizons": [10, 100], "delay": 0.4}], replicates=48,
      batch_size=4, description="slow cells")(_walk)
"""


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    package = tmp_path / "toystudies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "walks.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("THEORYCHECK_CONTENT", "toystudies")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setattr(registry, "_STUDIES", dict(registry._STUDIES))
    for name in [m for m in sys.modules if m.split(".")[0] == "toystudies"]:
        monkeypatch.delitem(sys.modules, name)
    registry.load_content()
    registry.load_content(["toystudies"])
    yield tmp_path
    for name in [m for m in sys.modules if m.split(".")[0] == "toystudies"]:
        del sys.modules[name]


def test_replicate_seeds_are_distinct_and_reproducible():
    a = replicate_seeds(0, "toy.walk", 0, 50)
    b = replicate_seeds(0, "toy.walk", 10, 20)
    draws = [np.random.default_rng(s).standard_normal(3) for s in a]
    assert len({d.tobytes() for d in draws}) == 50
    again = [np.random.default_rng(s).standard_normal(3) for s in b]
    assert all(np.array_equal(x, y) for x, y in zip(draws[10:20], again, strict=True))
    other = np.random.default_rng(replicate_seeds(1, "toy.walk", 0, 1)[0]).standard_normal(3)
    assert not np.array_equal(other, draws[0])


def test_tidy_table_and_batching_do_not_change_numbers(toy_package):
    entry = registry.get_study("toy.walk")
    result = run_study(entry)
    frame = result.frame
    assert len(frame) == 2 * 40 * 3 and set(frame.columns) >= {
        "drift",
        "replicate",
        "T",
        "distance",
    }
    assert not frame.duplicated(["drift", "replicate", "T"]).any()
    from dataclasses import replace

    rebatched = run_study(replace(entry, batch_size=40)).frame
    pd.testing.assert_frame_equal(frame, rebatched)


def test_cache_resumes_and_never_caches_a_failure(toy_package, tmp_path):
    entry = registry.get_study("toy.walk")
    cache = tmp_path / "cache"
    grid = [{"drift": 0.0, "horizons": [10, 100], "fail_at": 5}]
    with pytest.raises(
        StudyError, match="1 of 5 cells failed; first: configuration 0 replicates 0-7"
    ):
        run_study(entry, grid=grid, cache_dir=cache)
    assert len(list((cache / "toy.walk").glob("*.npz"))) == 4  # the failed cell is not cached
    with pytest.raises(StudyError, match="1 of 5 cells failed"):
        run_study(entry, grid=grid, cache_dir=cache)  # resumes: only the failed cell reruns
    assert len(list((cache / "toy.walk").glob("*.npz"))) == 4
    first = run_study(entry, cache_dir=cache)
    assert (first.cells_computed, first.cells_cached) == (10, 0)
    second = run_study(entry, cache_dir=cache)
    assert (second.cells_computed, second.cells_cached) == (0, 10)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    paths = write_study(second, tmp_path / "out")
    assert pd.read_parquet(paths[0]).equals(second.frame)
    manifest = json.loads(paths[1].read_text())
    assert manifest["seeds"].startswith("SeedSequence") and all(
        c["cached"] for c in manifest["cells"]
    )


def test_array_api_strict_backend_runs_a_study(toy_package):
    entry = registry.get_study("toy.walk")
    strict = run_study(entry, replicates=8, backend="array-api-strict").frame
    plain = run_study(entry, replicates=8).frame
    np.testing.assert_allclose(strict["distance"], plain["distance"], rtol=1e-12)


def test_dask_local_cluster_gives_the_same_table_bit_for_bit(toy_package):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    entry = registry.get_study("toy.walk")
    expected = run_study(entry).frame
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with Client(cluster) as client:
            got = run_study(entry, executor=client.get_executor()).frame
    pd.testing.assert_frame_equal(expected, got, check_exact=True)


def test_process_pool_gives_the_same_table(toy_package):
    entry = registry.get_study("toy.walk")
    expected = run_study(entry).frame
    with make_executor("processes:2") as pool:
        got = run_study(entry, executor=pool).frame
    pd.testing.assert_frame_equal(expected, got, check_exact=True)


def _cli(args, env_dir, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "theorycheck.cli", "study", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_sigkill_and_resume_lose_and_duplicate_nothing(toy_package, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    process = _cli(["toy.slow", "--cache", str(cache), "--out", str(out)], tmp_path)
    folder = cache / "toy.slow"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("*.npz"))) < 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list(folder.glob("*.npz")))
    assert 3 <= done < 12, done  # killed mid-run, with finished cells on disk
    resumed = _cli(["toy.slow", "--cache", str(cache), "--out", str(out)], tmp_path)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert f"{12 - done} cells computed, {done} from cache" in stdout
    clean = _cli(
        ["toy.slow", "--cache", str(tmp_path / "fresh"), "--out", str(tmp_path / "o2")], tmp_path
    )
    clean.communicate(timeout=120)
    after_kill = pd.read_parquet(out / "toy.slow.parquet")
    uninterrupted = pd.read_parquet(tmp_path / "o2" / "toy.slow.parquet")
    assert not after_kill.duplicated(["replicate", "T"]).any() and len(after_kill) == 48 * 2
    pd.testing.assert_frame_equal(after_kill, uninterrupted, check_exact=True)


def test_cli_prints_fitted_exponents_and_claims(toy_package, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "theorycheck.cli",
            "study",
            "toy.walk",
            "--cache",
            str(tmp_path / "c"),
            "--out",
            str(tmp_path / "o"),
            "--horizons",
            "100",
            "1000",
            "10000",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(
        ln for ln in result.stdout.splitlines() if ln.startswith("drift=0.5") and "distance" in ln
    )
    assert line.endswith("1+-0.05: inside"), result.stdout  # |N(0,1)| + 0.5 grows linearly
    assert "horizons" in (tmp_path / "o" / "toy.walk.manifest.json").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["nosuch.study"], "unknown study 'nosuch.study'"),
        (["toy.walk", "--executor", "threads:4"], "unknown executor 'threads:4'"),
        (["toy.walk", "--replicates", "0"], "--replicates must be a positive integer"),
        (["toy.walk", "--horizons", "-5", "10"], "--horizons must be positive"),
        (["toy.walk", "--backend", "tpu"], "invalid choice: 'tpu'"),
    ],
)
def test_bad_study_input_is_one_line_exit_two(toy_package, args, message):
    result = subprocess.run(
        [sys.executable, "-m", "theorycheck.cli", "study", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_bad_grids_and_executors_raise_value_errors(toy_package):
    entry = registry.get_study("toy.walk")
    with pytest.raises(ValueError, match="the grid is empty"):
        run_study(entry, grid=[])
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        run_study(entry, grid=[{"drift": object()}])
    with pytest.raises(ValueError, match="replicates must be a positive integer"):
        run_study(entry, replicates=0)
    with pytest.raises(ValueError, match="unknown executor"):
        validate_spec("processes:0")


def test_fit_exponent_recovers_a_known_rate_and_rejects_another():
    rng = np.random.default_rng(3)
    horizons = np.logspace(2, 5, 7)
    curves = 2.0 * horizons**0.5 * np.exp(0.05 * rng.standard_normal((200, 7)))
    fit = fit_exponent(horizons, curves, rng=np.random.default_rng(0))
    assert fit.low < 0.5 < fit.high and fit.high - fit.low < 0.02
    assert exponent_within(fit, 0.5, 0.07).holds
    assert not exponent_within(fit, 1.0, 0.07).holds
    # a bound O(T^s) holds for any faster rate and fails for a slower one
    assert exponent_at_most(fit, 0.5).holds and exponent_at_most(fit, 1.0).holds
    slower = exponent_at_most(fit, 0.3)
    assert not slower.holds and slower.margin < -0.1 and slower.counterexample["bound"] == 0.3
    with pytest.raises(ValueError, match="positive"):
        fit_exponent(horizons, -curves)
