"""BF16-N vs FP32: the accuracy of dot products accumulated by FMAs.

The seed ("BF16 is All You Need", Osorio et al., IEEE TETC 2022) claims that an
FMA on numbers held as N bf16 terms, accumulating in FP32, reaches about FP32's
accuracy with bf16 multipliers only (8 x 8 significand bits per product instead
of FP32's 24 x 24).

For every distribution and length ``L`` this draws ``TRIALS`` fixed-seed pairs
of float32 vectors and computes ``sum_i a_i * b_i`` from ``c = +0`` with RNE:

* ``fp32``: a chain of FP32 FMAs, ``acc = round_fp32(a_i * b_i + acc)``;
* ``bf16xN`` for N = 1, 2, 3: the same chain of BF16-N FMAs
  (``golden.bf16n.fma``, the triangle of term products) on the operands split
  into N bf16 terms (``golden.bf16n.split``);
* exact: the sum of the exact FP32 products.

It reports the relative error ``|computed - exact| / |exact|`` of each chain
(mean, median and max over the trials) and the ratio of each BF16-N median to
FP32's.  Distributions: ``normal`` N(0, 1) (signed terms, cancellation) and
``uniform`` U[0, 1) (no cancellation).
"""

import time
import zlib

import numpy as np

from . import bf16n, fp
from ._checks import int_param
from ._study import check_names, check_sizes, distribution_panels, log_axes, save_figure, write_study
from .exsdotp_study import error_summary, exact_dot, fma_chain, relative_error


__all__ = ["METHODS", "LENGTHS", "DISTRIBUTIONS", "TRIALS", "SEED", "OUTPUTS",
           "bf16n_chain", "measure", "run", "render_markdown", "plot", "write"]

METHODS = {
    "fp32": "FP32 FMA (24 x 24 multiplier)",
    "bf16x1": "BF16x1 (1 product, 8 x 8)",
    "bf16x2": "BF16x2 (3 products)",
    "bf16x3": "BF16x3 (6 products)",
}
LENGTHS = (16, 64, 256, 1024)
DISTRIBUTIONS = {
    "normal": "N(0, 1): signed terms, cancellation",
    "uniform": "U[0, 1): non-negative terms, no cancellation",
}
TRIALS = 200
SEED = 2022
OUTPUTS = ("report.json", "report.md", "error.png")


def bf16n_chain(a, b, n, rm=fp.RNE):
    """Row-wise dot products of (m, L) FP32 patterns by BF16-N FMAs from ``c = +0``:
    ``acc = bf16n.fma(split(a_i), split(b_i), acc)``.  Returns ``(acc, flags)``."""
    acc = np.zeros(a.shape[0], dtype=np.uint64)
    flags = np.zeros(a.shape[0], dtype=np.uint64)
    for j in range(a.shape[1]):
        acc, f = bf16n.fma(bf16n.split(a[:, j], n), bf16n.split(b[:, j], n), acc, rm=rm)
        flags |= f
    return acc, flags


def measure(a, b):
    """Relative errors (m,) of every method on (m, L) FP32 patterns (NaN where the exact sum is 0)."""
    exact = exact_dot(a, b, src=fp.FP32)
    out = {"fp32": relative_error(fma_chain(a, b, src=fp.FP32, dst=fp.FP32)[0], exact, dst=fp.FP32)}
    for n in (1, 2, 3):
        out[f"bf16x{n}"] = relative_error(bf16n_chain(a, b, n)[0], exact, dst=fp.FP32)
    return out


def _draw(rng, distribution, shape):
    values = rng.standard_normal(shape, dtype=np.float32) if distribution == "normal" else \
        rng.random(shape, dtype=np.float32)
    return values.view(np.uint32).astype(np.uint64)


def run(log=print, *, lengths=LENGTHS, distributions=tuple(DISTRIBUTIONS), trials=TRIALS, seed=SEED):
    """Measure every method for every distribution x length; returns a JSON-able dict.  Each cell
    draws from ``default_rng((seed, crc32(cell name)))``, so a reduced run reproduces its cells."""
    distributions = check_names("distributions", distributions, DISTRIBUTIONS)
    lengths = check_sizes("lengths", lengths)
    trials = int_param("trials", trials, 1)
    seed = int_param("seed", seed, 0)
    rows = []
    t0 = time.perf_counter()
    for dist in distributions:
        for length in lengths:
            t1 = time.perf_counter()
            rng = np.random.default_rng((seed, zlib.crc32(f"{dist}/{length}".encode())))
            a, b = _draw(rng, dist, (trials, length)), _draw(rng, dist, (trials, length))
            errors = measure(a, b)
            stats = {name: error_summary(e) for name, e in errors.items()}
            rows.append({"distribution": dist, "length": length, **stats,
                         "ratio_median": {name: stats[name]["median"] / stats["fp32"]["median"]
                                          for name in METHODS if name != "fp32"},
                         "exact_zero": int(np.isnan(errors["fp32"]).sum())})
            log(f"{dist} L={length}: median relative error " + ", ".join(
                f"{name} {stats[name]['median']:.3g}" for name in METHODS)
                + f" ({time.perf_counter() - t1:.1f} s, {time.perf_counter() - t0:.0f} s total)")
    return {
        "claim": "an FMA on BF16-N operands (N bf16 terms each, bf16 products, FP32 accumulation) is about "
                 "as accurate as an FP32 FMA",
        "seed": seed, "trials": trials, "lengths": list(lengths), "rounding": "RNE",
        "methods": METHODS, "distributions": {d: DISTRIBUTIONS[d] for d in distributions}, "rows": rows,
    }


def _cell(result, dist, length):
    return next(r for r in result["rows"] if (r["distribution"], r["length"]) == (dist, length))


def render_markdown(result):
    names = [n for n in result["methods"] if n != "fp32"]
    lines = ["<!-- generated by dlarith: `python build.py accuracy bf16n` -->",
             "",
             f"{result['trials']} dot products per cell (seed {result['seed']}) of float32 vectors, "
             "accumulated from +0 by a chain of FMAs with RNE; median relative error `|computed - exact| / "
             "|exact|` against the exact sum, and in brackets each BF16-N median over FP32's.  BF16xN splits "
             "each operand into N bf16 terms and takes the triangle of term products (1, 3, 6)."]
    for dist, text in result["distributions"].items():
        lines += ["", f"**{dist}** inputs, {text}:", "",
                  "| L | " + " | ".join(result["methods"][n] for n in result["methods"]) + " |",
                  "|---:|" + "---:|" * len(result["methods"])]
        for length in result["lengths"]:
            r = _cell(result, dist, length)
            lines.append(f"| {length} | {r['fp32']['median']:.3g} | " + " | ".join(
                f"{r[n]['median']:.3g} ({r['ratio_median'][n]:.3g}x)" for n in names) + " |")
    zeros = sum(r["exact_zero"] for r in result["rows"])
    if zeros:
        lines += ["", f"{zeros} trials whose exact sum is 0 are left out of the statistics."]
    return "\n".join(lines) + "\n"


def render_details(result):
    """Mean, median and max of every method in every cell, for report.md."""
    lines = ["| distribution | L | " + " | ".join(f"{n} mean | median | max" for n in result["methods"]) + " |",
             "|---|---:|" + "---:|---:|---:|" * len(result["methods"])]
    for r in result["rows"]:
        lines.append(f"| {r['distribution']} | {r['length']} | " + " | ".join(
            f"{r[n]['mean']:.3g} | {r[n]['median']:.3g} | {r[n]['max']:.3g}" for n in result["methods"]) + " |")
    return "\n".join(lines) + "\n"


def plot(result, path):
    """Median relative error of every method against L, one panel per distribution."""
    fig, axes, _ = distribution_panels(result)
    for ax, dist in zip(axes[0], result["distributions"]):
        rows = [_cell(result, dist, n) for n in result["lengths"]]
        for name, label in result["methods"].items():
            ax.plot(result["lengths"], [r[name]["median"] for r in rows], marker="o", ms=4,
                    ls="--" if name == "fp32" else "-", label=label)
        log_axes(ax, "dot-product length L", "median relative error (0 not shown)", result["lengths"])
        ax.set_title(f"{dist} inputs: {result['distributions'][dist]}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    save_figure(fig, path, "BF16-N FMA chains vs the FP32 FMA chain, RNE")


def write(result, out_dir):
    """report.json, report.md and error.png (``OUTPUTS``) in ``out_dir``; returns their paths."""
    return write_study(result, out_dir, OUTPUTS,
                       render_markdown(result) + "\nEvery cell (relative errors):\n\n" + render_details(result), plot)
