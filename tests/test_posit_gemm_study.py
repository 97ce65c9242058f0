"""The posit32-with-quire vs float32 GEMM study: each GEMM against exact rational arithmetic,
the study's structure on a tiny configuration, and the `accuracy` verb around it."""

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import build
from golden import fp, posit
from golden import posit_gemm_study as study

ROOT = Path(__file__).resolve().parent.parent


def spread(rng, shape, lo=-12, hi=6):
    """float32 values with magnitudes 2**lo .. 2**hi, so that sums round at every step."""
    return (rng.standard_normal(shape) * 2.0 ** rng.integers(lo, hi, shape)).astype(np.float32)


def f32_fraction(x):
    return Fraction(float(x))          # float32 -> float64 is exact


def posit_values(bits, fmt):
    return np.array(fmt.values(bits), dtype=object).reshape(np.shape(bits))


@pytest.mark.parametrize("n,es", [(32, 2), (16, 1), (8, 0), (8, 2)])
def test_quire_gemm_is_the_fraction_dot_product_rounded_once(seed, n, es):
    """Random patterns (NaR replaced by 1): from_fraction of the exact Fraction dot product."""
    rng = np.random.default_rng(seed)
    fmt = posit.PositFormat.get(n, es)
    a = rng.integers(0, 1 << n, (4, 9)).astype(np.uint64)
    b = rng.integers(0, 1 << n, (9, 3)).astype(np.uint64)
    a[a == fmt.nar], b[b == fmt.nar] = 1, 1
    a[0, :3] = 0                                   # zeros take part too
    got = study.posit_gemm_quire(a, b, n=n, es=es)
    va, vb = posit_values(a, fmt), posit_values(b, fmt)
    want = np.array([[fmt.from_fraction(sum(va[i, t] * vb[t, j] for t in range(9))) for j in range(3)]
                     for i in range(4)], dtype=np.uint64)
    np.testing.assert_array_equal(got, want)


def test_quire_gemm_equals_the_golden_quire_on_float32_inputs(seed):
    rng = np.random.default_rng(seed)
    a = posit.from_float32(study._f32_bits(spread(rng, (5, 16), -40, 30)))
    b = posit.from_float32(study._f32_bits(spread(rng, (16, 4), -40, 30)))
    want = np.array([[posit.Quire().add_product(a[i], b[:, j]).to_posit() for j in range(4)] for i in range(5)],
                    dtype=np.uint64)
    np.testing.assert_array_equal(study.posit_gemm_quire(a, b), want)


def test_quire_gemm_keeps_what_a_rounding_per_add_loses():
    """maxpos-scale terms cancel exactly in the quire: 2**100 + 1 - 2**100 = 1."""
    fmt = posit.PositFormat.get(32, 2)
    big, one = fmt.from_fraction(2 ** 100), fmt.one
    a = np.array([[big, one, fmt.from_fraction(-(2 ** 100))]], dtype=np.uint64)
    b = np.array([[fmt.one], [one], [fmt.one]], dtype=np.uint64)
    assert int(study.posit_gemm_quire(a, b)[0, 0]) == fmt.one
    assert int(study.posit_gemm_rounded(a, b)[0, 0]) == 0


def test_quire_gemm_breaks_a_tie_by_a_term_far_below_it():
    """1 + 2**-28 is a posit32 tie (27 fraction bits near 1): even gives 1; adding 2**-100
    (exact in the quire) must round up to 1 + 2**-27."""
    fmt = posit.PositFormat.get(32, 2)
    one, half_ulp, tiny = fmt.one, fmt.from_fraction(Fraction(1, 2 ** 28)), fmt.from_fraction(Fraction(1, 2 ** 100))
    b = np.array([[one]] * 3, dtype=np.uint64)
    tie = study.posit_gemm_quire(np.array([[one, half_ulp, 0]], dtype=np.uint64), b)
    above = study.posit_gemm_quire(np.array([[one, half_ulp, tiny]], dtype=np.uint64), b)
    assert int(tie[0, 0]) == one
    assert fmt.value(int(above[0, 0])) == 1 + Fraction(1, 2 ** 27)


def test_quire_gemm_gives_nar_for_every_output_fed_by_a_nar():
    fmt = posit.PositFormat.get(16, 1)
    a = np.full((3, 2), fmt.one, dtype=np.uint64)
    b = np.full((2, 4), fmt.one, dtype=np.uint64)
    a[1, 0], b[1, 2] = fmt.nar, fmt.nar
    got = study.posit_gemm_quire(a, b, n=16, es=1)
    nar = np.zeros((3, 4), dtype=bool)
    nar[1, :], nar[:, 2] = True, True
    np.testing.assert_array_equal(got == fmt.nar, nar)
    assert (got[~nar] == fmt.from_fraction(2)).all()


def test_rounded_posit_gemm_rounds_every_multiply_and_add(seed):
    rng = np.random.default_rng(seed)
    fmt = posit.PositFormat.get(32, 2)
    a = posit.from_float32(study._f32_bits(spread(rng, (3, 8))))
    b = posit.from_float32(study._f32_bits(spread(rng, (8, 3))))
    va, vb = posit_values(a, fmt), posit_values(b, fmt)
    got = study.posit_gemm_rounded(a, b)
    rounded = 0
    for i in range(3):
        for j in range(3):
            acc = Fraction(0)
            for t in range(8):
                prod = fmt.value(fmt.from_fraction(va[i, t] * vb[t, j]))
                new = fmt.value(fmt.from_fraction(acc + prod))
                rounded += new != acc + prod
                acc = new
            assert fmt.value(int(got[i, j])) == acc, (i, j)
    assert rounded > 0, "no add rounded: the case does not exercise the chain"


def reference_float32_chain(a, b, fused):
    """float32 chain over k with Fraction arithmetic, each step rounded by ``fp.round`` (RNE);
    ``fused``: one rounding per step, else the product and the sum each rounded."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    inexact = 0
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = Fraction(0)
            for t in range(a.shape[1]):
                prod = f32_fraction(a[i, t]) * f32_fraction(b[t, j])
                if not fused:
                    prod = fp.to_fraction(fp.round([prod], fmt=fp.FP32)[0], fp.FP32)[0]
                exact = acc + prod
                acc = fp.to_fraction(fp.round([exact], fmt=fp.FP32)[0], fp.FP32)[0]
                inexact += acc != exact
            out[i, j] = float(acc)
    return out, inexact


def test_float32_fma_gemm_rounds_once_per_step(seed):
    rng = np.random.default_rng(seed)
    a, b = spread(rng, (3, 10)), spread(rng, (10, 4))
    got, flags = study.float32_fma_gemm(a, b)
    want, inexact = reference_float32_chain(a, b, fused=True)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert inexact > 0 and not (flags & np.uint64(fp.OF)).any()


def test_float32_gemm_rounds_every_multiply_and_add(seed):
    rng = np.random.default_rng(seed)
    a, b = spread(rng, (3, 10)), spread(rng, (10, 4))
    want, inexact = reference_float32_chain(a, b, fused=False)
    np.testing.assert_array_equal(study.float32_gemm(a, b).view(np.uint32), want.view(np.uint32))
    assert inexact > 0


def test_fma_keeps_the_product_bits_a_rounded_multiply_drops():
    """(1 + 2**-12)**2 - 1 - 2**-11 = 2**-24 exactly: only the fused step keeps it."""
    x = np.float32(1 + 2.0 ** -12)
    a = np.array([[np.float32(-1 - 2.0 ** -11), x]], dtype=np.float32)
    b = np.array([[np.float32(1)], [x]], dtype=np.float32)
    fused, _ = study.float32_fma_gemm(a, b)
    assert float(fused[0, 0]) == 2.0 ** -24
    assert float(study.float32_gemm(a, b)[0, 0]) == 0.0


def test_float32_gemms_round_ties_to_even():
    """1 + 2**-24 and 1 + 3 * 2**-24 are float32 ties: to even gives 1 and 1 + 2**-22."""
    h = np.float32(2.0 ** -12)
    a = np.array([[1, h], [1 + 2.0 ** -23, h]], dtype=np.float32)
    b = np.array([[1], [h]], dtype=np.float32)
    want = [1.0, 1 + 2.0 ** -22]
    assert study.float32_fma_gemm(a, b)[0][:, 0].tolist() == want
    assert study.float32_gemm(a, b)[:, 0].tolist() == want


def test_exact_gemm_and_its_float32_rounding_equal_the_fraction_sum(seed):
    """Including zeros and subnormal inputs."""
    rng = np.random.default_rng(seed)
    a, b = spread(rng, (4, 7), -140, 20), spread(rng, (7, 5), -140, 20)
    a[1, 2], b[3, 0] = 0, np.float32(1e-45)
    num, base = study.exact_gemm(a, b)
    rounded = study.round_float32((num, base))
    for i in range(4):
        for j in range(5):
            want = sum(f32_fraction(a[i, t]) * f32_fraction(b[t, j]) for t in range(7))
            assert Fraction(num[i, j]) * Fraction(2) ** base == want, (i, j)
            assert rounded[i, j].view(np.uint32) == fp.round([want], fmt=fp.FP32)[0][0], (i, j)


def test_errors_are_the_exact_differences_rounded_once(seed):
    rng = np.random.default_rng(seed)
    a, b = spread(rng, (4, 6)), spread(rng, (6, 4))
    a[0, :] = 0                                    # a row of exact zeros
    exact = study.exact_gemm(a, b)
    computed = study.float32_gemm(a, b).astype(np.float64)
    computed[0, 1], computed[2, 2] = 1e-30, np.inf
    err, rel = study.errors(computed, exact)
    num, base = exact
    for i in range(4):
        for j in range(4):
            e = Fraction(num[i, j]) * Fraction(2) ** base
            if not np.isfinite(computed[i, j]):
                assert err[i, j] == rel[i, j] == np.inf
                continue
            d = Fraction(float(computed[i, j])) - e
            assert err[i, j] == float(d), (i, j)
            if e == 0:
                assert np.isnan(rel[i, j])
            else:
                assert rel[i, j] == pytest.approx(float(abs(d) / abs(e)), rel=1e-15, abs=0)
    assert err[0, 1] == 1e-30 and err[0, 0] == 0


def test_tiny_study_has_one_row_per_cell_with_every_method(seed):
    result = study.run(log=lambda *a: None, sizes=(4, 8), seed=seed)
    json.dumps(result, allow_nan=False)
    assert [(r["distribution"], r["n"]) for r in result["rows"]] == [
        ("normal", 4), ("normal", 8), ("uniform", 4), ("uniform", 8)]
    for row in result["rows"]:
        assert list(row["methods"]) == list(study.METHODS)
        for key, s in row["methods"].items():
            assert set(s) == {"mse", "median_rel", "mean_rel", "max_rel", "max_normwise", "exact_share"}
            assert 0 <= s["median_rel"] <= s["max_rel"] < np.inf and s["mse"] >= 0, (key, s)
        assert row["ratio_mse"]["float32"] == 1 and row["ratio_max_rel"]["float32"] == 1
        # the quire result is the exact value rounded once to posit32: within half a posit ulp,
        # which is at most 2**-24 relative for these magnitudes
        assert row["methods"]["posit32_quire"]["max_rel"] <= 2.0 ** -24, row
        assert row["posit_inexact_inputs"] == 0 and row["fma_overflow"] == 0 and row["exact_zero"] == 0
    md = study.render_markdown(result)
    assert md.startswith("<!-- generated by dlarith: `python build.py accuracy posit-gemm` -->\n")
    assert "| 8 | posit32 + quire |" in md and "**uniform** inputs" in md


def test_accuracy_posit_gemm_writes_its_declared_outputs_and_the_readme_section(tmp_path, monkeypatch):
    small = study.run(log=lambda *a: None, sizes=(4, 8))
    monkeypatch.setattr(study, "run", lambda log=print: small)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- accuracy-posit-gemm:begin -->\nPLACEHOLDER\n<!-- accuracy-posit-gemm:end -->\ntail\n")
    out = tmp_path / "out"
    assert build.main(["accuracy", "posit-gemm", "-o", str(out), "--readme", str(readme)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(study.OUTPUTS)
    report = json.loads((out / "report.json").read_text())
    assert next(iter(report)) == "generator" and report["rows"] == small["rows"]
    assert "Every cell:" in (out / "report.md").read_text()
    assert b"generated by dlarith" in (out / "error.png").read_bytes()[:4096]
    text = readme.read_text()
    assert "PLACEHOLDER" not in text and study.render_markdown(small) in text and text.endswith("end -->\ntail\n")


def test_accuracy_with_an_unknown_study_exits_2_naming_posit_gemm():
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "accuracy", "nosuch"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "unknown study 'nosuch'" in lines[0] and "posit-gemm" in lines[0]


@pytest.mark.parametrize("kwargs,match", [
    ({"sizes": (0,)}, "sizes: each must be a positive integer, got 0"),
    ({"sizes": (4.0,)}, "sizes: each must be a positive integer, got 4.0"),
    ({"sizes": ()}, "sizes: give at least one"),
    ({"distributions": ("cauchy",)}, r"distributions: unknown 'cauchy' \(known: normal, uniform\)"),
    ({"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
])
def test_run_rejects_an_unknown_cell_before_measuring(kwargs, match):
    with pytest.raises(ValueError, match=match):
        study.run(log=lambda *a: pytest.fail("measured before checking"), **kwargs)
