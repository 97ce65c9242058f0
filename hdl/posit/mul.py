"""``posit_mul``: posit<N, ES> multiplication, rounded once (2022 standard).

Each accepted operation carries ``a`` and ``b`` (N-bit posit patterns) and
returns ``result`` = ``a * b`` rounded to nearest, ties to even on the pattern,
never to 0 or NaR from a nonzero real; NaR in gives NaR out, 0 times a real
gives 0.

Datapath, by default in two's complement throughout (nothing is negated): decode both
operands into ``2**scale * sig`` with ``sig = 1 + f`` or ``-2 + f``
(``PositFields.signed_sig``, M + 1 bits with M = fbits + 1) -> add the scales
and multiply the signed significands exactly into 2M + 1 bits (the product
lies in (-4, -1) or [1, 4]) -> one normalizing step -> encode and round in
two's complement (``PositEncoder(twos_complement=True)``), the product's low
bits folded into the sticky bit.  Pipeline cut points in fill order:
``product`` (after the multiplier), ``decode``, ``operands``, ``regime``
(inside the decoders, after the regime run count), ``layout`` (inside the
encoder, before the rounding adder), ``partial`` (between the DSP-sized
partial products and their sum), ``normalized`` (after the normalizing step,
before the encoder).  At depth 0 the decoders find the regime runs by steps
(``PositFields(regime_by_steps=True)``: posit<32,2> on ECP5-85F, 922 LUT4
at 24.5 MHz against 991 at 26.1 with the count, seed 1).  Zero and NaR,
known from the operands, clear the rounding adder's inputs
(``PositRound(early_specials=True)``).  Latency is ``depth + 1``.

With ``twos_complement=False`` it is in sign-magnitude form instead: the
patterns are negated to magnitudes, the M-bit significands (in [1, 2)) give an
unsigned 2M-bit product in [1, 4), and the encoder takes a magnitude.  The
two's-complement product is one bit wider per operand, which costs nothing in
DSP blocks and more LUTs than the negations save when the multiplier is built
from LUTs (posit<32,2> on ECP5-85F at depth 1: 806 against 918 LUT4 with
DSPs, 5399 against 5348 without).  ``posit_alu`` and ``posit_quire``
(``quire_mac.py``) use the sign-magnitude functions: their encoder or quire
takes a magnitude.
"""

from amaranth import *

from ..common import multiply as dsp_parts
from ..common.params import check_bool
from .codec import decode_pair, encode
from .unit import PositUnit


__all__ = ["PositMul", "CUT_POINTS", "signed_operands", "normalize_signed_product",
           "decoded_operands", "partial_products", "sum_partials", "multiply", "normalize_product", "product_width"]


CUT_POINTS = ("product", "decode", "operands", "regime", "layout", "partial", "normalized")


class PositMul(PositUnit):
    """posit<N, ES> multiplier; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..7; latency = depth + 1), ``twos_complement`` (bool, default
    True: the datapath's form, see the module docstring).
    """

    def __init__(self, *, N=32, ES=2, depth=1, twos_complement=True):
        check_bool("PositMul", "twos_complement", twos_complement)
        super().__init__("PositMul", N=N, ES=ES, depth=depth, cuts=CUT_POINTS)
        self.twos_complement = twos_complement

    def elaborate(self, platform):
        m = Module()
        n, es, sig_w = self.N, self.ES, self.fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        tc = self.twos_complement
        s = pipe.cut("operands", a=self.a, b=self.b)
        # With DSPs the two's-complement form maps to fewer LUT4 (depth 0: 991 at 26.1 MHz against
        # 1020 at 24.9); the sign-magnitude form negates the patterns first, which maps to fewer
        # LUTs than decoding magnitudes after the fields (the product is the long path).
        if tc:
            decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], signed_form=True, regime_by_steps=not self.depth)
            s = pipe.cut("decode", **signed_operands(decoded["a"], decoded["b"]))
        else:
            decoded = decode_pair(m, pipe, n, es, s["a"], s["b"], negate_pattern=True, regime_by_steps=not self.depth)
            s = pipe.cut("decode", **decoded_operands(decoded["a"], decoded["b"]))
        if pipe.registered("partial"):
            s = pipe.cut("partial", **partial_products(m, s, sig_w))
            s = pipe.cut("product", **sum_partials(m, s, sig_w))
        else:
            # One product: yosys maps it to fewer LUTs than the explicit sum of partial products.
            s = pipe.cut("partial", **s)
            s = pipe.cut("product", **multiply(m, s, sig_w))
        s = pipe.cut("normalized", **(normalize_signed_product if tc else normalize_product)(s, sig_w))
        # Zero and NaR come from the operands, so they clear the rounding adder's inputs rather than
        # override its output (ECP5-85F, <32,2> at depth 0, mapped for area: 590 LUT4 against 627).
        pipe.output(self.result.eq(encode(m, pipe, n, es, dict(s, sticky=C(0, 1)), twos_complement=tc,
                                          early_specials=True)))
        return m


# The multiplier's datapath, one function per stage (see ``add.py``).  ``partial_products``,
# ``sum_partials`` and ``multiply`` take either form: signed significands give a signed product.

def signed_operands(da, db):
    """The two's-complement form (``PositFields.signed_form``): the product's sign and scale, the
    two signed significands, and its special cases."""
    return dict(sign=da.sign ^ db.sign, scale=da.signed_scale + db.signed_scale,
                a_sig=da.signed_sig, b_sig=db.signed_sig, zero=da.zero | db.zero, nar=da.nar | db.nar)


def normalize_signed_product(s, sig_w):
    """One normalizing step of the signed product (2 * sig_w + 1 bits, 2 * sig_w - 2 below the
    point, in (-4, -1) or [1, 4]) into ``2**scale * (1 + frac)`` or ``2**scale * (-2 + frac)``:
    ``frac`` (2 * sig_w - 1 bits) lies below the bit of weight 1 or 2 that differs from the
    sign, and only +4 (``(-2) * (-2)``) moves the scale by 2 with ``frac = 0``."""
    product, sign = s["product"], s["sign"]
    carry = product[2 * sig_w - 1] ^ sign
    four = product[2 * sig_w] & ~sign
    frac = Mux(carry, product[:2 * sig_w - 1], Cat(C(0, 1), product[:2 * sig_w - 2]))
    return dict(sign=sign, scale=s["scale"] + Mux(four, 2, carry), frac=frac, zero=s["zero"], nar=s["nar"])


def decoded_operands(da, db):
    """Sign and scale of the product, the two significands, and its special cases."""
    return dict(sign=da.sign ^ db.sign, scale=da.scale + db.scale,
                a_sig=da.sig, b_sig=db.sig, zero=da.zero | db.zero, nar=da.nar | db.nar)


def partial_products(m, s, sig_w):
    """The significands' partial products (``hdl/common/multiply.py``), each small enough for one
    DSP multiplier, so a pipeline register can go between them and their sum."""
    return dict(sign=s["sign"], scale=s["scale"], zero=s["zero"], nar=s["nar"],
                **dsp_parts.partial_products(m, s["a_sig"], s["b_sig"]))


def product_width(sig_w, signed):
    """Bits of the exact product of two significands of sig_w bits (hidden bit included): 2 *
    sig_w unsigned (in [1, 4)); 2 * sig_w + 1 of the signed form's (in (-4, -1) or [1, 4], the
    top bit 1 for +4 and for every negative product)."""
    return 2 * sig_w + signed


def sum_partials(m, s, sig_w):
    """The exact product of the significands (2 * sig_w - 2 fraction bits, ``product_width``)
    from ``partial_products``."""
    signed = any(Value.cast(v).shape().signed for key, v in s.items() if key.startswith("partial_"))
    return dict(sign=s["sign"], scale=s["scale"],
                product=dsp_parts.sum_partials(m, s, product_width(sig_w, signed)),
                zero=s["zero"], nar=s["nar"])


def multiply(m, s, sig_w):
    """The exact product in one stage, as one multiplication (``partial_products`` and
    ``sum_partials`` give the same bits in two)."""
    product = Signal(product_width(sig_w, Value.cast(s["a_sig"]).shape().signed), name="product")
    m.d.comb += product.eq(s["a_sig"] * s["b_sig"])
    return dict(sign=s["sign"], scale=s["scale"], product=product, zero=s["zero"], nar=s["nar"])


def normalize_product(s, sig_w):
    """One normalizing step: ``frac`` (2 * sig_w - 1 bits) lies below the product's leading one."""
    product = s["product"]
    carry = product[2 * sig_w - 1]
    frac = Mux(carry, product[:2 * sig_w - 1], Cat(C(0, 1), product[:2 * sig_w - 2]))
    return dict(sign=s["sign"], scale=s["scale"] + carry, frac=frac, zero=s["zero"], nar=s["nar"])
