"""Binary floating point (IEEE 754-2019 style and OCP "fn" fp8) on raw bit patterns.

Formats.  ``FloatFormat(exp_bits, man_bits, *, bias=None, flavour="ieee")`` is a
``1 + exp_bits + man_bits``-bit word ``sign | exponent field | mantissa field``
(sign in the top bit).  With ``f`` the exponent field, ``m`` the mantissa field,
``M = man_bits`` and ``emin = 1 - bias``:

* ``f == 0``: zero (``m == 0``) or subnormal, value ``(-1)**s * m * 2**(emin - M)``;
* otherwise normal, value ``(-1)**s * (2**M + m) * 2**(f - bias - M)``;
* ``flavour="ieee"``: the all-ones exponent field is +-Inf (``m == 0``) or NaN
  (quiet when the mantissa MSB is set, signalling otherwise);
* ``flavour="fn"`` (OCP FP8 E4M3 style, ``ml_dtypes.float8_e4m3fn``): no
  infinities; only all-ones exponent AND all-ones mantissa is NaN (either sign,
  there is no signalling NaN); the rest of that binade is finite (E4M3FN max 448).
* ``flavour="finite"`` (OCP MX FP6 and FP4, ``ml_dtypes.float6_e3m2fn``,
  ``float6_e2m3fn``, ``float4_e2m1fn``): no infinity and no NaN; every pattern
  is a number, the all-ones one the largest (E2M1 max 6).  Rounding to such a
  format always saturates (there is nothing else to overflow to), and a NaN
  cannot be rounded or converted to one (``ValueError``).

Named formats: ``FP64``, ``FP32``, ``FP16``, ``BF16``, ``E5M2`` (ieee), ``E4M3``
(ieee-style, max 240, has Inf: ``ml_dtypes.float8_e4m3``, MiniFloat-NN's
FP8alt), ``E4M3FN`` (OCP, max 448, no Inf: ``ml_dtypes.float8_e4m3fn``) and
the OCP MX elements ``E3M2``, ``E2M3`` (FP6) and ``E2M1`` (FP4), all "finite".

Rounding.  Every operation rounds once, from the exact value, to the
destination format (subnormals in and out, no flush), with the RISC-V rounding
modes ``RNE=0, RTZ=1, RDN=2, RUP=3, RMM=4`` and returns RISC-V ``fflags``
(``NV=16, DZ=8, OF=4, UF=2, NX=1``; DZ is never raised here):

* NX when the result differs from the exact value;
* OF (with NX) when the exact value rounded with an unbounded exponent range
  exceeds the largest finite value; the result is then +-Inf for RNE/RMM, for
  RUP on positive and for RDN on negative values, else +-max finite;
* UF when the result is tiny AND inexact, tininess detected *after rounding*
  (RISC-V, as SoftFloat's RISC-V build): tiny means the value rounded to ``M + 1``
  significant bits with an unbounded exponent range is below ``2**emin``;
* an exact zero keeps the sign of the exact value; a sum that is exactly zero
  (cancellation, or zeros of mixed signs) is +0, or -0 under RDN.

Documented choices (the hardware follows them):

* NaN results are always the canonical NaN (RISC-V: sign 0, all-ones exponent,
  mantissa MSB only; for "fn" the pattern ``0 1..1 1..1``); payloads and NaN
  signs are never propagated.  NV is raised by signalling NaN inputs, Inf * 0
  (even when another operand is a quiet NaN, as RISC-V requires for FMA) and
  Inf - Inf among the products and the addend when no operand is NaN.
* "fn" destinations, like ``ml_dtypes`` and OCP's non-saturating mode: an
  overflow that would give Inf gives the canonical NaN (flags OF|NX); an infinite
  exact result (from infinite operands) gives the canonical NaN with NV.
  ``round``/``encode``/``convert`` take ``saturate=True`` (OCP saturating mode)
  to send every overflow and every infinity to +-max finite instead (overflow
  still raises OF|NX; a saturated infinity raises nothing).
* Operations that model hardware (``convert``, ``fused_dot``, ``fma``) accept
  the reserved rounding-mode codes 5..7 and return the canonical NaN with NV
  for them, as the units do; the helpers ``round`` and ``encode`` raise
  ``ValueError`` instead.

Arrays.  Patterns are ``uint64`` arrays (checked by ``golden._checks.bit_patterns``);
flags are ``uint64`` masks.  Exact sums use Python integers in numpy object
arrays (exact for every format and any number of terms); the rest is vectorized
integer numpy.
"""

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ._checks import bit_patterns, bool_param, codes, int_param


__all__ = [
    "FloatFormat", "FP64", "FP32", "FP16", "BF16", "E5M2", "E4M3", "E4M3FN", "E3M2", "E2M3", "E2M1", "FORMATS",
    "RNE", "RTZ", "RDN", "RUP", "RMM", "ROUNDING_MODES",
    "NV", "DZ", "OF", "UF", "NX",
    "ZERO", "SUBNORMAL", "NORMAL", "INF", "NAN",
    "Decoded", "decode", "to_fraction", "corner_patterns",
    "encode", "round", "convert", "fused_dot", "fma",
]

EXP_BITS_RANGE = (2, 11)
MAN_BITS_RANGE = (1, 52)
FLAVOURS = ("ieee", "fn", "finite")

RNE, RTZ, RDN, RUP, RMM = 0, 1, 2, 3, 4
ROUNDING_MODES = (RNE, RTZ, RDN, RUP, RMM)
_RM_CODES = tuple(range(8))                 # 3-bit rm field; 5..7 reserved

NV, DZ, OF, UF, NX = 16, 8, 4, 2, 1

ZERO, SUBNORMAL, NORMAL, INF, NAN = 0, 1, 2, 3, 4

_U64 = np.uint64


def _check_int(name, value, lo, hi):
    return int_param(f"FloatFormat: {name}", value, lo, hi)


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format; see the module docstring for the layout.

    ``exp_bits`` in 2..11, ``man_bits`` in 1..52 (the stored fraction bits),
    ``bias`` in 0..2**exp_bits - 1 (default ``2**(exp_bits-1) - 1``), ``flavour``
    "ieee" or "fn".  Pattern helpers return Python ints; ``sign=1`` gives the
    negative one.
    """

    exp_bits: int
    man_bits: int
    bias: int = field(default=None, kw_only=True)
    flavour: str = field(default="ieee", kw_only=True)
    name: str = field(default=None, kw_only=True, compare=False)

    def __post_init__(self):
        e = _check_int("exp_bits", self.exp_bits, *EXP_BITS_RANGE)
        m = _check_int("man_bits", self.man_bits, *MAN_BITS_RANGE)
        bias = (1 << (e - 1)) - 1 if self.bias is None else _check_int("bias", self.bias, 0, (1 << e) - 1)
        if self.flavour not in FLAVOURS:
            raise ValueError(f"FloatFormat: flavour must be one of {FLAVOURS}, got {self.flavour!r}")
        object.__setattr__(self, "exp_bits", e)
        object.__setattr__(self, "man_bits", m)
        object.__setattr__(self, "bias", bias)

    def __repr__(self):
        text = f"FloatFormat({self.exp_bits}, {self.man_bits}, bias={self.bias}, flavour={self.flavour!r})"
        return f"{self.name}={text}" if self.name else text

    # -- geometry ------------------------------------------------------------------------------

    @property
    def width(self):
        return 1 + self.exp_bits + self.man_bits

    @property
    def precision(self):
        """Significant bits including the hidden bit."""
        return self.man_bits + 1

    @property
    def emin(self):
        """Unbiased exponent of the smallest normal (and of every subnormal's scale)."""
        return 1 - self.bias

    @property
    def emax(self):
        """Unbiased exponent of the largest finite binade."""
        top = (1 << self.exp_bits) - 1
        return (top - 1 if self.flavour == "ieee" else top) - self.bias

    @property
    def has_inf(self):
        return self.flavour == "ieee"

    # -- special patterns ----------------------------------------------------------------------

    def _signed(self, magnitude, sign):
        if sign not in (0, 1):
            raise ValueError(f"sign must be 0 or 1, got {sign!r}")
        return (sign << (self.width - 1)) | magnitude

    def zero(self, sign=0):
        return self._signed(0, sign)

    def inf(self, sign=0):
        if not self.has_inf:
            raise ValueError(f"{self!r} has no infinity")
        return self._signed(((1 << self.exp_bits) - 1) << self.man_bits, sign)

    def max_finite(self, sign=0):
        top = (1 << self.exp_bits) - 1
        if self.flavour == "ieee":
            return self._signed(((top - 1) << self.man_bits) | ((1 << self.man_bits) - 1), sign)
        if self.flavour == "finite":
            return self._signed((top << self.man_bits) | ((1 << self.man_bits) - 1), sign)
        return self._signed((top << self.man_bits) | ((1 << self.man_bits) - 2), sign)

    @property
    def has_nan(self):
        return self.flavour != "finite"

    def min_normal(self, sign=0):
        return self._signed(1 << self.man_bits, sign)

    def min_subnormal(self, sign=0):
        return self._signed(1, sign)

    @property
    def canonical_nan(self):
        """RISC-V canonical NaN (sign 0, exponent all ones, mantissa MSB only); "fn": 0 1..1 1..1;
        ``ValueError`` for a "finite" format, which has none."""
        if not self.has_nan:
            raise ValueError(f"{self!r} has no NaN")
        top = ((1 << self.exp_bits) - 1) << self.man_bits
        if self.flavour == "fn":
            return top | ((1 << self.man_bits) - 1)
        return top | (1 << (self.man_bits - 1))

    @property
    def signalling_nan(self):
        """A signalling NaN (mantissa LSB only), or None when the format has none."""
        if self.flavour != "ieee" or self.man_bits < 2:
            return None
        return (((1 << self.exp_bits) - 1) << self.man_bits) | 1

    def check(self, name, patterns):
        """Validate ``patterns`` as ``width``-bit patterns (uint64 array) or raise naming ``name``."""
        return bit_patterns(name, patterns, self.width)


FP64 = FloatFormat(11, 52, name="FP64")
FP32 = FloatFormat(8, 23, name="FP32")
FP16 = FloatFormat(5, 10, name="FP16")
BF16 = FloatFormat(8, 7, name="BF16")
E5M2 = FloatFormat(5, 2, name="E5M2")
E4M3 = FloatFormat(4, 3, name="E4M3")
E4M3FN = FloatFormat(4, 3, flavour="fn", name="E4M3FN")
E3M2 = FloatFormat(3, 2, flavour="finite", name="E3M2")
E2M3 = FloatFormat(2, 3, flavour="finite", name="E2M3")
E2M1 = FloatFormat(2, 1, flavour="finite", name="E2M1")
FORMATS = {f.name: f for f in (FP64, FP32, FP16, BF16, E5M2, E4M3, E4M3FN, E3M2, E2M3, E2M1)}


def _check_format(name, fmt):
    if not isinstance(fmt, FloatFormat):
        raise TypeError(f"{name}: expected a FloatFormat, got {fmt!r}")
    return fmt


def corner_patterns(fmt):
    """Interesting patterns of ``fmt`` (both signs): zeros, smallest/largest subnormal,
    smallest normal, 1, 1 + ulp, 1.5, largest finite and its neighbour, Inf, quiet
    and signalling NaNs (those the format has), as a sorted uint64 array."""
    fmt = _check_format("fmt", fmt)
    m = fmt.man_bits
    one = (fmt.bias << m) if fmt.bias > 0 else fmt.min_normal()
    mags = {0, 1, (1 << m) - 1, 1 << m, (1 << m) + 1, one, one + 1, one | (1 << (m - 1)),
            fmt.max_finite(), fmt.max_finite() - 1, (((1 << fmt.exp_bits) - 1) << m) - 1}
    if fmt.has_nan:
        mags.add(fmt.canonical_nan)
    if fmt.has_inf:
        mags.add(fmt.inf())
        mags.add(fmt.canonical_nan | 1)
    if fmt.signalling_nan is not None:
        mags.add(fmt.signalling_nan)
        mags.add(fmt.signalling_nan | ((1 << (m - 1)) - 1))
    mags = {x for x in mags if x < (1 << (fmt.width - 1))}
    sign = 1 << (fmt.width - 1)
    return np.array(sorted(mags | {x | sign for x in mags}), dtype=_U64)


# -- decode ------------------------------------------------------------------------------------

class Decoded(NamedTuple):
    """Fields of decoded patterns.  A finite element is
    ``(-1)**sign * significand * 2**(exponent - man_bits)``: ``exponent`` is the
    unbiased exponent (``emin`` for zeros and subnormals) and ``significand``
    includes the hidden bit (``2**man_bits <= significand < 2**(man_bits+1)`` for
    normals).  Inf and NaN elements have exponent ``emax + 1`` ("ieee") and the
    raw mantissa field as significand."""
    sign: np.ndarray         # uint64 0/1
    exponent: np.ndarray     # int64
    significand: np.ndarray  # uint64
    cls: np.ndarray          # int64: ZERO, SUBNORMAL, NORMAL, INF, NAN
    quiet: np.ndarray        # bool: quiet NaN
    signalling: np.ndarray   # bool: signalling NaN


def _decode(p, fmt):
    e, m = fmt.exp_bits, fmt.man_bits
    sign = (p >> _U64(e + m)) & _U64(1)
    ef = ((p >> _U64(m)) & _U64((1 << e) - 1)).astype(np.int64)
    mf = p & _U64((1 << m) - 1)
    top = ef == (1 << e) - 1
    if fmt.flavour == "ieee":
        nan = top & (mf != 0)
        inf = top & (mf == 0)
        quiet = nan & (((mf >> _U64(m - 1)) & _U64(1)) == 1)
    else:
        nan = top & (mf == (1 << m) - 1) & fmt.has_nan
        inf = np.zeros(p.shape, dtype=bool)
        quiet = nan
    sub = ef == 0
    cls = np.where(nan, NAN, np.where(inf, INF, np.where(sub, np.where(mf == 0, ZERO, SUBNORMAL), NORMAL)))
    sig = np.where(sub | nan | inf, mf, mf | _U64(1 << m))
    exponent = np.maximum(ef, 1) - fmt.bias
    return Decoded(sign, exponent.astype(np.int64), sig.astype(_U64), cls.astype(np.int64), quiet, nan & ~quiet)


def decode(patterns, fmt):
    """Split ``fmt`` patterns into sign, unbiased exponent, significand, class (see ``Decoded``)."""
    fmt = _check_format("fmt", fmt)
    return _decode(fmt.check("patterns", patterns), fmt)


def to_fraction(patterns, fmt):
    """Exact values as an object array: ``Fraction`` for finite patterns (the sign of
    zero is lost: use ``decode``), ``float('inf')`` / ``-inf`` and ``float('nan')``."""
    d = decode(patterns, fmt)
    out = np.empty(d.sign.shape, dtype=object)
    flat = out.reshape(-1)
    for i, (s, ex, sig, cls) in enumerate(zip(d.sign.reshape(-1).tolist(), d.exponent.reshape(-1).tolist(),
                                               d.significand.reshape(-1).tolist(), d.cls.reshape(-1).tolist())):
        if cls == NAN:
            flat[i] = float("nan")
        elif cls == INF:
            flat[i] = float("-inf") if s else float("inf")
        else:
            k = ex - fmt.man_bits
            v = Fraction(sig * (1 << k)) if k >= 0 else Fraction(sig, 1 << -k)
            flat[i] = -v if s else v
    return out


# -- rounding core -----------------------------------------------------------------------------

_bit_length_obj = np.frompyfunc(int.bit_length, 1, 1)


def _obj(x):
    """A numpy object array of Python ints."""
    x = np.asarray(x)
    if x.dtype == object:
        return x
    return x.astype(object)


def _increment(kept, rb, st, sign, rm):
    """Whether to add one ulp to the truncated magnitude ``kept`` (round bit, sticky)."""
    inexact = rb | st
    odd = (kept & _U64(1)).astype(bool)
    return np.select([rm == RNE, rm == RDN, rm == RUP, rm == RMM],
                     [rb & (st | odd), inexact & sign, inexact & ~sign, rb], default=False)


def _overflow_patterns(sign, rm, fmt, saturate):
    """Result of an overflow: Inf (NaN for "fn") or max finite, by mode and sign."""
    to_inf = (rm == RNE) | (rm == RMM) | ((rm == RUP) & ~sign) | ((rm == RDN) & sign)
    big = _U64(fmt.max_finite())
    if saturate:
        far = big
    elif fmt.has_inf:
        far = _U64(fmt.inf())
    else:
        far = None
    signbit = sign.astype(_U64) << _U64(fmt.width - 1)
    if far is None:
        return np.where(to_inf, _U64(fmt.canonical_nan), big | signbit)
    return np.where(to_inf, far, big) | signbit


def _round_core(sign, mag, lsb_exp, fmt, rm, saturate=False):
    """Round ``(-1)**sign * mag * 2**lsb_exp`` to ``fmt``; returns ``(patterns, flags)``.

    ``sign`` bool, ``mag`` Python-int object array (>= 0), ``lsb_exp`` int64,
    ``rm`` int64 codes 0..4; all of one shape.  ``mag == 0`` gives the zero of ``sign``.
    """
    saturate = bool_param("saturate", saturate) or not fmt.has_nan
    shape = np.shape(sign)
    sign, rm = np.asarray(sign, dtype=bool).reshape(-1), np.asarray(rm).reshape(-1)
    mag = _obj(mag).reshape(-1)
    lsb_exp = np.asarray(lsb_exp, dtype=np.int64).reshape(-1)
    m, bias, emin = fmt.man_bits, fmt.bias, fmt.emin
    bl = _bit_length_obj(mag).astype(np.int64)
    zero = bl == 0
    e_top = lsb_exp + bl - 1
    q = np.maximum(e_top, emin) - m                       # exponent of the result's ulp
    # w = the kept bits, then 3 more bits below them; everything lower ORed into w's LSB.
    t = q - 3 - lsb_exp
    right = np.maximum(t, 0)
    w = np.where(t >= 0, mag >> right, mag << np.maximum(-t, 0))
    lost = np.where(t > 0, (w << right) != mag, False).astype(bool)
    w = w.astype(_U64) | lost.astype(_U64)
    kept = w >> _U64(3)
    rb = ((w >> _U64(2)) & _U64(1)).astype(bool)
    st = (w & _U64(3)) != 0
    inexact = (rb | st) & ~zero
    sig = kept + _increment(kept, rb, st, sign, rm).astype(_U64)
    carry = sig >> _U64(m + 1)                            # rounded up to the next binade
    sig = sig >> carry
    q = q + carry.astype(np.int64)
    # Tininess after rounding: the value rounded to m+1 bits, exponent unbounded, is below 2**emin.
    kept1 = w >> _U64(2)
    sig1 = kept1 + _increment(kept1, ((w >> _U64(1)) & _U64(1)).astype(bool), (w & _U64(1)).astype(bool),
                              sign, rm).astype(_U64)
    tiny = (e_top < emin - 1) | ((e_top == emin - 1) & (sig1 < _U64(1 << (m + 1))))
    normal = sig >= _U64(1 << m)
    exp_field = np.where(normal, q + m + bias, 0)
    magpat = (exp_field.astype(_U64) << _U64(m)) | (sig & _U64((1 << m) - 1))
    # Patterns order like magnitudes, so overflow is "above max finite" (the first test
    # catches exponent fields too large for the uint64 shift).
    overflow = ~zero & ((exp_field >= (1 << fmt.exp_bits)) | (magpat > _U64(fmt.max_finite())))
    magpat = np.where(overflow | zero, _U64(0), magpat)
    out = magpat | (sign.astype(_U64) << _U64(fmt.width - 1))
    out = np.where(overflow, _overflow_patterns(sign, rm, fmt, saturate), out)
    flags = (np.where(inexact | overflow, NX, 0) | np.where(overflow, OF, 0)
             | np.where(tiny & inexact & ~overflow, UF, 0))
    return out.astype(_U64).reshape(shape), flags.astype(_U64).reshape(shape)


def _special_inf(sign, fmt, saturate):
    """Pattern and flags for an exact infinite result of ``sign``."""
    signbit = sign.astype(_U64) << _U64(fmt.width - 1)
    if saturate or not fmt.has_nan:
        return _U64(fmt.max_finite()) | signbit, np.zeros(sign.shape, dtype=_U64)
    if fmt.has_inf:
        return _U64(fmt.inf()) | signbit, np.zeros(sign.shape, dtype=_U64)
    return np.full(sign.shape, fmt.canonical_nan, dtype=_U64), np.full(sign.shape, NV, dtype=_U64)


def _rm_array(rm, shape, allowed):
    arr = codes("rm", rm, allowed)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"rm: shape {arr.shape} does not broadcast to {shape}") from None


def _int_array(name, value):
    """``value`` as an object array of Python ints (TypeError for floats, bools, others)."""
    arr = np.asarray(value)
    if arr.dtype == object:
        if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in arr.flat):
            raise TypeError(f"{name}: expected integers")
        return np.array([int(v) for v in arr.flat], dtype=object).reshape(arr.shape)
    if arr.dtype.kind not in "ui" or arr.dtype == np.bool_:
        raise TypeError(f"{name}: expected integers, got dtype {arr.dtype}")
    return arr.astype(object)


def encode(sign, significand, exponent, *, fmt, rm=RNE, saturate=False):
    """Round the exact values ``(-1)**sign * significand * 2**exponent`` to ``fmt``.

    ``sign`` 0/1, ``significand`` non-negative integers (any size: Python ints or
    integer arrays), ``exponent`` integers; broadcast together.  Returns
    ``(patterns, flags)``.  ``rm`` must be 0..4 (``ValueError`` otherwise).
    """
    fmt = _check_format("fmt", fmt)
    sign, sig, exponent = np.broadcast_arrays(_int_array("sign", sign), _int_array("significand", significand),
                                              _int_array("exponent", exponent))
    if sig.size and min(sig.flat) < 0:
        raise ValueError("significand: expected non-negative integers")
    if sign.size and not set(sign.flat) <= {0, 1}:
        raise ValueError("sign: expected 0 or 1")
    try:
        exponent = exponent.astype(np.int64)
    except OverflowError:
        raise ValueError("exponent: out of the int64 range") from None
    rm = _rm_array(rm, sign.shape, ROUNDING_MODES)
    return _round_core(sign.astype(bool), sig, exponent, fmt, rm, saturate)


def _exact_parts(x, extra_bits):
    """(sign, magnitude, exponent, kind) of one exact number; non-dyadic rationals keep
    ``extra_bits`` significant bits plus a sticky LSB (enough for every rounding mode)."""
    if isinstance(x, np.floating):
        x = float(x)
    if isinstance(x, float):
        if x != x:
            return 0, 0, 0, NAN
        if x in (float("inf"), float("-inf")):
            return int(x < 0), 0, 0, INF
        if x == 0:
            return int(math.copysign(1.0, x) < 0), 0, 0, ZERO
        x = Fraction(x)
    elif isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Rational, np.integer)):
        raise TypeError(f"values: expected ints, Fractions or floats, got {type(x).__name__}")
    x = Fraction(int(x)) if isinstance(x, np.integer) else Fraction(x)
    sign = int(x < 0)
    num, den = abs(x.numerator), x.denominator
    if num == 0:
        return 0, 0, 0, ZERO
    if den & (den - 1) == 0:
        return sign, num, -(den.bit_length() - 1), NORMAL
    k = max(0, extra_bits - (num.bit_length() - den.bit_length()) + 1)
    quo, rem = divmod(num << k, den)
    return sign, quo | int(rem != 0), -k, NORMAL


def round(values, *, fmt, rm=RNE, saturate=False):
    """Round exact numbers (ints, ``Fraction``s, floats; ``-0.0``, ``inf``, ``nan``
    allowed) to ``fmt``; returns ``(patterns, flags)`` shaped like ``values``.

    A NaN gives the canonical NaN (no flags); an infinity gives Inf (canonical NaN
    with NV for "fn" formats, +-max finite with ``saturate``).  ``rm`` must be
    0..4: the reserved codes 5..7 raise ``ValueError``.
    """
    fmt = _check_format("fmt", fmt)
    arr = np.asarray(values, dtype=object)
    rm = _rm_array(rm, arr.shape, ROUNDING_MODES)
    parts = [_exact_parts(v, fmt.man_bits + 6) for v in arr.reshape(-1)]
    sign = np.array([p[0] for p in parts], dtype=bool).reshape(arr.shape)
    mag = np.empty(arr.shape, dtype=object)
    mag.reshape(-1)[:] = [p[1] for p in parts]
    exp = np.array([p[2] for p in parts], dtype=np.int64).reshape(arr.shape)
    kind = np.array([p[3] for p in parts], dtype=np.int64).reshape(arr.shape)
    if not fmt.has_nan and (kind == NAN).any():
        raise ValueError(f"values: a NaN cannot be rounded to {fmt!r}, which has no NaN")
    out, flags = _round_core(sign, mag, exp, fmt, rm, saturate)
    inf_pat, inf_flags = _special_inf(sign, fmt, saturate)
    out = np.where(kind == INF, inf_pat, out)
    flags = np.where(kind == INF, inf_flags, flags)
    if fmt.has_nan:
        out = np.where(kind == NAN, _U64(fmt.canonical_nan), out)
        flags = np.where(kind == NAN, _U64(0), flags)
    return out.astype(_U64), flags.astype(_U64)


# -- operations --------------------------------------------------------------------------------

def convert(patterns, *, src, dst, rm=RNE, saturate=False):
    """Convert ``src`` patterns to ``dst`` with one rounding; returns ``(patterns, flags)``.

    NaN -> canonical NaN (NV for a signalling NaN); +-Inf -> +-Inf ("fn"
    destination: canonical NaN with NV; ``saturate``: +-max finite); +-0 -> +-0;
    finite values round per ``rm`` (scalar or per element; 5..7 give the
    canonical NaN with NV).
    """
    src, dst = _check_format("src", src), _check_format("dst", dst)
    p = src.check("patterns", patterns)
    rm = _rm_array(rm, p.shape, _RM_CODES)
    d = _decode(p, src)
    if not dst.has_nan and ((d.cls == NAN).any() or (rm >= 5).any()):
        raise ValueError(f"convert: {dst!r} has no NaN for a NaN pattern or a reserved rounding mode")
    sign = d.sign.astype(bool)
    finite = d.cls <= NORMAL
    mag = np.where(finite, d.significand, _U64(0))
    good_rm = rm < 5
    out, flags = _round_core(sign, mag, d.exponent - src.man_bits, dst, np.where(good_rm, rm, RNE), saturate)
    inf_pat, inf_flags = _special_inf(sign, dst, saturate)
    out = np.where(d.cls == INF, inf_pat, out)
    flags = np.where(d.cls == INF, inf_flags, flags)
    if dst.has_nan:
        nan = (d.cls == NAN) | ~good_rm
        out = np.where(nan, _U64(dst.canonical_nan), out)
        flags = np.where(nan, np.where(d.signalling | ~good_rm, NV, 0), flags)
    return out.astype(_U64), flags.astype(_U64)


def fused_dot(a, b, c, *, src, dst, rm, scale=None):
    """``round_dst(2**scale * sum_i a[:, i] * b[:, i] + c)`` with a single rounding.

    a, b : (n, K) ``src`` patterns, K >= 1;  c : (n,) ``dst`` patterns (``dst``
    has a NaN: not "finite"); rm : scalar or (n,) rounding-mode codes 0..7 (5..7
    reserved: canonical NaN, NV); scale : None or (n,) integers, a power of two
    on the products (not on c), as the shared scales of MX blocks give.
    Returns ``(result, fflags)``, (n,) uint64 each.  Specials: any NaN operand ->
    canonical NaN; NV for a signalling NaN operand, for Inf * 0, and for Inf - Inf
    among the products and c (when no operand is NaN); otherwise an infinite
    product or c gives that infinity exactly.  The exact sum of finite terms is
    rounded once (subnormals kept, tininess after rounding); an exactly zero sum
    is -0 when every term is -0, +0 for other all-zero or cancelling sums, and -0
    for those under RDN.
    """
    src, dst = _check_format("src", src), _check_format("dst", dst)
    if not dst.has_nan:
        raise ValueError(f"fused_dot: dst {dst!r} has no NaN for invalid results")
    a = src.check("a", a)
    b = src.check("b", b)
    c = dst.check("c", c)
    if a.ndim != 2 or a.shape != b.shape or a.shape[1] < 1:
        raise ValueError(f"fused_dot: expected a and b of one shape (n, K) with K >= 1; got {a.shape}, {b.shape}")
    if c.shape != a.shape[:1]:
        raise ValueError(f"fused_dot: expected c of shape ({a.shape[0]},) to match a {a.shape}; got {c.shape}")
    n = a.shape[0]
    if scale is None:
        scale = np.zeros(n, dtype=np.int64)
    else:
        scale = np.asarray(_int_array("scale", scale))
        if scale.shape != (n,):
            raise ValueError(f"fused_dot: expected scale of shape ({n},); got {scale.shape}")
        if scale.size and max(abs(int(v)) for v in scale.flat) >= 1 << 20:
            raise ValueError("fused_dot: scale must lie in -2**20..2**20")
        scale = scale.astype(np.int64)
    rm = _rm_array(rm, (n,), _RM_CODES)
    da, db, dc = _decode(a, src), _decode(b, src), _decode(c, dst)

    # Specials.
    a_inf, b_inf, c_inf = da.cls == INF, db.cls == INF, dc.cls == INF
    a_zero, b_zero = da.cls == ZERO, db.cls == ZERO
    any_nan = (da.cls == NAN).any(axis=1) | (db.cls == NAN).any(axis=1) | (dc.cls == NAN)
    any_snan = da.signalling.any(axis=1) | db.signalling.any(axis=1) | dc.signalling
    inf_times_zero = ((a_inf & b_zero) | (a_zero & b_inf)).any(axis=1)
    p_sign = (da.sign ^ db.sign).astype(bool)
    p_inf = (a_inf | b_inf) & ~(a_zero | b_zero) & ~(da.cls == NAN) & ~(db.cls == NAN)
    c_sign = dc.sign.astype(bool)
    pos_inf = (p_inf & ~p_sign).any(axis=1) | (c_inf & ~c_sign)
    neg_inf = (p_inf & p_sign).any(axis=1) | (c_inf & c_sign)
    inf_minus_inf = pos_inf & neg_inf & ~any_nan & ~inf_times_zero
    bad_rm = rm >= 5
    nan_out = any_nan | inf_times_zero | inf_minus_inf | bad_rm
    nv = any_snan | inf_times_zero | inf_minus_inf | bad_rm
    inf_out = (pos_inf | neg_inf) & ~nan_out

    # Finite terms: exact integer significands aligned to the lowest exponent of a nonzero term.
    p_finite = (da.cls <= NORMAL) & (db.cls <= NORMAL)
    if 2 * src.precision <= 64:
        p_sig = _obj(np.where(p_finite, da.significand * db.significand, _U64(0)))
    else:
        p_sig = _obj(np.where(p_finite, da.significand, _U64(0))) * _obj(np.where(p_finite, db.significand, _U64(0)))
    p_exp = da.exponent + db.exponent - 2 * src.man_bits + scale[:, None]
    c_sig = _obj(np.where(dc.cls <= NORMAL, dc.significand, _U64(0)))[:, None]
    c_exp = (dc.exponent - dst.man_bits)[:, None]
    sigs = np.concatenate([p_sig, c_sig], axis=1)
    exps = np.concatenate([p_exp, c_exp], axis=1)
    signs = np.concatenate([p_sign, c_sign[:, None]], axis=1)
    c_nonzero = (dc.cls == SUBNORMAL) | (dc.cls == NORMAL)
    nonzero = np.concatenate([p_finite & ~a_zero & ~b_zero, c_nonzero[:, None]], axis=1)
    big = np.iinfo(np.int64).max
    base = np.min(np.where(nonzero, exps, big), axis=1)
    base = np.where(base == big, 0, base)
    shift = np.where(nonzero, exps - base[:, None], 0)
    terms = np.where(signs, -sigs, sigs) << shift
    total = np.asarray(terms.sum(axis=1), dtype=object).reshape(n)
    neg = (total < 0).astype(bool)
    mag = np.abs(total)

    # Sign of an exact zero: -0 only if every term is -0, or for any cancelling/mixed sum under RDN.
    exact_zero = mag == 0
    all_neg, all_pos = signs.all(axis=1), (~signs).all(axis=1)
    zero_sign = np.where(nonzero.any(axis=1), rm == RDN, all_neg | (~all_neg & ~all_pos & (rm == RDN)))
    sign = np.where(exact_zero, zero_sign, neg)
    safe_rm = np.where(bad_rm, RNE, rm)
    out, flags = _round_core(sign.astype(bool), mag, base, dst, safe_rm)

    inf_pat, inf_flags = _special_inf(neg_inf & ~pos_inf, dst, False)
    out = np.where(inf_out, inf_pat, out)
    flags = np.where(inf_out, inf_flags, flags)
    out = np.where(nan_out, _U64(dst.canonical_nan), out)
    flags = np.where(nan_out, np.where(nv, NV, 0), flags)
    return out.astype(_U64), flags.astype(_U64)


def fma(a, b, c, *, fmt, rm):
    """``round(a * b + c)`` on (n,) ``fmt`` patterns: ``fused_dot`` with K = 1, src = dst = fmt."""
    fmt = _check_format("fmt", fmt)
    a = fmt.check("a", a)
    b = fmt.check("b", b)
    c = fmt.check("c", c)
    if a.ndim != 1 or a.shape != b.shape or c.shape != a.shape:
        raise ValueError(f"fma: expected a, b, c of one shape (n,); got {a.shape}, {b.shape}, {c.shape}")
    return fused_dot(a[:, None], b[:, None], c, src=fmt, dst=fmt, rm=rm)
