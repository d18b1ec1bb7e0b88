"""``NLISupport``: an NLI / fact-checking cross-encoder decides support (``support:
{checker: nli, model_dir: <folder>}``), run by ONNX Runtime from a local folder.

The folder holds ``model.onnx`` (a sequence-classification export: inputs
``input_ids``, ``attention_mask`` and optionally ``token_type_ids``; one output of
shape ``[batch, labels]``, two labels or more), ``tokenizer.json`` (Hugging Face
``tokenizers``) and ``config.json`` naming the entailment label — ``id2label`` with an
``entailment`` entry, as ``optimum-cli export onnx --task text-classification`` writes
it for an MNLI-style model, or ``{"entailment_index": 0}``. Nothing is downloaded.

Premise = passage, hypothesis = sentence. A sentence's score is the highest
entailment probability (softmax over the labels) over its passages; it is supported
when that reaches ``threshold``, otherwise the reason is ``low_entailment`` (or
``no_passages``). A passage too long for ``max_length`` tokens together with the
sentence is read in overlapping windows; at most ``max_windows`` windows per passage
are scored — the ones sharing the most tokens with the sentence — so the cost of a
very long passage is bounded (``passages_cut`` counts the passages read in part).

Other languages: the verdict is the model's. An English-only model reads text it has
no vocabulary for as unknown tokens and finds little entailment there, so such
sentences come out unsupported (``low_entailment``), never silently supported; use a
multilingual NLI model for other languages.

:func:`check_nli_folder` runs when the project starts (missing folder or file, a
tokenizer or config that cannot be read, no entailment label: a
:class:`~ragline.errors.ConfigError` naming the file); constructing the checker also
opens the model, so a corrupt ``model.onnx`` fails there, named. The same inputs always
give the same verdicts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError
from ragline.evals._metrics._base import MetricFailure
from ragline.evals._metrics._support import SupportItem, SupportVerdict

FILES = ("model.onnx", "tokenizer.json", "config.json")
HINT = (
    "point support.model_dir at a folder with model.onnx, tokenizer.json and config.json "
    "(optimum-cli export onnx --task text-classification --model <nli-model> <folder>)"
)


def _entailment_index(path: Path) -> tuple[int, int | None]:
    """(the entailment label's index, the number of labels if the config says)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"NLI model config {path} cannot be read: {e}", hint=HINT) from None
    if not isinstance(config, dict):
        raise ConfigError(f"NLI model config {path} is not a JSON object", hint=HINT)
    labels = config.get("id2label")
    n = len(labels) if isinstance(labels, dict) else None
    explicit = config.get("entailment_index")
    if isinstance(explicit, int) and not isinstance(explicit, bool) and explicit >= 0:
        return explicit, n
    if isinstance(labels, dict):
        for key, label in labels.items():
            if str(label).strip().lower() == "entailment" and str(key).isdigit():
                return int(key), n
    raise ConfigError(
        f"NLI model config {path} names no entailment label",
        hint='add "entailment_index": <the output index of entailment>, or an id2label '
        'entry "entailment"',
    )


def check_nli_folder(folder: str | Path) -> tuple[Path, int]:
    """The folder and its entailment index; a :class:`ConfigError` naming the file that
    is missing or unreadable (the tokenizer is parsed, the model is not opened)."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"NLI model folder {path} does not exist", hint=HINT)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ConfigError(
            f"NLI model folder {path} has no {', '.join(missing)}",
            hint=HINT,
        )
    index, _ = _entailment_index(path / "config.json")
    _tokenizer(path / "tokenizer.json")
    return path, index


def _tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:
        raise ConfigError(f"NLI tokenizer {path} cannot be read: {e}", hint=HINT) from None


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:8]


class NLISupport:
    """See the module docstring."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        threshold: float = 0.5,
        max_length: int = 512,
        max_windows: int = 8,
        stride: int = 32,
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"NLI threshold {threshold} is not between 0 and 1")
        if max_length < 16 or max_windows < 1 or stride < 0 or batch_size < 1:
            raise ConfigError(
                "NLI settings out of range: max_length >= 16, max_windows >= 1, "
                "stride >= 0 and batch_size >= 1"
            )
        self.folder, self.entailment_index = check_nli_folder(model_dir)
        self.threshold = threshold
        self.max_length = max_length
        self.max_windows = max_windows
        self.stride = stride
        self.batch_size = batch_size
        self._lock = threading.Lock()
        #: passages read in part (more windows than ``max_windows``), counted
        self.passages_cut = 0
        self._tokenizer = _tokenizer(self.folder / "tokenizer.json")
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or self._tokenizer.token_to_id("<pad>")
        self._session, self._inputs = self._open(threads)
        model = self.folder / "model.onnx"
        self.name = f"nli:{self.folder.name}#{_digest(model)}@{threshold:g}"

    def _open(self, threads: int | None) -> tuple[Any, set[str]]:
        import onnxruntime as ort

        model = self.folder / "model.onnx"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0
        try:
            session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ConfigError(f"NLI model {model} cannot be loaded: {e}", hint=HINT) from None
        names = {i.name for i in session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise ConfigError(
                f"NLI model {model} is not a classifier: its inputs are {sorted(names)}, "
                "not input_ids and attention_mask",
                hint=HINT,
            )
        outputs = session.get_outputs()
        shape = list(outputs[0].shape) if outputs else []
        labels = shape[-1] if len(shape) == 2 else None
        if len(shape) != 2 or (isinstance(labels, int) and labels <= self.entailment_index):
            raise ConfigError(
                f"NLI model {model} is not a classifier with label {self.entailment_index} "
                f"(entailment): its output has shape {shape}, not [batch, labels]",
                hint=HINT,
            )
        return session, names

    # -- windows -----------------------------------------------------------------------

    def _windows(self, passage: str, sentence: str) -> tuple[list[str], int]:
        """The passage's windows to score (at most ``max_windows``) and how many it has."""
        tok = self._tokenizer
        hyp = tok.encode(sentence, add_special_tokens=False)
        room = max(8, self.max_length - len(hyp.ids) - 4)  # [CLS] … [SEP] … [SEP] (+1)
        enc = tok.encode(passage, add_special_tokens=False)
        if len(enc.ids) <= room:
            return [passage], 1
        step = max(1, room - min(self.stride, room // 2))
        spans = []
        for start in range(0, len(enc.ids), step):
            end = min(start + room, len(enc.ids))
            spans.append((start, end))
            if end == len(enc.ids):
                break
        if len(spans) > self.max_windows:  # bounded: keep the windows nearest the sentence
            wanted = set(hyp.ids)
            overlap = [sum(1 for t in enc.ids[a:b] if t in wanted) for a, b in spans]
            best = sorted(range(len(spans)), key=lambda i: (-overlap[i], i))[: self.max_windows]
            chosen = [spans[i] for i in sorted(best)]
        else:
            chosen = spans
        offsets = enc.offsets
        return [passage[offsets[a][0] : offsets[b - 1][1]] for a, b in chosen], len(spans)

    # -- scoring -----------------------------------------------------------------------

    def entailment(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(entailment) of each ``(premise, hypothesis)`` pair, in [0, 1]."""
        import numpy as np

        out: list[float] = []
        for i in range(0, len(pairs), self.batch_size):
            batch = list(pairs[i : i + self.batch_size])
            with self._lock:
                encodings = self._tokenizer.encode_batch(batch)
            width = max(len(e.ids) for e in encodings)
            width = min(width, self.max_length)
            ids = np.full((len(batch), width), self._pad_id or 0, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            types = np.zeros((len(batch), width), dtype=np.int64)
            for row, e in enumerate(encodings):
                n = min(len(e.ids), width)
                ids[row, :n] = e.ids[:n]
                mask[row, :n] = 1
                types[row, :n] = e.type_ids[:n]
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = types
            try:
                (logits, *_) = self._session.run(None, feed)
            except Exception as e:
                raise MetricFailure(f"nli_error: {type(e).__name__}: {e}") from None
            z = np.asarray(logits, dtype=np.float64).reshape(len(batch), -1)
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            for value in p[:, self.entailment_index]:
                out.append(float(value) if np.isfinite(value) else 0.0)
        return out

    def check(self, items: Sequence[SupportItem]) -> list[SupportVerdict]:
        windows: dict[tuple[str, str], tuple[list[str], int]] = {}
        for sentence, passages in items:
            for p in passages:
                if (p, sentence) not in windows:
                    windows[(p, sentence)] = self._windows(p, sentence)
                    if windows[(p, sentence)][1] > self.max_windows:
                        self.passages_cut += 1
        pairs = list(dict.fromkeys((w, s) for (_, s), (ws, _) in windows.items() for w in ws))
        scores = dict(zip(pairs, self.entailment(pairs), strict=True))
        out = []
        for sentence, passages in items:
            if not passages:
                out.append(SupportVerdict(False, 0.0, "no_passages"))
                continue
            best = 0.0
            for p in passages:
                ws, _ = windows[(p, sentence)]
                best = max(best, *(scores[(w, sentence)] for w in ws))
            supported = best >= self.threshold
            reason = "" if supported else "low_entailment"
            out.append(SupportVerdict(supported, round(best, 4), reason))
        return out


__all__ = ["NLISupport", "check_nli_folder"]
