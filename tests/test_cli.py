"""The command line: tables, report files, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from theorycheck.cli import main


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "theorycheck.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_list_shows_claims(capsys):
    assert main(["list", "sparsemax.*"]) == 0
    out = capsys.readouterr().out
    assert "sparsemax.closed_form" in out and "confirmed" in out
    assert out.strip().endswith("claims")


def test_verify_writes_report_and_exits_zero(tmp_path, capsys):
    status = main(["verify", "sparsemax.closed_form", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "sparsemax.closed_form" in out and "verified" in out and "refuted" in out
    assert (tmp_path / "claims.md").read_text().count("sparsemax.closed_form") >= 2
    assert (tmp_path / "claims.csv").exists() and (tmp_path / "claims.json").exists()


def test_verify_leaves_the_full_report_alone(tmp_path, monkeypatch, capsys):
    """A selection's table goes to reports/verify/, never over reports/claims.*."""
    monkeypatch.chdir(tmp_path)
    full = tmp_path / "reports" / "claims.md"
    full.parent.mkdir()
    full.write_text("the full report\n")
    assert main(["verify", "sparsemax.closed_form"]) == 0
    capsys.readouterr()
    assert full.read_text() == "the full report\n"
    assert "sparsemax.closed_form" in (tmp_path / "reports" / "verify" / "claims.md").read_text()


def test_verify_exit_one_when_a_claim_is_refuted(isolated_registry, tmp_path, capsys):
    from conftest import register_toy_claims

    register_toy_claims(isolated_registry)
    assert main(["verify", "toy.false-bound", "--out", str(tmp_path)]) == 1
    assert "toy.false-bound: refuted" in capsys.readouterr().err
    assert main(["verify", "toy.weak", "--out", str(tmp_path)]) == 1
    assert "controls that held: half" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "nosuch.claim"], "no claim matches id 'nosuch.claim'"),
        (["verify", "--backend", "tpu"], "invalid choice: 'tpu'"),
        (["verify", "--scale", "huge"], "invalid choice: 'huge'"),
        (["verify", "--method", "vibes"], "invalid choice: 'vibes'"),
        (["verify", "--seed", "-3"], "--seed must be non-negative"),
        (["verify", "--bogus"], "unrecognized arguments: --bogus"),
        (["plot", "nosuchfigure"], "unknown figure 'nosuchfigure'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: command"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(args, message):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_cupy_backend_without_gpu_is_a_clean_error():
    pytest.importorskip("array_api_compat")
    try:
        import cupy  # noqa: F401
    except Exception:
        result = run_cli("verify", "sparsemax.closed_form", "--backend", "cupy")
        assert result.returncode == 2
        assert "backend 'cupy' is not available" in result.stderr
    else:  # pragma: no cover - GPU machines
        assert run_cli("verify", "sparsemax.closed_form", "--backend", "cupy").returncode == 0
