"""ExSdotp vs cascaded expanding FMAs: the accuracy of long dot products.

The seed (MiniFloat-NN, ARITH 2022) claims that a dot product computed with a
chain of ExSdotp operations ``d = a0*b0 + a1*b1 + c`` (narrow ``a``/``b``, wide
``c``/``d``, one rounding) is more accurate than the same dot product computed
with a chain of expanding FMAs ``d = a*b + c`` (one rounding per product), at
half the instructions.

For every format pair ``src -> dst``, length ``L`` and input distribution this
draws ``TRIALS`` fixed-seed pairs of float32 vectors, rounds them to ``src``
(``fp.convert``, RNE: one rounding), and accumulates ``sum_i a_i * b_i`` from
``c = +0`` in ``dst`` with RNE three ways:

* ExSdotp chain: ``acc = fp.fused_dot`` over consecutive element pairs (K = 2),
  ``L / 2`` steps;
* FMA chain: ``acc = fp.fused_dot`` with K = 1, ``L`` steps;
* exact: the sum of the exact products as one Python integer per trial.

It reports the relative error ``|computed - exact| / |exact|`` of both chains
per (distribution, pair, L): mean, median and max over the trials, the ratios
of the means and of the medians (FMA chain / ExSdotp), the shares of trials where
ExSdotp is more / less accurate, and how many results overflowed (OF).  Trials
whose exact sum is 0 are counted and left out of the statistics.
Distributions: ``normal`` is N(0, 1) (signed terms, cancellation); ``uniform``
is U[0, 1) (all terms non-negative, no cancellation).
"""

import time
import zlib

import numpy as np

from . import fp
from ._checks import int_param
from ._study import (DISTRIBUTIONS, check_names, check_sizes, distribution_panels, draw_float32, log_axes,
                     save_figure, write_study)


__all__ = ["PAIRS", "LENGTHS", "DISTRIBUTIONS", "TRIALS", "SEED", "OUTPUTS",
           "quantize", "chain", "exsdotp_chain", "fma_chain", "exact_dot", "relative_error", "error_summary",
           "measure", "run", "render_markdown", "plot", "write"]

PAIRS = {
    "e4m3-fp16": (fp.E4M3, fp.FP16),
    "e5m2-fp16": (fp.E5M2, fp.FP16),
    "fp16-fp32": (fp.FP16, fp.FP32),
    "bf16-fp32": (fp.BF16, fp.FP32),
}
PAIR_LABELS = {
    "e4m3-fp16": "E4M3 (IEEE-style, max 240) -> FP16",
    "e5m2-fp16": "E5M2 -> FP16",
    "fp16-fp32": "FP16 -> FP32",
    "bf16-fp32": "BF16 -> FP32",
}
LENGTHS = (16, 64, 256, 1024, 4096)
TRIALS = 500
SEED = 2022
OUTPUTS = ("report.json", "report.md", "error.png")


def quantize(values, fmt):
    """float32 ``values`` rounded once (RNE) to ``fmt`` patterns (uint64)."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    flat = bits.reshape(-1)
    out = np.concatenate([fp.convert(flat[i:i + 65536], src=fp.FP32, dst=fmt, rm=fp.RNE)[0]
                          for i in range(0, flat.size, 65536)] or [flat])
    return out.reshape(bits.shape)


def chain(a, b, *, src, dst, k, rm=fp.RNE):
    """Row-wise dot products of (n, L) ``src`` patterns accumulated from ``c = +0`` in
    ``dst`` by ``L / k`` fused steps ``acc = round(sum of k products + acc)``.
    Returns ``(acc, flags)``: the (n,) ``dst`` results and the OR of every step's flags."""
    n, length = a.shape
    if length % k:
        raise ValueError(f"chain: length {length} is not a multiple of k = {k}")
    acc = np.zeros(n, dtype=np.uint64)
    flags = np.zeros(n, dtype=np.uint64)
    for j in range(0, length, k):
        acc, f = fp.fused_dot(a[:, j:j + k], b[:, j:j + k], acc, src=src, dst=dst, rm=rm)
        flags |= f
    return acc, flags


def exsdotp_chain(a, b, *, src, dst, rm=fp.RNE):
    """ExSdotp chain: ``acc = round(a[j]*b[j] + a[j+1]*b[j+1] + acc)`` for j = 0, 2, 4, ..."""
    return chain(a, b, src=src, dst=dst, k=2, rm=rm)


def fma_chain(a, b, *, src, dst, rm=fp.RNE):
    """Cascaded expanding FMAs: ``acc = round(a[j]*b[j] + acc)`` for j = 0, 1, 2, ..."""
    return chain(a, b, src=src, dst=dst, k=1, rm=rm)


def exact_dot(a, b, *, src):
    """Exact row sums of ``a * b`` for finite (n, L) ``src`` patterns, as ``(num, base)``:
    the sums are the (n,) Python ints ``num`` times ``2**base``."""
    da, db = fp.decode(a, src), fp.decode(b, src)
    if (da.cls > fp.NORMAL).any() or (db.cls > fp.NORMAL).any():
        raise ValueError("exact_dot: inputs must be finite")
    sig = da.significand * db.significand
    neg = da.sign != db.sign
    shift = da.exponent + db.exponent - 2 * src.emin
    total = np.zeros(a.shape[0], dtype=object)
    for j in range(0, a.shape[1], 256):
        terms = sig[:, j:j + 256].astype(object) << shift[:, j:j + 256].astype(object)
        total = total + np.where(neg[:, j:j + 256], -terms, terms).sum(axis=1)
    return total, 2 * (src.emin - src.man_bits)


def relative_error(result, exact, *, dst):
    """``|result - exact| / |exact|`` (float64, (n,)) of (n,) ``dst`` patterns against the exact
    ``(num, base)`` of ``exact_dot``; +inf for Inf/NaN results, NaN where the exact value is 0."""
    num, base = exact
    d = fp.decode(result, dst)
    finite = d.cls <= fp.NORMAL
    low = min(base, dst.emin - dst.man_bits)
    sig = np.where(finite, d.significand, np.uint64(0)).astype(object)
    got = np.where(d.sign == 1, -sig, sig) << np.where(finite, d.exponent - dst.man_bits - low, 0).astype(object)
    want = num << (base - low)
    err = np.array([abs(g - w) / abs(w) if w else np.nan for g, w in zip(got, want)], dtype=np.float64)
    return np.where(finite, err, np.inf)


def measure(a, b, *, src, dst):
    """Relative errors of both chains on (n, L) ``src`` patterns: a dict with the (n,) arrays
    ``exsdotp`` and ``fma`` (NaN where the exact sum is 0) and their (n,) OF masks."""
    exact = exact_dot(a, b, src=src)
    out = {}
    for name, fn in (("exsdotp", exsdotp_chain), ("fma", fma_chain)):
        result, flags = fn(a, b, src=src, dst=dst)
        out[name] = relative_error(result, exact, dst=dst)
        out[f"{name}_of"] = (flags & np.uint64(fp.OF)) != 0
    return out


def error_summary(err):
    """Mean, median and max of the relative errors ``err``, leaving out the NaNs (exact sums of 0)."""
    err = err[~np.isnan(err)]
    return {"mean": float(np.mean(err)), "median": float(np.median(err)), "max": float(np.max(err))}


def run(log=print, *, pairs=tuple(PAIRS), lengths=LENGTHS, distributions=tuple(DISTRIBUTIONS),
        trials=TRIALS, seed=SEED):
    """Measure both chains for every distribution x pair x length; returns a JSON-able dict.
    Each cell draws its inputs from ``default_rng((seed, crc32(cell name)))``, so a reduced
    configuration reproduces the full study's cells."""
    pairs = check_names("pairs", pairs, PAIRS)
    distributions = check_names("distributions", distributions, DISTRIBUTIONS)
    lengths = check_sizes("lengths", lengths, multiple=2)
    trials = int_param("trials", trials, 1)
    seed = int_param("seed", seed, 0)
    rows = []
    t0 = time.perf_counter()
    for dist in distributions:
        for pair in pairs:
            src, dst = PAIRS[pair]
            for length in lengths:
                t1 = time.perf_counter()
                rng = np.random.default_rng((seed, zlib.crc32(f"{dist}/{pair}/{length}".encode())))
                a = quantize(draw_float32(rng, dist, (trials, length)), src)
                b = quantize(draw_float32(rng, dist, (trials, length)), src)
                m = measure(a, b, src=src, dst=dst)
                ex, fm = error_summary(m["exsdotp"]), error_summary(m["fma"])
                nonzero = ~np.isnan(m["exsdotp"])
                rows.append({
                    "distribution": dist, "pair": pair, "length": length,
                    "steps": {"exsdotp": length // 2, "fma": length},
                    "exsdotp": ex, "fma": fm,
                    "ratio_mean": fm["mean"] / ex["mean"] if ex["mean"] else None,
                    "ratio_median": fm["median"] / ex["median"] if ex["median"] else None,
                    "exsdotp_better": float(np.mean(m["exsdotp"][nonzero] < m["fma"][nonzero])),
                    "exsdotp_worse": float(np.mean(m["exsdotp"][nonzero] > m["fma"][nonzero])),
                    "overflow": {"exsdotp": int(m["exsdotp_of"].sum()), "fma": int(m["fma_of"].sum())},
                    "exact_zero": int((~nonzero).sum()),
                })
                log(f"{dist} {pair} L={length}: mean relative error ExSdotp {ex['mean']:.3g}, "
                    f"FMA chain {fm['mean']:.3g} ({time.perf_counter() - t1:.1f} s, "
                    f"{time.perf_counter() - t0:.0f} s total)")
    return {
        "claim": "an ExSdotp chain (d = a0*b0 + a1*b1 + c, one rounding) computes a dot product more "
                 "accurately than a chain of expanding FMAs (d = a*b + c), in half the steps",
        "seed": seed, "trials": trials, "lengths": list(lengths), "rounding": "RNE",
        "pairs": {p: PAIR_LABELS[p] for p in pairs},
        "distributions": {d: DISTRIBUTIONS[d] for d in distributions},
        "rows": rows,
        "overflows": sum(r["overflow"]["exsdotp"] + r["overflow"]["fma"] for r in rows),
    }


def _cell(result, dist, pair, length):
    return next(r for r in result["rows"]
                if (r["distribution"], r["pair"], r["length"]) == (dist, pair, length))


def _ratio(row, stat):
    if row[f"ratio_{stat}"] is not None:
        return f"{row[f'ratio_{stat}']:.2f}"
    return "both 0" if row["fma"][stat] == 0 else "inf"


def render_markdown(result):
    lines = ["<!-- generated by dlarith: `python build.py accuracy exsdotp` -->",
             "",
             f"{result['trials']} dot products per cell (seed {result['seed']}): float32 inputs rounded once "
             "(RNE) to the source format, accumulated from +0 in the destination format with RNE; relative "
             "error `|computed - exact| / |exact|` against the exact sum.  Ratio = FMA-chain error / ExSdotp "
             "error (> 1: ExSdotp is more accurate); the ExSdotp chain takes L/2 steps, the FMA chain L.  "
             "The last column counts the trials where ExSdotp's error is smaller / larger (the rest are "
             "ties).  With signed inputs the few trials whose exact sum nearly cancels dominate the mean "
             "(see the max column in report.md): the ratio of medians is the robust figure."]
    for dist, text in result["distributions"].items():
        lines += ["",
                  f"**{dist}** inputs, {text}:",
                  "",
                  "| pair | L | ExSdotp mean | FMA chain mean | ratio of means | ratio of medians "
                  "| ExSdotp more / less accurate |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for pair, label in result["pairs"].items():
            for length in result["lengths"]:
                r = _cell(result, dist, pair, length)
                lines.append(f"| {label} | {length} | {r['exsdotp']['mean']:.3g} | {r['fma']['mean']:.3g} "
                             f"| {_ratio(r, 'mean')} | {_ratio(r, 'median')} "
                             f"| {r['exsdotp_better']:.0%} / {r['exsdotp_worse']:.0%} |")
    lines += ["", f"{result['overflows']} results overflowed (OF)." if result["overflows"]
              else "No result overflowed (no OF flag in any step)."]
    zeros = sum(r["exact_zero"] for r in result["rows"])
    if zeros:
        lines.append(f"{zeros} trials whose exact sum is 0 are left out of the statistics.")
    return "\n".join(lines) + "\n"


def render_details(result):
    """Every cell with mean, median and max of both chains, for report.md."""
    lines = ["| distribution | pair | L | ExSdotp mean | median | max | FMA mean | median | max "
             "| ratio of means | ExSdotp more / less accurate | OF |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ex, fm = r["exsdotp"], r["fma"]
        lines.append(f"| {r['distribution']} | {r['pair']} | {r['length']} "
                     f"| {ex['mean']:.3g} | {ex['median']:.3g} | {ex['max']:.3g} "
                     f"| {fm['mean']:.3g} | {fm['median']:.3g} | {fm['max']:.3g} | {_ratio(r, 'mean')} "
                     f"| {r['exsdotp_better']:.0%} / {r['exsdotp_worse']:.0%} "
                     f"| {r['overflow']['exsdotp'] + r['overflow']['fma']} |")
    return "\n".join(lines) + "\n"


def plot(result, path):
    """Median relative error of both chains against L, one panel per distribution."""
    fig, axes, colours = distribution_panels(result)
    for ax, dist in zip(axes[0], result["distributions"]):
        for colour, (pair, label) in zip(colours, result["pairs"].items()):
            rows = [_cell(result, dist, pair, n) for n in result["lengths"]]
            ax.plot(result["lengths"], [r["exsdotp"]["median"] for r in rows], color=colour, marker="o",
                    ms=4, label=f"{label} ExSdotp")
            ax.plot(result["lengths"], [r["fma"]["median"] for r in rows], color=colour, marker="s",
                    ms=4, ls="--", label=f"{label} FMA chain")
        log_axes(ax, "dot-product length L", "median relative error (0 not shown)")
        ax.set_title(f"{dist} inputs: {result['distributions'][dist]}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    save_figure(fig, path, "ExSdotp chain (solid) vs cascaded expanding FMAs (dashed), RNE")


def write(result, out_dir):
    """report.json, report.md and error.png (``OUTPUTS``) in ``out_dir``; returns their paths."""
    return write_study(result, out_dir, OUTPUTS,
                       render_markdown(result) + "\nEvery cell (relative errors):\n\n" + render_details(result), plot)
