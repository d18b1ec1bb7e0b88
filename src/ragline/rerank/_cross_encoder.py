"""``CrossEncoderReranker``: a cross-encoder from a local folder, run by ONNX Runtime
(``retrieval.reranker: cross-encoder:<folder>``).

The folder holds ``model.onnx`` (a sequence-classification export: inputs
``input_ids``, ``attention_mask`` and optionally ``token_type_ids``; one output of
shape ``[batch, 1]`` or ``[batch]`` — a relevance logit — or ``[batch, 2]``, scored
as ``logit[1] - logit[0]``) and ``tokenizer.json`` (Hugging Face ``tokenizers``), as
``optimum-cli export onnx --task text-classification`` writes them for e.g.
``cross-encoder/ms-marco-MiniLM-L-6-v2``. Nothing is downloaded.

:func:`check_folder` runs when the project starts: a missing folder, a folder without
those files, or a model whose inputs and outputs are not a cross-encoder's is a
:class:`~ragline.errors.ConfigError` naming the folder. The model is loaded on first
use and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragline.errors import ConfigError, RerankerError
from ragline.rerank._base import ScoringReranker

FILES = ("model.onnx", "tokenizer.json")
HINT = (
    "point retrieval.reranker at a folder with model.onnx and tokenizer.json "
    "(optimum-cli export onnx --task text-classification --model <cross-encoder> <folder>)"
)


def check_folder(folder: Path) -> None:
    """Raise :class:`ConfigError` naming ``folder`` unless it holds a cross-encoder."""
    if not folder.is_dir():
        raise ConfigError(f"reranker model folder {folder} does not exist", hint=HINT)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise ConfigError(
            f"reranker model folder {folder} is not a cross-encoder: no {', '.join(missing)}",
            hint=HINT,
        )


def _check_session(folder: Path, session: Any) -> None:
    names = {i.name for i in session.get_inputs()}
    if not {"input_ids", "attention_mask"} <= names:
        raise ConfigError(
            f"reranker model {folder / 'model.onnx'} is not a cross-encoder: its inputs are "
            f"{sorted(names)}, not input_ids and attention_mask",
            hint=HINT,
        )
    outputs = session.get_outputs()
    shape = list(outputs[0].shape) if outputs else []
    last = shape[-1] if len(shape) == 2 else 1
    if not outputs or len(shape) not in (1, 2) or last not in (1, 2):
        raise ConfigError(
            f"reranker model {folder / 'model.onnx'} is not a cross-encoder: its output has "
            f"shape {shape}, not [batch, 1] (a relevance score) or [batch, 2]",
            hint="an embedding model's folder is not a reranker; " + HINT,
        )


class CrossEncoderReranker(ScoringReranker):
    """See the module docstring."""

    def __init__(
        self,
        folder: str | Path,
        *,
        max_length: int = 512,
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        self.folder = Path(folder).expanduser()
        check_folder(self.folder)
        self.name = f"cross-encoder:{folder}"
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: set[str] = set()
        self._lock = threading.Lock()

    def load(self) -> None:
        """Open the model and tokenizer (once); a bad model is a :class:`ConfigError`."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            try:
                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            except Exception as e:
                raise ConfigError(
                    f"reranker tokenizer {self.folder / 'tokenizer.json'} cannot be read: {e}",
                    hint=HINT,
                ) from None
            tokenizer.enable_truncation(max_length=self.max_length)
            tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads or 0
            try:
                session = ort.InferenceSession(
                    str(self.folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
                )
            except Exception as e:
                raise ConfigError(
                    f"reranker model {self.folder / 'model.onnx'} cannot be loaded: {e}",
                    hint=HINT,
                ) from None
            _check_session(self.folder, session)
            self._inputs = {i.name for i in session.get_inputs()}
            self._tokenizer = tokenizer
            self._session = session

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        self.load()
        out: list[float] = []
        for i in range(0, len(texts), self.batch_size):
            batch = [(query, t) for t in texts[i : i + self.batch_size]]
            encodings = self._tokenizer.encode_batch(batch)
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            }
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
            try:
                (logits, *_) = self._session.run(None, feed)
            except Exception as e:
                raise RerankerError(f"reranker {self.name} failed: {e}") from None
            logits = np.asarray(logits, dtype=np.float32)
            if logits.ndim == 2 and logits.shape[1] == 2:
                values = logits[:, 1] - logits[:, 0]
            else:
                values = logits.reshape(len(batch), -1)[:, 0]
            out.extend(float(v) for v in values)
        return out
