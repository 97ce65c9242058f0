"""OCP Microscaling (MX) v1.0 blocks on raw bit patterns: a shared E8M0 scale and K elements.

Element formats (OCP MX v1.0, Table 1), with ``emax``, the exponent of the
largest normal binade, that the scale is chosen from:

=========  ======================================================  =====
``e4m3``   FP8 E4M3 (``fp.E4M3FN``: max 448, NaN ``S.1111.111``)      8
``e5m2``   FP8 E5M2 (``fp.E5M2``: IEEE-style Inf and NaN)             15
``e3m2``   FP6 E3M2 (``fp.E3M2``: every pattern finite, max 28)       4
``e2m3``   FP6 E2M3 (``fp.E2M3``: max 7.5)                            2
``e2m1``   FP4 E2M1 (``fp.E2M1``: max 6)                              2
``int8``   two's-complement ``p``, the value ``p * 2**-6`` (-2..1.984375)  0
=========  ======================================================  =====

The scale ``X`` is E8M0: ``2**(X - 127)`` for ``X`` in 0..254, NaN for 255.
A block's element i is ``2**(X - 127) * p_i``; a NaN scale makes every element
NaN.

``quantize`` is the conversion of OCP MX v1.0 section 6.3: ``shared_exp =
floor(log2(max_i |V_i|)) - emax``, raised to -127 when lower (an all-zero block
gets -127), and each ``V_i / 2**shared_exp`` rounded to nearest, ties to even,
saturating at the element's largest magnitude.  Documented choices where the
spec leaves them open: a block with an infinite or NaN value gets the NaN scale
and zero elements; ``int8`` elements saturate to -128..127.

``dot`` is the block dot product ``2**(Xa + Xb - 254) * sum_i a_i * b_i``
(section 6.2 leaves its precision to the implementation): the sum is exact and
rounded once to ``dst`` (FP32 by default) in a RISC-V rounding mode, with the
flags and specials of ``fp.fused_dot`` (e5m2's Inf * 0 and Inf - Inf give NaN
with NV); a NaN scale gives the canonical NaN without flags.
"""

import math
from typing import NamedTuple

import numpy as np

from . import fp
from ._checks import bit_patterns, int_param


__all__ = ["ElementFormat", "ELEMENTS", "BLOCK", "SCALE_NAN", "SCALE_BIAS",
           "scale_exponent", "element_values", "quantize", "dot"]

BLOCK = 32
SCALE_NAN = 255
SCALE_BIAS = 127

_U64 = np.uint64


class ElementFormat(NamedTuple):
    """An MX element format: ``float`` is its ``fp.FloatFormat`` (None for int8)."""
    name: str
    width: int
    emax: int
    float: fp.FloatFormat | None


ELEMENTS = {e.name: e for e in (
    ElementFormat("e4m3", 8, 8, fp.E4M3FN),
    ElementFormat("e5m2", 8, 15, fp.E5M2),
    ElementFormat("e3m2", 6, 4, fp.E3M2),
    ElementFormat("e2m3", 6, 2, fp.E2M3),
    ElementFormat("e2m1", 4, 2, fp.E2M1),
    ElementFormat("int8", 8, 0, None),
)}


def _element(elem):
    if isinstance(elem, ElementFormat) and ELEMENTS.get(elem.name) == elem:
        return elem
    if isinstance(elem, str) and elem in ELEMENTS:
        return ELEMENTS[elem]
    raise ValueError(f"elem must be one of {', '.join(ELEMENTS)}, got {elem!r}")


def _blocks(name, patterns, width, block):
    arr = bit_patterns(name, patterns, width)
    if arr.ndim != 2 or arr.shape[1] != block:
        raise ValueError(f"{name}: expected shape (n, {block}), got {arr.shape}")
    return arr


def scale_exponent(scales):
    """The unbiased exponents ``X - 127`` of E8M0 scales (uint8 patterns; 255, NaN, gives 128)."""
    return bit_patterns("scales", scales, 8).astype(np.int64) - SCALE_BIAS


def element_values(patterns, elem):
    """Exact element values as ``Fraction``s (``nan``/``inf`` floats for e4m3/e5m2 specials)."""
    elem = _element(elem)
    if elem.float is not None:
        return fp.to_fraction(patterns, elem.float)
    from fractions import Fraction
    p = bit_patterns("patterns", patterns, 8)
    signed = np.where(p >= 128, p.astype(np.int64) - 256, p.astype(np.int64))
    out = np.empty(p.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(int(v), 64) for v in signed.reshape(-1)]
    return out


def quantize(values, elem, *, block=BLOCK):
    """OCP MX v1.0 conversion of float32 ``values`` (shape (n, block)) to MX blocks.

    Returns ``(scales, elements)``: (n,) E8M0 patterns and (n, block) element
    patterns (uint64).  See the module docstring for the rule and its choices.
    """
    elem = _element(elem)
    block = int_param("block", block, 1)
    v = np.asarray(values)
    if v.dtype != np.float32:
        raise TypeError(f"values: expected a float32 array, got dtype {v.dtype}")
    if v.ndim != 2 or v.shape[1] != block:
        raise ValueError(f"values: expected shape (n, {block}), got {v.shape}")
    special = ~np.isfinite(v).all(axis=1)
    wide = np.where(np.isfinite(v), v, 0).astype(np.float64)
    amax = np.abs(wide).max(axis=1) if block else np.zeros(len(v))
    _, e = np.frexp(amax)                                   # amax = m * 2**e, 0.5 <= m < 1: floor(log2) = e - 1
    shared = np.where(amax > 0, e.astype(np.int64) - 1 - elem.emax, -SCALE_BIAS)
    shared = np.maximum(shared, -SCALE_BIAS)
    scales = np.where(special, SCALE_NAN, shared + SCALE_BIAS).astype(_U64)
    scaled = np.ldexp(wide, -shared[:, None])               # exact: a power of two on a float32 value
    if elem.float is None:
        codes = np.clip(np.rint(scaled * 64), -128, 127).astype(np.int64)
        elements = (codes & 0xFF).astype(_U64)
    else:
        m, e = np.frexp(scaled)                             # scaled = m * 2**e, m < 1 with 24 bits at most
        sig = np.abs(np.ldexp(m, 24)).astype(np.int64)
        elements, _ = fp.encode(np.signbit(scaled).astype(np.int64), sig, e.astype(np.int64) - 24,
                                fmt=elem.float, rm=fp.RNE, saturate=True)
    elements = np.where(special[:, None], _U64(0), elements)
    return scales, elements


def dot(a_scale, a, b_scale, b, elem, *, rm=fp.RNE, dst=fp.FP32, block=BLOCK):
    """``round_dst(2**(Xa + Xb - 254) * sum_i a[:, i] * b[:, i])`` per row; returns ``(result, flags)``.

    ``a_scale``, ``b_scale``: (n,) E8M0 patterns; ``a``, ``b``: (n, block) element
    patterns; ``rm``: scalar or (n,) RISC-V rounding-mode codes 0..7 (5..7
    reserved: canonical NaN with NV); ``dst`` an ``fp.FloatFormat`` with a NaN.
    """
    elem = _element(elem)
    block = int_param("block", block, 1)
    a, b = _blocks("a", a, elem.width, block), _blocks("b", b, elem.width, block)
    n = a.shape[0]
    if b.shape != a.shape:
        raise ValueError(f"dot: a and b must have one shape, got {a.shape} and {b.shape}")
    sa, sb = (bit_patterns(name, s, 8) for name, s in (("a_scale", a_scale), ("b_scale", b_scale)))
    for name, s in (("a_scale", sa), ("b_scale", sb)):
        if s.shape != (n,):
            raise ValueError(f"dot: {name} must have shape ({n},), got {s.shape}")
    nan_scale = (sa == SCALE_NAN) | (sb == SCALE_NAN)
    scale = sa.astype(np.int64) + sb.astype(np.int64) - 2 * SCALE_BIAS
    negative_zero = np.full(n, dst.zero(1), dtype=_U64)    # x + (-0) = x, -0 + -0 = -0: c adds nothing
    if elem.float is not None:
        result, flags = fp.fused_dot(a, b, negative_zero, src=elem.float, dst=dst, rm=rm, scale=scale)
    else:
        rm = np.broadcast_to(np.asarray(rm), (n,))
        ia = np.where(a >= 128, a.astype(np.int64) - 256, a.astype(np.int64))
        ib = np.where(b >= 128, b.astype(np.int64) - 256, b.astype(np.int64))
        total = (ia * ib).sum(axis=1)                        # |total| <= 32 * 2**14: exact in int64
        cancelled = (total == 0) & ((ia * ib) != 0).any(axis=1)
        sign = np.where(total == 0, cancelled & (rm == fp.RDN), total < 0).astype(np.int64)
        bad_rm = rm >= 5
        result, flags = fp.encode(sign, np.abs(total), scale - 12, fmt=dst, rm=np.where(bad_rm, fp.RNE, rm))
        result = np.where(bad_rm, _U64(dst.canonical_nan), result)
        flags = np.where(bad_rm, _U64(fp.NV), flags)
    result = np.where(nan_scale, _U64(dst.canonical_nan), result)
    flags = np.where(nan_scale, _U64(0), flags)
    return result.astype(_U64), flags.astype(_U64)
