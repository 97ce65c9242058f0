"""VS-Quant: per-vector scaled integer quantization with two-level scales, and its exact products.

A float tensor is cut along its last (reduction) axis into vectors of V
elements.  With ``qmax = 2**(N-1) - 1`` (signed) or ``2**N - 1`` (unsigned,
post-ReLU activations) and max-abs calibration:

    s_v    = max|x_v| / qmax                        per-vector ideal scale
    gamma  = max_v s_v / (2**M - 1)                 fp32, per channel (weights) or per tensor
    sq_v   = round(s_v / gamma)   (or ceil)         M-bit unsigned integer scale
    x_q    = clamp(rint(x / (sq_v * gamma)), -qmax, qmax)     (0..qmax unsigned)

``rint`` rounds half to even.  A vector whose integer scale is 0 (all zeros,
or tiny next to its channel's largest vector) quantizes to all zeros.  With
``scale_bits=None`` each vector keeps its fp32 scale ``s_v`` (the ideal the
M-bit scales approximate).  ``dequantize`` gives ``x_q * sq_v * gamma``.

The hardware computes, per vector pair, ``dot(a_q, b_q) * sq_a * sq_b`` in
exact integers and accumulates them wide; ``gamma_a * gamma_b`` is applied
once per output in floating point (``vsq_matmul``).
"""

from dataclasses import dataclass

import numpy as np

from ._checks import bit_patterns, bool_param, codes, int_param
from . import integer


__all__ = ["VSQTensor", "quantize", "dequantize", "quantize_uniform", "vsq_matmul", "vsq_mac",
           "sqnr_db"]


@dataclass(frozen=True)
class VSQTensor:
    """A VS-Quant tensor: ``q`` (..., nvec, V) int64 elements, ``scale`` (..., nvec) integer
    (or float64 when ``scale_bits`` is None) per-vector scales, ``gamma`` float32 of shape
    (..., 1) per channel or () per tensor; ``length`` is the unpadded axis length."""
    q: np.ndarray
    scale: np.ndarray
    gamma: np.ndarray
    bits: int
    scale_bits: int | None
    vector: int
    signed: bool
    length: int


def _check_float(name, x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float array, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"{name}: expected at least one element along the last axis, got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = x[~np.isfinite(x)][0]
        raise ValueError(f"{name}: NaN or Inf in the input ({bad}); quantize finite values only")
    big = np.abs(x).max()
    if big > np.float64(FLOAT32_MAX):           # a Python float would be cast to float16 (inf) there
        raise ValueError(f"{name}: {big:g} exceeds the float32 range (|x| <= {FLOAT32_MAX:g}); the scales are float32")
    return x.astype(np.float64)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_tensor(name, t):
    if not isinstance(t, VSQTensor):
        raise TypeError(f"{name}: expected a VSQTensor (from quantize), got {type(t).__name__}")


def _qmax(bits, signed):
    return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1


def _vectors(x, vector, pad):
    length = x.shape[-1]
    if length % vector:
        if not pad:
            raise ValueError(f"the last axis ({length}) is not a multiple of the vector length {vector}; "
                             f"pass pad=True to pad it with zeros")
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (vector - length % vector,))], axis=-1)
    return x.reshape(x.shape[:-1] + (x.shape[-1] // vector, vector)), length


def quantize(x, *, vector=16, bits=4, scale_bits=6, signed=True, granularity="channel",
             scale_rounding="round", pad=False):
    """VS-Quant ``x`` along its last axis; see the module docstring for the rule.

    vector: V (1..4096); bits: N (2..8); scale_bits: M (1..8) or None for fp32
    per-vector scales; signed: False for non-negative (post-ReLU) inputs;
    granularity: "channel" (one gamma per index of the leading axes) or
    "tensor"; scale_rounding: "round" (nearest, ties to even) or "ceil"
    (never clips a vector's maximum); pad: zero-pad an axis that V does not
    divide (otherwise that is an error).
    """
    x = _check_float("x", x)
    signed, pad = bool_param("signed", signed), bool_param("pad", pad)
    int_param("vector", vector, 1, 4096)
    int_param("bits", bits, 2, 8)
    if scale_bits is not None:
        int_param("scale_bits", scale_bits, 1, 8)
    if granularity not in ("channel", "tensor"):
        raise ValueError(f"granularity must be 'channel' or 'tensor', got {granularity!r}")
    if scale_rounding not in ("round", "ceil"):
        raise ValueError(f"scale_rounding must be 'round' or 'ceil', got {scale_rounding!r}")
    if not signed and (x < 0).any():
        raise ValueError(f"unsigned quantization needs non-negative (post-ReLU) input; got {x.min()}")
    xv, length = _vectors(x, vector, pad)
    qmax = _qmax(bits, signed)
    s = np.abs(xv).max(axis=-1) / qmax                                # (..., nvec)
    if scale_bits is None:
        gamma = np.ones(() if granularity == "tensor" else s.shape[:-1] + (1,), dtype=np.float32)
        scale = s.astype(np.float32).astype(np.float64)
        step = scale
    else:
        smax = s.max() if granularity == "tensor" else s.max(axis=-1, keepdims=True)
        gamma = (np.asarray(smax) / ((1 << scale_bits) - 1)).astype(np.float32)
        g = gamma.astype(np.float64)
        ratio = np.divide(s, g, out=np.zeros_like(s), where=g > 0)
        scale = (np.ceil(ratio) if scale_rounding == "ceil" else np.rint(ratio))
        scale = np.clip(scale, 0, (1 << scale_bits) - 1).astype(np.int64)
        step = scale * g
    q = np.divide(xv, step[..., None], out=np.zeros_like(xv), where=step[..., None] > 0)
    q = np.clip(np.rint(q), -qmax if signed else 0, qmax).astype(np.int64)
    return VSQTensor(q, scale, gamma, bits, scale_bits, vector, signed, length)


def dequantize(t):
    """The float64 values ``t`` stands for, with the padding removed."""
    _check_tensor("dequantize", t)
    step = t.scale * t.gamma.astype(np.float64)
    x = (t.q * step[..., None]).reshape(t.q.shape[:-2] + (-1,))
    return x[..., :t.length]


def quantize_uniform(x, *, bits, granularity="channel", signed=True):
    """Plain max-abs integer quantization with fp32 scales, per channel or per tensor; returns
    the dequantized float64 array (the INT-N baselines VS-Quant is compared with)."""
    x = _check_float("x", x)
    signed = bool_param("signed", signed)
    int_param("bits", bits, 2, 16)
    if granularity not in ("channel", "tensor"):
        raise ValueError(f"granularity must be 'channel' or 'tensor', got {granularity!r}")
    qmax = _qmax(bits, signed)
    amax = np.abs(x).max() if granularity == "tensor" else np.abs(x).max(axis=-1, keepdims=True)
    step = (np.asarray(amax) / qmax).astype(np.float32).astype(np.float64)
    q = np.divide(x, step, out=np.zeros_like(x), where=step > 0)
    return np.clip(np.rint(q), -qmax if signed else 0, qmax) * step


def vsq_matmul(w, x):
    """``x @ w.T`` for VS-Quant tensors w (out, in) and x (tokens, in), as the hardware does it.

    The integer sum over vectors of ``dot(x_q, w_q) * sq_x * sq_w`` is exact
    (int64); ``gamma_x * gamma_w`` is applied once per output in float64.
    Both must use integer scales and the same vector length.
    """
    _check_tensor("vsq_matmul: w", w)
    _check_tensor("vsq_matmul: x", x)
    if w.vector != x.vector or w.q.shape[-2:] != x.q.shape[-2:] or w.q.ndim != 3 or x.q.ndim != 3:
        raise ValueError(f"vsq_matmul: expected w (out, in) and x (tokens, in) quantized with the same "
                         f"vector length and axis; got {w.q.shape} and {x.q.shape}")
    if w.scale_bits is None or x.scale_bits is None:
        raise ValueError("vsq_matmul: both operands need integer (M-bit) scales")
    acc = np.zeros((x.q.shape[0], w.q.shape[0]), dtype=np.int64)
    for v in range(w.q.shape[1]):
        acc += (x.q[:, v, :] @ w.q[:, v, :].T) * (x.scale[:, v, None] * w.scale[None, :, v])
    gx = x.gamma.astype(np.float64).reshape(-1, 1) if x.gamma.ndim else np.float64(x.gamma)
    gw = w.gamma.astype(np.float64).reshape(1, -1) if w.gamma.ndim else np.float64(w.gamma)
    return acc * (gx * gw)


def vsq_mac(op, a, b, sa, sb, *, width, scale_width, a_signed, b_signed, acc_width):
    """Golden model of the ``vsq_mac`` unit: a CLEAR / MAC / READ stream.

    op (n,), a and b (n, V) ``width``-bit lane patterns, sa and sb (n,)
    ``scale_width``-bit unsigned scales.  MAC adds ``dot(a, b) * sa * sb``.
    ``acc_width`` (at most 62) must hold one such sum of extreme operands.
    Returns ``(result, overflow)`` as ``integer.accumulate`` does.
    """
    width = int_param("vsq_mac: width", width, 2, 8)
    scale_width = int_param("vsq_mac: scale_width", scale_width, 1, 8)
    acc_width = int_param("vsq_mac: acc_width", acc_width, 2, 62)
    a_signed, b_signed = bool_param("vsq_mac: a_signed", a_signed), bool_param("vsq_mac: b_signed", b_signed)
    op = codes("op", op, (0, 1, 2, 3), shape_tail=())
    a = bit_patterns("a", a, width)
    b = bit_patterns("b", b, width)
    sa = bit_patterns("sa", sa, scale_width).astype(np.int64)
    sb = bit_patterns("sb", sb, scale_width).astype(np.int64)
    n = op.shape[0]
    if (a.ndim != 2 or a.shape != b.shape or a.shape[0] != n or a.shape[1] == 0 or sa.shape != (n,)
            or sb.shape != (n,)):
        raise ValueError(f"vsq_mac: expected op, sa, sb (n,) and a, b (n, V) with V >= 1; got "
                         f"{op.shape}, {a.shape}, {b.shape}, {sa.shape}, {sb.shape}")
    # A MAC adds dot(a, b) * sa * sb with 0 <= sa * sb <= (2**scale_width - 1)**2: the range of
    # that many dot products, so the minimum is int_dot's for that many accumulations.
    lanes = a.shape[1]
    min_width = integer.accumulator_width(lanes, width, a_signed, b_signed, ((1 << scale_width) - 1) ** 2)
    if acc_width < min_width:
        raise ValueError(f"vsq_mac: acc_width must be in {min_width}..62 for {lanes} lanes and "
                         f"{scale_width}-bit scales, got {acc_width}")
    av = integer.to_signed(a, width) if a_signed else a.astype(np.int64)
    bv = integer.to_signed(b, width) if b_signed else b.astype(np.int64)
    step = (av * bv).sum(axis=1) * sa * sb
    return integer.accumulate(op, step, acc_width=acc_width, is_signed=a_signed or b_signed)


def sqnr_db(x, x_hat):
    """Signal-to-quantization-noise ratio in dB: ``10 log10(sum x^2 / sum (x - x_hat)^2)``.

    ``x`` and ``x_hat`` are real arrays of the same shape (no broadcasting).  No noise
    gives ``inf`` (also for an all-zero ``x``); an all-zero ``x`` with noise gives ``-inf``.
    """
    x, x_hat = np.asarray(x), np.asarray(x_hat)
    for name, arr in (("x", x), ("x_hat", x_hat)):
        if arr.dtype.kind not in "uif":
            raise TypeError(f"sqnr_db: {name} must be a real (integer or float) array, got dtype {arr.dtype}")
    if x.shape != x_hat.shape or x.size == 0:
        raise ValueError(f"sqnr_db: x and x_hat must have the same non-empty shape, got x {x.shape} "
                         f"and x_hat {x_hat.shape}")
    x, x_hat = x.astype(np.float64), x_hat.astype(np.float64)
    signal, noise = np.sum(x ** 2), np.sum((x - x_hat) ** 2)
    if noise == 0:
        return float("inf")
    return float("-inf") if signal == 0 else float(10 * np.log10(signal / noise))
