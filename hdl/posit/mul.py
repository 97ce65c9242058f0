"""``posit_mul``: posit<N, ES> multiplication, rounded once (2022 standard).

Each accepted operation carries ``a`` and ``b`` (N-bit posit patterns) and
returns ``result`` = ``a * b`` rounded to nearest, ties to even on the pattern,
never to 0 or NaR from a nonzero real; NaR in gives NaR out, 0 times a real
gives 0.

Datapath: decode both operands -> add the scales and multiply the M-bit
significands (M = fbits + 1, hidden bit included) exactly into 2M bits -> one
normalizing step (the product of two significands in [1, 2) is in [1, 4)) ->
encode and round, the product's low bits folded into the sticky bit.  Pipeline
cut points in fill order: ``product`` (after the multiplier), ``decode``,
``operands``, ``regime`` (inside the decoders, after the regime run count),
``layout`` (inside the encoder, before the rounding adder), ``partial``
(between the DSP-sized partial products and their sum), ``normalized``
(after the normalizing step, before the encoder).  Latency is ``depth + 1``.
"""

from amaranth import *

from ..common import multiply as dsp_parts
from .codec import decode_pair, encode
from .unit import PositUnit


__all__ = ["PositMul", "CUT_POINTS", "decoded_operands", "partial_products", "sum_partials", "multiply",
           "normalize_product"]


CUT_POINTS = ("product", "decode", "operands", "regime", "layout", "partial", "normalized")


class PositMul(PositUnit):
    """posit<N, ES> multiplier; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..7; latency = depth + 1).
    """

    def __init__(self, *, N=32, ES=2, depth=1):
        super().__init__("PositMul", N=N, ES=ES, depth=depth, cuts=CUT_POINTS)

    def elaborate(self, platform):
        m = Module()
        n, es, sig_w = self.N, self.ES, self.fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", a=self.a, b=self.b)
        # Negating the patterns first maps to fewer LUTs here (the product is the long path).
        decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], negate_pattern=True)
        s = pipe.cut("decode", **decoded_operands(decoded["a"], decoded["b"]))
        if pipe.registered("partial"):
            s = pipe.cut("partial", **partial_products(m, s, sig_w))
            s = pipe.cut("product", **sum_partials(m, s, sig_w))
        else:
            # One product: yosys maps it to fewer LUTs than the explicit sum of partial products.
            s = pipe.cut("partial", **s)
            s = pipe.cut("product", **multiply(m, s, sig_w))
        s = pipe.cut("normalized", **normalize_product(s, sig_w))
        pipe.output(self.result.eq(encode(m, pipe, n, es, dict(s, sticky=C(0, 1)))))
        return m


# The multiplier's datapath, one function per stage (see ``add.py``).

def decoded_operands(da, db):
    """Sign and scale of the product, the two significands, and its special cases."""
    return dict(sign=da.sign ^ db.sign, scale=da.scale + db.scale,
                a_sig=da.sig, b_sig=db.sig, zero=da.zero | db.zero, nar=da.nar | db.nar)


def partial_products(m, s, sig_w):
    """The significands' partial products (``hdl/common/multiply.py``), each small enough for one
    DSP multiplier, so a pipeline register can go between them and their sum."""
    return dict(sign=s["sign"], scale=s["scale"], zero=s["zero"], nar=s["nar"],
                **dsp_parts.partial_products(m, s["a_sig"], s["b_sig"]))


def sum_partials(m, s, sig_w):
    """The exact 2 * sig_w-bit product of the significands (in [1, 4) with 2 * sig_w - 2 fraction
    bits) from ``partial_products``."""
    return dict(sign=s["sign"], scale=s["scale"], product=dsp_parts.sum_partials(m, s, 2 * sig_w),
                zero=s["zero"], nar=s["nar"])


def multiply(m, s, sig_w):
    """The exact product in one stage, as one multiplication (``partial_products`` and
    ``sum_partials`` give the same bits in two)."""
    product = Signal(2 * sig_w, name="product")
    m.d.comb += product.eq(s["a_sig"] * s["b_sig"])
    return dict(sign=s["sign"], scale=s["scale"], product=product, zero=s["zero"], nar=s["nar"])


def normalize_product(s, sig_w):
    """One normalizing step: ``frac`` (2 * sig_w - 1 bits) lies below the product's leading one."""
    product = s["product"]
    carry = product[2 * sig_w - 1]
    frac = Mux(carry, product[:2 * sig_w - 1], Cat(C(0, 1), product[:2 * sig_w - 2]))
    return dict(sign=s["sign"], scale=s["scale"] + carry, frac=frac, zero=s["zero"], nar=s["nar"])
