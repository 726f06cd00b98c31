"""PyTorch programs run unchanged on fw (issue 19): each program in tests/compat/ runs under
real PyTorch (cpu) and under fw through `python -m framework.compat` (cpu, opencl), and the
metrics it prints must agree.

Both runs start from the same weights: PyTorch's run saves its initial state dict with
torch.save (--save-init) and fw's loads that file with torch.load (--init), so the
deterministic programs (data from NumPy/scikit-learn, no shuffling, no dropout or noise) must
reach PyTorch's numbers up to float32 rounding. Programs that draw random numbers during
training (shuffled batches, dropout, randn noise) draw different ones in each library, so
those metrics are held to the quality PyTorch's run reached instead.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "compat"


def close(rtol, atol=0.0):
    return ("close", rtol, atol)


def at_least(margin):
    """fw's value >= PyTorch's - margin (an accuracy)."""
    return ("at_least", margin)


def at_most(factor):
    """fw's value <= PyTorch's * factor (a loss)."""
    return ("at_most", factor)


def near(tol):
    return ("near", tol)


EXACT = ("exact",)

# program -> ({metric: comparison}, {metric: (low, high)} that PyTorch's own run must meet,
# so a program that stopped learning is noticed, not compared)
PROGRAMS = {
    "regression": ({"init_loss": close(1e-5), "final_loss": close(1e-3, 1e-6), "lr": close(1e-9)},
                   {"final_loss": (0, 0.02)}),
    "digits_cnn": ({"accuracy": at_least(0.05), "test_loss": at_most(1.5)},
                   {"accuracy": (0.85, 1)}),
    "lstm_sequence": ({"train_loss": close(1e-3, 1e-6), "generation_error": close(1e-3, 1e-5),
                       "h_norm": close(1e-3)}, {"train_loss": (0, 0.05)}),
    "rnn_classifier": ({"train_loss": close(1e-3), "accuracy": near(0.011)},
                       {"accuracy": (0.5, 1)}),
    "vae": ({"eval_loss": at_most(1.05), "train_loss": at_most(1.05), "sample_mean": near(0.1)},
            {"eval_loss": (0, 35)}),
    "gan": ({"mean": near(0.4), "errD": near(0.3)}, {"mean": (2.6, 3.4)}),
    "siamese": ({"train_loss": close(1e-3), "pair_accuracy": near(0.021),
                 "mean_distance": close(1e-3)}, {"pair_accuracy": (0.8, 1)}),
    "transformer_lm": ({"train_loss": close(2e-3), "next_char_accuracy": near(0.07),
                        "greedy": EXACT}, {"train_loss": (0, 2.5)}),
    "checkpoint": ({"final_loss": close(1e-3), "resume_diff": near(1e-6), "reload_diff": near(1e-6),
                    "saved_epoch": EXACT, "lr": close(1e-9), "accuracy": near(0.011)},
                   {"resume_diff": (0, 1e-6), "reload_diff": (0, 1e-6)}),
    "data_pipeline": ({"class_sum_total": close(1e-5), "counts": EXACT,
                       "centroid_accuracy": close(1e-6), "accuracy": at_least(0.03)},
                      {"accuracy": (0.85, 1)}),
}


def _run(args, timeout=300):
    # one thread: these models are tiny, and thread pools spinning on a shared 2-core
    # machine cost more than they save (PyTorch's most of all)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, *args], cwd=HERE, env=env, capture_output=True,
                          text=True, timeout=timeout)
    what = " ".join(args)[:200]
    assert proc.returncode == 0, f"{what} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}"
    return _result(proc.stdout, what)


# Runs every program under PyTorch in one process (importing torch once costs seconds),
# each with its own argv and stdout, as `python NAME.py --device cpu --save-init INIT`.
_TORCH_DRIVER = """
import contextlib, io, json, runpy, sys, traceback
out = {}
for name, args in json.loads(sys.argv[1]).items():
    sys.argv = [name + ".py", "--device", "cpu", *args]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(name + ".py", run_name="__main__")
        out[name] = buf.getvalue()
    except BaseException:
        out[name] = buf.getvalue() + traceback.format_exc()
print("RESULT", json.dumps(out))
"""


@pytest.fixture(scope="module")
def torch_results(tmp_path_factory):
    """{program: (PyTorch's printed output, its initial weights' file)}, run once."""
    folder = tmp_path_factory.mktemp("compat")
    inits = {name: str(folder / f"{name}_init.pt") for name in PROGRAMS}
    argv = {name: ["--save-init", inits[name], *_extra_args(name, folder / "torch")]
            for name in PROGRAMS}
    outputs = _run(["-c", _TORCH_DRIVER, json.dumps(argv)], timeout=600)
    return {name: (outputs[name], inits[name]) for name in PROGRAMS}


def _extra_args(name, prefix):
    # checkpoint.py also saves its trained weights, for the other library to load
    return ["--save-final", f"{prefix}_final.pt"] if name == "checkpoint" else []


def _result(output, what):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, f"{what} printed no RESULT line:\n{output[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _compare(name, key, rule, mine, theirs):
    what = f"{name}: {key} fw={mine!r} torch={theirs!r}"
    kind = rule[0]
    if kind == "exact":
        assert mine == theirs, what
    elif kind == "close":
        assert mine == pytest.approx(theirs, rel=rule[1], abs=rule[2]), what
    elif kind == "near":
        assert abs(mine - theirs) <= rule[1], what
    elif kind == "at_least":
        assert mine >= theirs - rule[1], what
    elif kind == "at_most":
        assert mine <= theirs * rule[1], what


def test_every_program_is_listed():
    assert sorted(p.stem for p in HERE.glob("*.py")) == sorted(PROGRAMS)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program(name, device, torch_results, tmp_path):
    rules, bounds = PROGRAMS[name]
    output, init = torch_results[name]
    theirs = _result(output, f"{name}.py under PyTorch")
    for key, (low, high) in bounds.items():
        assert low <= theirs[key] <= high, f"{name} under PyTorch: {key}={theirs[key]}"
    mine = _run(["-m", "framework.compat", f"{name}.py", "--device", device, "--init", str(init),
                 *_extra_args(name, tmp_path / "fw")])
    if name == "checkpoint":   # what torch.save wrote on fw, PyTorch loads: the same weights
        import torch
        fw_final = torch.load(tmp_path / "fw_final.pt")
        torch_final = torch.load(Path(init).parent / "torch_final.pt")
        assert list(fw_final) == list(torch_final)
        for key in torch_final:
            torch.testing.assert_close(fw_final[key], torch_final[key], rtol=1e-4, atol=1e-5)
    assert sorted(mine) == sorted(theirs)
    for key, rule in rules.items():
        _compare(name, key, rule, mine[key], theirs[key])
