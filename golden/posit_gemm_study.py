"""posit32 with the quire vs float32: the accuracy of square GEMMs.

The seed (PERCIVAL, a posit RISC-V core with quire from a Madrid team) claims
up to four orders of magnitude better matrix-multiply accuracy with 32-bit
posits and the quire than with 32-bit floats.

For every input distribution and size ``n`` this draws two fixed-seed n x n
float32 matrices A and B (the same numbers for every format: posit32 takes them
through ``posit.from_float32``, one rounding, which is exact for every input
drawn here and is counted), and computes C = A @ B the issue's four ways, each
over k in order 0, 1, ..., n-1 from zero (whole n x n arrays per step; no BLAS,
no blocking, no pairwise summation), and a fifth:

* ``posit32_quire``: posit<32,2> with a quire per output, ``posit_gemm_quire``:
  the exact sum of the n products, rounded once to posit32 (``golden.posit.Quire``
  semantics);
* ``posit32``: posit<32,2> without the quire, ``acc = add(acc, mul(a, b))``, one
  rounding per multiply and one per add (``golden.posit``);
* ``float32``: numpy float32 ``acc = acc + a * b``, one RNE rounding per multiply
  and one per add;
* ``float32_fma``: ``acc = fma(a, b, acc)`` in float32, one rounding per step,
  by the bit-exact ``golden.fp.fma`` (not float64 arithmetic rounded to float32,
  which would round twice);
* ``float32_exact`` (added to separate the quire's share from the format's): the
  exact sum rounded once to float32, what an exact accumulator would give
  float32 (``round_float32``).

The reference is exact: ``exact_gemm`` multiplies the float32 inputs as Python
integers times one power of two per matrix (numpy object matmul), so every
error is ``computed - exact`` computed exactly and rounded once to float64.
Metrics per (distribution, n, method) over the n*n outputs: the mean squared
error ``mean((C - exact)**2)``; the relative error ``|C - exact| / |exact|``
(median, mean, max; outputs whose exact value is 0 are counted and left out);
and ``max |C - exact| / (|A| @ |B|)``, the error relative to the sum of the
product magnitudes, which stays meaningful where the exact sum nearly cancels
(standard GEMM error bounds are stated in it).  Ratios are float32's figure
divided by the method's (> 1: the method is more accurate than float32).
Distributions: ``normal`` is N(0, 1) (signed terms, cancellation), ``uniform``
U[0, 1) (non-negative terms, no cancellation).
"""

import time
import zlib

import numpy as np

from . import fp, posit
from ._checks import int_param
from ._study import (DISTRIBUTIONS, check_names, check_sizes, distribution_panels, draw_float32, log_axes,
                     save_figure, write_study)


__all__ = ["SIZES", "DISTRIBUTIONS", "METHODS", "SEED", "OUTPUTS",
           "posit_gemm_quire", "posit_gemm_rounded", "float32_gemm", "float32_fma_gemm",
           "exact_gemm", "round_float32", "errors", "measure", "run", "render_markdown", "plot", "write"]

SIZES = (16, 64, 256)
METHODS = {
    "posit32_quire": "posit32 + quire",
    "posit32": "posit32, no quire",
    "float32": "float32",
    "float32_fma": "float32 FMA",
    "float32_exact": "float32, exact sum",
}
METHOD_TEXT = {
    "posit32_quire": "posit<32,2>, exact sum in the quire, one rounding per dot product",
    "posit32": "posit<32,2>, one rounding per multiply and per add",
    "float32": "float32, one rounding per multiply and per add",
    "float32_fma": "float32, acc = fma(a, b, acc): one rounding per step",
    "float32_exact": "float32 inputs, exact sum rounded once to float32 (what a quire-like exact "
                     "accumulator would give float32; not in the issue's list)",
}
SEED = 2022
OUTPUTS = ("report.json", "report.md", "error.png")

_bit_length = np.frompyfunc(int.bit_length, 1, 1)
_KEEP = 62                       # significand bits handed to PositFormat.encode (as _encode_int)


# -- exact integers -----------------------------------------------------------------------------

def _scaled_ints(negative, sig, lsb, live):
    """Each live element ``(-1)**negative * sig * 2**lsb`` as one Python int times ``2**base``
    (``base`` = the lowest ``lsb`` of a live element); 0 elsewhere.  Returns ``(ints, base)``."""
    base = int(lsb[live].min()) if live.any() else 0
    mag = np.where(live, sig, np.uint64(0)).astype(object) << np.where(live, lsb - base, 0).astype(object)
    return np.where(negative, -mag, mag), base


def _f32_bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)


def _float32_ints(x):
    d = fp.decode(_f32_bits(x), fp.FP32)
    if (d.cls > fp.NORMAL).any():
        raise ValueError("exact_gemm: inputs must be finite")
    return _scaled_ints(d.sign == 1, d.significand, d.exponent - fp.FP32.man_bits, d.cls != fp.ZERO)


def _check_matmul(a, b, name):
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"{name}: expected matrices (p, k) and (k, q); got {a.shape} and {b.shape}")


def exact_gemm(a, b):
    """Exact ``A @ B`` of finite float32 matrices (p, k) and (k, q) as ``(num, base)``: the
    (p, q) object array of Python ints ``num`` times ``2**base``."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    _check_matmul(a, b, "exact_gemm")
    ai, ea = _float32_ints(a)
    bi, eb = _float32_ints(b)
    return ai @ bi, ea + eb


def round_float32(exact):
    """The exact values ``(num, base)`` of ``exact_gemm`` rounded once (RNE) to float32."""
    num, base = exact
    num = np.asarray(num, dtype=object)
    bits, _ = fp.encode((num < 0).astype(np.int64), np.abs(num), base, fmt=fp.FP32, rm=fp.RNE)
    return bits.astype(np.uint32).view(np.float32).reshape(num.shape)


# -- posit GEMMs ------------------------------------------------------------------------------

def _round_posit(fmt, num, exp2):
    """Round the exact values ``num * 2**exp2`` (object array of Python ints) to ``fmt`` patterns,
    one rounding each, exactly as ``PositFormat._encode_int`` (vectorized); 0 gives 0."""
    num = np.asarray(num, dtype=object)
    sign = (num < 0).astype(bool)
    mag = np.abs(num)
    bl = _bit_length(mag).astype(np.int64)
    drop = np.maximum(bl - 1 - _KEEP, 0).astype(object)
    top = mag >> drop
    sticky = (mag - (top << drop)) != 0
    top = (top << np.maximum(_KEEP - (bl - 1), 0).astype(object)).astype(np.uint64)
    out = fmt.encode(sign, bl - 1 + exp2, top, _KEEP, sticky.astype(bool))
    return np.where(bl == 0, np.uint64(0), out)


def posit_gemm_quire(a, b, *, n=32, es=2):
    """``C = A @ B`` of posit<n, es> bit patterns (uint64 arrays (p, k) and (k, q)) with one quire
    per output; returns the (p, q) uint64 result patterns.

    Each ``C[i, j]`` is bit for bit what ``golden.posit.Quire(n, es)`` gives after
    ``add_product(A[i, :], B[:, j])`` from a clear quire and ``to_posit()``: the exact sum of the
    k products in the quire register (two's complement modulo ``2**quire_width``, so it wraps
    exactly like ``Quire``, which needs about 2**31 products near maxpos**2), rounded once to
    nearest, ties to even on the pattern; NaR in row i of A or column j of B (or a wrapped
    register reading NaR) gives NaR.  Vectorized: one numpy object matmul over Python ints
    instead of a Python loop per output, so a hardware GEMM can be checked against it directly.
    """
    fmt = posit.PositFormat.get(n, es)
    a, b = fmt.check("a", a), fmt.check("b", b)
    _check_matmul(a, b, "posit_gemm_quire")
    da, db = fmt.decode(a), fmt.decode(b)
    ai, ea = _scaled_ints(da.sign, da.sig, da.scale - fmt.fbits, ~(da.zero | da.nar))
    bi, eb = _scaled_ints(db.sign, db.sig, db.scale - fmt.fbits, ~(db.zero | db.nar))
    width = fmt.quire_width
    if a.shape[1]:
        total = ai @ bi                               # the exact sums, times 2**(ea + eb)
        shift = ea + eb + fmt.quire_frac_bits         # every product is a multiple of 2**-frac_bits,
        total = total << shift if shift >= 0 else total >> -shift   # so a right shift drops only 0s
        q = total & ((1 << width) - 1)
    else:
        q = np.zeros((a.shape[0], b.shape[1]), dtype=object)
    register_nar = (q == 1 << (width - 1)).astype(bool)
    q = np.where((q >> (width - 1)).astype(bool), q - (1 << width), q)
    out = _round_posit(fmt, q, -fmt.quire_frac_bits)
    nar = da.nar.any(axis=1)[:, None] | db.nar.any(axis=0)[None, :] | register_nar
    return np.where(nar, np.uint64(fmt.nar), out)


def posit_gemm_rounded(a, b, *, n=32, es=2):
    """``C = A @ B`` of posit<n, es> patterns without the quire: ``acc = add(acc, mul(a_ik, b_kj))``
    for k = 0, 1, ... from acc = 0, each multiply and add rounded (``golden.posit``)."""
    fmt = posit.PositFormat.get(n, es)
    a, b = fmt.check("a", a), fmt.check("b", b)
    _check_matmul(a, b, "posit_gemm_rounded")
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.uint64)
    for k in range(a.shape[1]):
        acc = posit.add(acc, posit.mul(a[:, k:k + 1], b[k:k + 1, :], n=n, es=es), n=n, es=es)
    return acc


# -- float32 GEMMs ----------------------------------------------------------------------------

def float32_gemm(a, b):
    """``C = A @ B`` in numpy float32: ``acc = acc + a_ik * b_kj`` for k = 0, 1, ... from +0,
    each multiply and add rounded to float32 (RNE); a fixed order, not BLAS."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    _check_matmul(a, b, "float32_gemm")
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for k in range(a.shape[1]):
        acc = acc + a[:, k:k + 1] * b[k:k + 1, :]
    return acc


def float32_fma_gemm(a, b):
    """``C = A @ B`` in float32 with ``acc = fma(a_ik, b_kj, acc)`` for k = 0, 1, ... from +0,
    one RNE rounding per step (``golden.fp.fma``, bit-exact).  Returns ``(C, flags)``: the
    float32 result and the OR of every step's exception flags per output."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    _check_matmul(a, b, "float32_fma_gemm")
    p, q = a.shape[0], b.shape[1]
    ab, bb = _f32_bits(a), _f32_bits(b)
    acc = np.zeros(p * q, dtype=np.uint64)
    flags = np.zeros(p * q, dtype=np.uint64)
    for k in range(a.shape[1]):
        acc, f = fp.fma(np.repeat(ab[:, k], q), np.tile(bb[k, :], p), acc, fmt=fp.FP32, rm=fp.RNE)
        flags |= f
    return acc.astype(np.uint32).view(np.float32).reshape(p, q), flags.reshape(p, q)


# -- errors -----------------------------------------------------------------------------------

def errors(computed, exact):
    """Errors of ``computed`` (float64 array, e.g. float32 or posit32 results widened exactly)
    against ``exact = (num, base)`` from ``exact_gemm``.  Returns ``(err, rel)``: ``computed -
    exact`` computed exactly and rounded once to float64, and ``|err| / |exact|`` (NaN where
    the exact value is 0); both +inf where ``computed`` is not finite (NaR, overflow)."""
    num, base = exact
    c = np.asarray(computed, dtype=np.float64)
    finite = np.isfinite(c)
    m, e = np.frexp(np.where(finite, c, 0.0))
    mant = np.ldexp(m, 53).astype(np.int64)                 # exact: c = mant * 2**(e - 53)
    lsb = e.astype(np.int64) - 53
    live = mant != 0
    low = min(base, int(lsb[live].min())) if live.any() else base
    ci = mant.astype(object) << np.where(live, lsb - low, 0).astype(object)
    ei = np.asarray(num, dtype=object) << (base - low)
    diff = ci - ei
    err = np.ldexp(diff.astype(np.float64), low)
    want = np.abs(ei).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(want != 0, np.abs(diff).astype(np.float64) / np.where(want != 0, want, 1.0), np.nan)
    return np.where(finite, err, np.inf), np.where(finite, rel, np.inf)


def _posit_f64(bits):
    return posit.to_float64(bits).view(np.float64)


def measure(a, b):
    """All five GEMMs of the float32 matrices ``a``, ``b`` against the exact product: a dict
    ``{method: (err, rel)}`` (see ``errors``) plus ``bound`` (``|A| @ |B|``, float64),
    ``posit_inexact_inputs`` and ``fma_overflow`` (counts)."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    exact = exact_gemm(a, b)
    pa, pb = posit.from_float32(_f32_bits(a)), posit.from_float32(_f32_bits(b))
    inexact = int((_posit_f64(pa) != a.astype(np.float64)).sum() + (_posit_f64(pb) != b.astype(np.float64)).sum())
    fma, flags = float32_fma_gemm(a, b)
    out = {
        "posit32_quire": errors(_posit_f64(posit_gemm_quire(pa, pb)), exact),
        "posit32": errors(_posit_f64(posit_gemm_rounded(pa, pb)), exact),
        "float32": errors(float32_gemm(a, b).astype(np.float64), exact),
        "float32_fma": errors(fma.astype(np.float64), exact),
        "float32_exact": errors(round_float32(exact).astype(np.float64), exact),
    }
    out["bound"] = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    out["posit_inexact_inputs"] = inexact
    out["fma_overflow"] = int(((flags & np.uint64(fp.OF)) != 0).sum())
    return out


def _summary(err, rel, bound):
    r = rel[~np.isnan(rel)]
    with np.errstate(divide="ignore", invalid="ignore"):
        normwise = np.where(bound > 0, np.abs(err) / np.where(bound > 0, bound, 1.0), 0.0)
    return {"mse": float(np.mean(err ** 2)), "median_rel": float(np.median(r)), "mean_rel": float(np.mean(r)),
            "max_rel": float(np.max(r)), "max_normwise": float(np.max(normwise)),
            "exact_share": float(np.mean(err == 0))}


def _ratio(num, den):
    return num / den if den else None


def run(log=print, *, sizes=SIZES, distributions=tuple(DISTRIBUTIONS), seed=SEED):
    """Measure the five GEMMs for every distribution x size; returns a JSON-able dict.  Each
    cell draws A then B from ``default_rng((seed, crc32("dist/n")))``, so a reduced
    configuration reproduces the full study's cells."""
    sizes = check_sizes("sizes", sizes)
    distributions = check_names("distributions", distributions, DISTRIBUTIONS)
    seed = int_param("seed", seed, 0)
    rows = []
    t0 = time.perf_counter()
    for dist in distributions:
        for size in sizes:
            t1 = time.perf_counter()
            rng = np.random.default_rng((seed, zlib.crc32(f"{dist}/{size}".encode())))
            a, b = draw_float32(rng, dist, (size, size)), draw_float32(rng, dist, (size, size))
            m = measure(a, b)
            stats = {name: _summary(*m[name], m["bound"]) for name in METHODS}
            f32 = stats["float32"]
            rows.append({
                "distribution": dist, "n": size, "methods": stats,
                "ratio_mse": {k: _ratio(f32["mse"], s["mse"]) for k, s in stats.items()},
                "ratio_median_rel": {k: _ratio(f32["median_rel"], s["median_rel"]) for k, s in stats.items()},
                "ratio_max_rel": {k: _ratio(f32["max_rel"], s["max_rel"]) for k, s in stats.items()},
                "exact_zero": int(np.isnan(m["float32"][1]).sum()),
                "posit_inexact_inputs": m["posit_inexact_inputs"],
                "fma_overflow": m["fma_overflow"],
            })
            log(f"{dist} n={size}: MSE " + ", ".join(f"{k} {s['mse']:.3g}" for k, s in stats.items())
                + f" ({time.perf_counter() - t1:.1f} s, {time.perf_counter() - t0:.0f} s total)")
    return {
        "claim": "posit32 with the quire multiplies matrices up to four orders of magnitude more "
                 "accurately than float32 (PERCIVAL)",
        "seed": seed, "sizes": list(sizes), "order": "k = 0, 1, ..., n-1 from zero (no BLAS)",
        "methods": {k: METHOD_TEXT[k] for k in METHODS},
        "distributions": {d: DISTRIBUTIONS[d] for d in distributions},
        "rows": rows,
        "posit_inexact_inputs": sum(r["posit_inexact_inputs"] for r in rows),
        "fma_overflow": sum(r["fma_overflow"] for r in rows),
    }


# -- rendering --------------------------------------------------------------------------------

def _cell(result, dist, size):
    return next(r for r in result["rows"] if (r["distribution"], r["n"]) == (dist, size))


def _fmt_ratio(value, f32):
    if value is not None:
        return f"{value:.3g}" if value < 100 else f"{value:.0f}"
    return "both 0" if f32 == 0 else "inf"


def render_markdown(result):
    lines = ["<!-- generated by dlarith: `python build.py accuracy posit-gemm` -->",
             "",
             f"Square GEMMs C = A @ B, A and B n x n float32 drawn with seed {result['seed']} (the same "
             "numbers for every format; posit32 holds them exactly"
             + ("" if not result["posit_inexact_inputs"]
                else f" except {result['posit_inexact_inputs']} inputs rounded once") + "), "
             "summed over k in order from zero (no BLAS), against the exact product "
             "(Python-integer matmul).  MSE = mean of (C - exact)^2 over the n^2 outputs; relative error "
             "= |C - exact| / |exact|.  Ratio = float32's figure / the method's (> 1: more accurate "
             "than float32).  posit32 + quire: one rounding per dot product; posit32 and float32: a "
             "rounding per multiply and per add; float32 FMA: a rounding per multiply-add; float32, exact "
             "sum: the exact dot product rounded once to float32 (not in the issue's list: it separates "
             "what exact accumulation gives from what posit32's extra fraction bits near 1 give)."]
    for dist, text in result["distributions"].items():
        lines += ["",
                  f"**{dist}** inputs, {text}:",
                  "",
                  "| n | method | MSE | float32 / method MSE | median rel. error | max rel. error "
                  "| float32 / method max rel. |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        for size in result["sizes"]:
            r = _cell(result, dist, size)
            for key, label in METHODS.items():
                s, f32 = r["methods"][key], r["methods"]["float32"]
                lines.append(f"| {size} | {label} | {s['mse']:.3g} "
                             f"| {_fmt_ratio(r['ratio_mse'][key], f32['mse'])} "
                             f"| {s['median_rel']:.3g} | {s['max_rel']:.3g} "
                             f"| {_fmt_ratio(r['ratio_max_rel'][key], f32['max_rel'])} |")
    notes = []
    zeros = sum(r["exact_zero"] for r in result["rows"])
    if zeros:
        notes.append(f"{zeros} outputs whose exact value is 0 are left out of the relative errors.")
    notes.append(f"{result['fma_overflow']} float32 FMA results overflowed." if result["fma_overflow"]
                 else "No float32 FMA step overflowed.")
    return "\n".join(lines + [""] + notes) + "\n"


def render_details(result):
    """Every cell with all the statistics, for report.md."""
    lines = ["| distribution | n | method | MSE | median rel. | mean rel. | max rel. "
             "| max \\|error\\| / (\\|A\\| @ \\|B\\|) | exact outputs | float32 / method: MSE | median rel. |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        for key, label in METHODS.items():
            s, f32 = r["methods"][key], r["methods"]["float32"]
            lines.append(f"| {r['distribution']} | {r['n']} | {label} | {s['mse']:.3g} | {s['median_rel']:.3g} "
                         f"| {s['mean_rel']:.3g} | {s['max_rel']:.3g} | {s['max_normwise']:.3g} "
                         f"| {s['exact_share']:.1%} "
                         f"| {_fmt_ratio(r['ratio_mse'][key], f32['mse'])} "
                         f"| {_fmt_ratio(r['ratio_median_rel'][key], f32['median_rel'])} |")
    return "\n".join(lines) + "\n"


def plot(result, path):
    """MSE (top) and median (solid) / max (dashed) relative error (bottom) against n, one column
    per distribution, one colour per method."""
    fig, axes, colours = distribution_panels(result, rows=2, height=8)
    dists = list(result["distributions"])
    sizes = result["sizes"]
    for col, dist in enumerate(dists):
        rows = [_cell(result, dist, size) for size in sizes]
        top, bottom = axes[0][col], axes[1][col]
        for colour, (key, label) in zip(colours, METHODS.items()):
            top.plot(sizes, [r["methods"][key]["mse"] for r in rows], color=colour, marker="o", ms=4, label=label)
            bottom.plot(sizes, [r["methods"][key]["median_rel"] for r in rows], color=colour, marker="o", ms=4,
                        label=f"{label} median")
            bottom.plot(sizes, [r["methods"][key]["max_rel"] for r in rows], color=colour, marker="s", ms=4,
                        ls="--", label=f"{label} max")
        top.set_title(f"{dist} inputs: {result['distributions'][dist]}", fontsize=9)
        top.set_ylabel("MSE of C")
        bottom.set_ylabel("|C - exact| / |exact| (solid: median, dashed: max)")
        for ax in (top, bottom):
            log_axes(ax, "n (n x n GEMM, dot products of length n)", xticks=sizes)
    axes[0][0].legend(fontsize=8)
    save_figure(fig, path, "posit32 with and without the quire vs float32 GEMM, against the exact product")


def write(result, out_dir):
    """report.json, report.md and error.png (``OUTPUTS``) in ``out_dir``; returns their paths."""
    return write_study(result, out_dir, OUTPUTS,
                       render_markdown(result) + "\nEvery cell:\n\n" + render_details(result), plot)
