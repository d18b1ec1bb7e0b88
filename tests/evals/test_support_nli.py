"""``NLISupport`` on a tiny NLI model this test builds (no weights downloaded).

The model: a WordLevel tokenizer that encodes ``[CLS] passage [SEP] sentence [SEP]``
(token types 0 then 1) and a graph whose entailment logit grows with the share of the
sentence's words that occur in the passage (``8 · share − 4``; neutral 0; contradiction
``4 − 8 · share``). So entailment is known in advance, and it is right only when the
premise is the passage, the hypothesis the sentence, and all three inputs are wired.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ragline
from ragline.config import Settings
from ragline.errors import ConfigError
from ragline.evals import Faithfulness, NLISupport, build_support_checker
from ragline.evals._metrics._support import SupportChecker
from ragline.evals._types import Case, CaseOutput, RetrievedContext
from ragline.testing import HashEmbedder, SupportCheckerConformance
from ragline.testing._support_conformance import ITEMS

onnx = pytest.importorskip("onnx")
pytest.importorskip("tokenizers")
pytest.importorskip("onnxruntime")

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
FILLER = [
    "the",
    "committee",
    "discussed",
    "budgets",
    "schedules",
    "and",
    "other",
    "matters",
    "at",
    "length",
]
EXTRA = ["paris", "capital", "france", "berlin", "germany", "city", "largest", "cats", "sleep"]


def vocabulary() -> list[str]:
    out = list(SPECIAL)
    texts = [s for s, _ in ITEMS] + [p for _, ps in ITEMS for p in ps] + FILLER + EXTRA
    for text in texts:
        for w in text.lower().replace(",", " ").replace(".", " . ").replace("!", " ").split():
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


def build_model(folder: Path, vocab: list[str]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    content = np.array([0.0 if w in [*SPECIAL, "."] else 1.0 for w in vocab], dtype=np.float32)
    f = TensorProto.FLOAT
    nodes = [
        helper.make_node("OneHot", ["input_ids", "depth", "onoff"], ["hot"], axis=-1),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=f),
        helper.make_node("Cast", ["token_type_ids"], ["t"], to=f),
        helper.make_node("Mul", ["m", "t"], ["hyp_pos"]),  # the sentence's tokens
        helper.make_node("Sub", ["m", "hyp_pos"], ["prem_pos"]),  # the passage's tokens
        helper.make_node("Unsqueeze", ["hyp_pos", "last"], ["hyp_pos3"]),
        helper.make_node("Unsqueeze", ["prem_pos", "last"], ["prem_pos3"]),
        helper.make_node("Mul", ["hot", "hyp_pos3"], ["hyp_hot"]),
        helper.make_node("Mul", ["hot", "prem_pos3"], ["prem_hot"]),
        helper.make_node("ReduceSum", ["hyp_hot", "seq_axis"], ["hyp_bag0"], keepdims=0),
        helper.make_node("ReduceSum", ["prem_hot", "seq_axis"], ["prem_bag0"], keepdims=0),
        helper.make_node("Mul", ["hyp_bag0", "content"], ["hyp_bag"]),
        helper.make_node("Mul", ["prem_bag0", "content"], ["prem_bag1"]),
        helper.make_node("Min", ["prem_bag1", "one"], ["prem_bag"]),
        helper.make_node("Mul", ["hyp_bag", "prem_bag"], ["covered_bag"]),
        helper.make_node("ReduceSum", ["covered_bag", "vocab_axis"], ["covered"], keepdims=1),
        helper.make_node("ReduceSum", ["hyp_bag", "vocab_axis"], ["total0"], keepdims=1),
        helper.make_node("Max", ["total0", "one"], ["total"]),
        helper.make_node("Div", ["covered", "total"], ["share"]),
        helper.make_node("Mul", ["share", "eight"], ["s8"]),
        helper.make_node("Sub", ["s8", "four"], ["entail"]),
        helper.make_node("Sub", ["four", "s8"], ["contra"]),
        helper.make_node("Mul", ["share", "zero"], ["neutral"]),
        helper.make_node("Concat", ["entail", "neutral", "contra"], ["logits"], axis=1),
    ]

    def const(name: str, value: object, dtype: type = np.float32) -> onnx.TensorProto:
        return numpy_helper.from_array(np.array(value, dtype=dtype), name)

    graph = helper.make_graph(
        nodes,
        "tiny-nli",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info("logits", f, ["batch", 3])],
        initializer=[
            const("depth", [len(vocab)], np.int64),
            const("onoff", [0.0, 1.0]),
            const("last", [2], np.int64),
            const("seq_axis", [1], np.int64),
            const("vocab_axis", [1], np.int64),
            const("content", content),
            const("one", 1.0),
            const("zero", 0.0),
            const("four", 4.0),
            const("eight", 8.0),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))


def write_config(folder: Path, config: object | None = None) -> None:
    config = config or {"id2label": {"0": "ENTAILMENT", "1": "NEUTRAL", "2": "CONTRADICTION"}}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    build_tokenizer(folder, vocab)
    build_model(folder, vocab)
    write_config(folder)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tiny-nli") / "nli")


class TestTinyNLI(SupportCheckerConformance):
    semantic = True  # the tiny model's entailment is word coverage: enough for the suite

    @pytest.fixture
    def checker(self, folder: Path) -> SupportChecker:
        return NLISupport(folder, batch_size=2)  # batches of 2 cross a boundary


def test_entailment_is_the_share_of_the_sentences_words_in_the_passage(folder: Path) -> None:
    nli = NLISupport(folder)
    full, half, none = nli.check(
        [
            ("Paris is the capital.", ["Paris is the capital of France."]),
            ("Paris is the capital of Germany.", ["Paris is the capital of France."]),
            ("Cats sleep.", ["Paris is the capital of France."]),
        ]
    )
    assert full.supported and full.score is not None and full.score > 0.95
    assert not none.supported and none.reason == "low_entailment"
    assert none.score is not None and none.score < 0.01
    # 5 of 6 content tokens covered ("germany" is not): 8·5/6 − 4 = 2.67 → p ≈ 0.93
    assert half.score == pytest.approx(0.9308, abs=1e-3)


def test_premise_is_the_passage_and_hypothesis_the_sentence(folder: Path) -> None:
    """Swapping them changes the verdict: the long passage covers the short sentence,
    not the other way round (4 of 6 words: p = 0.75)."""
    nli = NLISupport(folder, threshold=0.9)
    (forward,) = nli.check([("Paris is the capital.", ["Paris is the capital of France."])])
    (backward,) = nli.check([("Paris is the capital of France.", ["Paris is the capital."])])
    assert forward.supported and not backward.supported


def test_the_threshold_decides(folder: Path) -> None:
    item = [("Paris is the capital of Germany.", ["Paris is the capital of France."])]
    assert NLISupport(folder, threshold=0.9).check(item)[0].supported
    assert not NLISupport(folder, threshold=0.95).check(item)[0].supported
    assert NLISupport(folder, threshold=0.9).name != NLISupport(folder, threshold=0.95).name


def test_best_passage_wins(folder: Path) -> None:
    (v,) = NLISupport(folder).check(
        [("Paris is the capital.", ["Cats sleep.", "Paris is the capital of France."])]
    )
    assert v.supported


def long_passage(words: int, fact_at: int) -> str:
    body = [FILLER[i % len(FILLER)] for i in range(words)]
    body[fact_at:fact_at] = ["paris", "is", "the", "capital", "of", "france", "."]
    return " ".join(body)


def test_a_long_passage_is_read_in_windows(folder: Path) -> None:
    """The fact sits at the end of a passage far longer than max_length: truncation
    would miss it; windows find it."""
    passage = long_passage(400, 400)
    nli = NLISupport(folder, max_length=64, max_windows=50)
    (v,) = nli.check([("Paris is the capital of France.", [passage])])
    assert v.supported and nli.passages_cut == 0


def test_a_very_long_passage_is_bounded(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20,000-word passage costs max_windows model inputs, not hundreds: the windows
    sharing most words with the sentence are read, so the fact in the middle is found."""
    passage = long_passage(20_000, 11_111)
    nli = NLISupport(folder, max_length=64, max_windows=3)
    scored: list[int] = []
    real = nli.entailment
    monkeypatch.setattr(nli, "entailment", lambda pairs: scored.append(len(pairs)) or real(pairs))
    supported, unrelated = nli.check(
        [("Paris is the capital of France.", [passage]), ("Cats sleep.", [passage])]
    )
    assert sum(scored) <= 2 * 3
    assert supported.supported and not unrelated.supported
    assert nli.passages_cut == 2  # both read in part, and counted


def test_text_the_model_has_no_words_for_is_unsupported_not_passed(folder: Path) -> None:
    """The stated behaviour for other languages with an English model: unknown tokens
    entail nothing, so the sentence is unsupported (low_entailment), never passed."""
    (v,) = NLISupport(folder).check(
        [("Париж — столица Франции.", ["Париж — столица Франции, крупнейший город."])]
    )
    assert not v.supported and v.reason == "low_entailment"


def test_faithfulness_with_nli(folder: Path) -> None:
    metric = Faithfulness(NLISupport(folder))
    case = Case(id="c", question="Capital?")
    out = CaseOutput(
        answer="Paris is the capital of France. Cats sleep most of the day.",
        contexts=[
            RetrievedContext(
                chunk_id="d#0",
                document_id="d",
                text="Paris is the capital of France and its largest city.",
            )
        ],
    )
    result = metric.score(case, out)
    assert result.failure is None and result.value == pytest.approx(0.5)


# --------------------------------------------------------------------------- bad folders


def test_a_missing_folder_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"NLI model folder {tmp_path / 'nope'} does not exist"):
        NLISupport(tmp_path / "nope")


@pytest.mark.parametrize("missing", ["model.onnx", "tokenizer.json", "config.json"])
def test_a_missing_file_is_named(folder: Path, tmp_path: Path, missing: str) -> None:
    import shutil

    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    (copy / missing).unlink()
    with pytest.raises(ConfigError, match=f"{copy} has no {missing}"):
        NLISupport(copy)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("model.onnx", b"not a model", "NLI model .*model.onnx cannot be loaded"),
        ("tokenizer.json", b"{broken", "NLI tokenizer .*tokenizer.json cannot be read"),
        ("config.json", b"{broken", "NLI model config .*config.json cannot be read"),
        ("config.json", b'{"id2label": {"0": "yes", "1": "no"}}', "names no entailment label"),
    ],
)
def test_a_corrupt_file_is_a_config_error_naming_it(
    folder: Path, tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    import shutil

    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    (copy / name).write_bytes(content)
    with pytest.raises(ConfigError, match=says) as e:
        NLISupport(copy)
    assert str(copy / name) in str(e.value)


def test_an_explicit_entailment_index(folder: Path, tmp_path: Path) -> None:
    """``entailment_index`` names the label: here contradiction's, which flips the
    verdicts."""
    import shutil

    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    write_config(copy, {"entailment_index": 2})
    (v,) = NLISupport(copy).check([("Cats sleep.", ["Paris is the capital of France."])])
    assert v.supported


def test_an_output_without_the_entailment_label_is_not_a_classifier(
    folder: Path, tmp_path: Path
) -> None:
    import shutil

    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    write_config(copy, {"entailment_index": 5})
    with pytest.raises(ConfigError, match="is not a classifier with label 5"):
        NLISupport(copy)


# --------------------------------------------------------------------------- config


def test_support_config_builds_the_nli_checker(folder: Path, tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"support": {"checker": "nli", "model_dir": str(folder), "threshold": 0.9}}
    )
    checker = build_support_checker(settings, base_dir=tmp_path)
    assert isinstance(checker, NLISupport) and checker.threshold == 0.9


def test_nli_without_a_model_dir_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text("embedder: hash\nsupport:\n  checker: nli\n")
    with pytest.raises(ConfigError, match=r"support\.checker nli needs support\.model_dir"):
        ragline.Project(tmp_path, embedder=HashEmbedder())


def test_a_bad_model_dir_fails_at_project_start_naming_it(tmp_path: Path) -> None:
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nsupport:\n  checker: nli\n  model_dir: models/nli\n"
    )
    with pytest.raises(ConfigError, match=f"{tmp_path / 'models' / 'nli'} does not exist"):
        ragline.Project(tmp_path, embedder=HashEmbedder())
    assert not (tmp_path / "ragline.db").exists()  # nothing was started, nothing written


def test_a_relative_model_dir_is_from_the_project_folder(folder: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(folder, tmp_path / "models" / "nli")
    (tmp_path / "ragline.yaml").write_text(
        "embedder: hash\nsupport:\n  checker: nli\n  model_dir: models/nli\n"
    )
    with ragline.Project(tmp_path, embedder=HashEmbedder()) as p:
        checker = build_support_checker(p.settings, base_dir=p.path)
        assert isinstance(checker, NLISupport)
        assert checker.folder == tmp_path / "models" / "nli"


def test_eval_run_scores_faithfulness_with_the_nli_checker(folder: Path, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from ragline.cli import app

    shutil.copytree(folder, tmp_path / "nli")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nParis is the capital of France.\n")
    (tmp_path / "cases.jsonl").write_text(
        json.dumps({"id": "w", "question": "What is the capital of France?"}) + "\n"
    )
    cli = ["-C", str(tmp_path), "--embedder", "hash"]

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, [*cli, *args])

    (tmp_path / "ragline.yaml").write_text("support:\n  checker: nli\n  model_dir: nli\n")
    assert run("ingest", str(tmp_path / "docs")).exit_code == 0
    result = run("eval", "run", str(tmp_path / "cases.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(run("eval", "report", "last", "--format", "json").stdout)
    (faithfulness,) = [m for m in report["results"][0]["metrics"] if m["metric"] == "faithfulness"]
    assert faithfulness["version"].startswith("1+nli:nli#") and faithfulness["value"] == 1.0
    # a broken model folder: a ConfigError naming the file (the CLI prints it as one
    # line), exit code 1, and the stored run is still there
    (tmp_path / "nli" / "model.onnx").write_bytes(b"garbage")
    broken = run("eval", "run", str(tmp_path / "cases.jsonl"))
    assert broken.exit_code == 1 and isinstance(broken.exception, ConfigError)
    assert f"{tmp_path / 'nli' / 'model.onnx'} cannot be loaded" in str(broken.exception)
    assert json.loads(run("eval", "list", "--json").stdout)[0]["status"] == "complete"
