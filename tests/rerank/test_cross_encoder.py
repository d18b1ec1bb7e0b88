"""The ONNX cross-encoder, on a tiny model this test builds (no weights downloaded).

The model: a WordLevel tokenizer that encodes ``[CLS] query [SEP] passage [SEP]``
(token types 0 then 1) and a graph whose logit is the sum of a per-token weight over
the passage's tokens only (``weight[ids] * attention_mask * token_type_ids``). So the
score of a passage is known in advance, and it is right only when the tokenizer,
the three inputs and the output are wired as a real cross-encoder's are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ragline
from ragline.errors import ConfigError
from ragline.rerank import CrossEncoderReranker, Reranker
from ragline.testing import HashEmbedder, RerankerConformance
from ragline.testing._reranker_conformance import PASSAGES, QUESTION, hits

onnx = pytest.importorskip("onnx")
tokenizers = pytest.importorskip("tokenizers")

WEIGHTED = {"paris": 3.0, "capital": 2.0, "france": 1.0, "revenue": 0.5}


def words() -> list[str]:
    out = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    for text in [QUESTION, *PASSAGES]:
        for w in text.lower().replace(",", " ").replace(".", " ").replace("?", " ").split():
            if w not in out:
                out.append(w)
    return out


def build_tokenizer(folder: Path, vocab: list[str]) -> None:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.save(str(folder / "tokenizer.json"))


def build_model(folder: Path, vocab: list[str], *, output_dims: list[int | str]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    weight = np.array([WEIGHTED.get(w, 0.0) for w in vocab], dtype=np.float32)
    nodes = [
        helper.make_node("Gather", ["weight", "input_ids"], ["w"]),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["token_type_ids"], ["t"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["w", "m"], ["wm"]),
        helper.make_node("Mul", ["wm", "t"], ["wmt"]),
        helper.make_node("ReduceSum", ["wmt", "axes"], ["logits"], keepdims=1),
    ]
    if output_dims != ["batch", 1]:  # an "embedding model": [batch, seq, 4]
        nodes[-1] = helper.make_node("Unsqueeze", ["wmt", "axes"], ["raw"])
        nodes.append(helper.make_node("Tile", ["raw", "reps"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "tiny-cross-encoder",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, output_dims)],
        initializer=[
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(
                np.array([1] if output_dims == ["batch", 1] else [2], dtype=np.int64), "axes"
            ),
            numpy_helper.from_array(np.array([1, 1, 4], dtype=np.int64), "reps"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = words()
    build_tokenizer(out, vocab)
    build_model(out, vocab, output_dims=["batch", 1])
    return out


class TestTinyCrossEncoder(RerankerConformance):
    semantic = False  # its weights are made up; the exact scores are tested below

    @pytest.fixture
    def reranker(self, folder: Path) -> Reranker:
        return CrossEncoderReranker(folder, batch_size=2)  # batches of 2 cross a boundary


def test_scores_are_the_passage_tokens_weights(folder: Path) -> None:
    r = CrossEncoderReranker(folder, batch_size=2)
    ranked = r.rerank(QUESTION, hits(PASSAGES))
    # only the passage's tokens count (token type 1), not the question's "capital france"
    expected = {
        "c2": WEIGHTED["paris"] + WEIGHTED["capital"] + WEIGHTED["france"],
        "c1": WEIGHTED["revenue"],
    }
    assert [h.chunk.id for h in ranked[:2]] == ["c2", "c1"]
    for h in ranked:
        assert h.scores["rerank"] == pytest.approx(expected.get(h.chunk.id, 0.0))


def test_a_missing_folder_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path / 'nope'} does not exist"):
        CrossEncoderReranker(tmp_path / "nope")


def test_a_folder_without_a_model_is_not_a_cross_encoder(tmp_path: Path) -> None:
    build_tokenizer(tmp_path, words())
    with pytest.raises(ConfigError, match=rf"{tmp_path} is not a cross-encoder: no model.onnx"):
        CrossEncoderReranker(tmp_path)


def test_an_embedding_model_is_not_a_cross_encoder_at_start_up(tmp_path: Path) -> None:
    model = tmp_path / "embedder"
    model.mkdir()
    vocab = words()
    build_tokenizer(model, vocab)
    build_model(model, vocab, output_dims=["batch", "seq", 4])
    (tmp_path / "ragline.yaml").write_text(
        f"embedder: hash\nretrieval:\n  reranker: cross-encoder:{model}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="is not a cross-encoder: its output has shape") as e:
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert str(model) in str(e.value)


def test_a_project_reranks_with_a_relative_model_folder(folder: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(folder, tmp_path / "models" / "ce")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(PASSAGES):
        (docs / f"p{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nretrieval:\n  reranker: cross-encoder:models/ce\n", encoding="utf-8"
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        p.ingest([docs])
        top = p.search("Which city is the capital?", k=2)
        assert top[0].chunk.text.startswith("Paris") and top[0].ranks["rerank"] == 1
