"""The ONNX export cache: keying, atomic writes, one export under concurrency.

Real exports are slow; these tests replace the exporter with fakes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import ragline.embed._onnx as onnx_mod
from ragline.errors import EmbedderError


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (d / name).write_bytes(name.encode() * 10)
    return d


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts = {"export": 0, "quantize": 0}
    lock = threading.Lock()

    def export(_model_dir: Path, dest: Path) -> None:
        with lock:
            counts["export"] += 1
        time.sleep(0.2)  # long enough for a second caller to arrive meanwhile
        dest.write_bytes(b"fp32 model")

    def quantize(src: Path, dest: Path) -> None:
        with lock:
            counts["quantize"] += 1
        dest.write_bytes(src.read_bytes() + b" int8")

    monkeypatch.setattr(onnx_mod, "_export_optimized", export)
    monkeypatch.setattr(onnx_mod, "_quantize_int8", quantize)
    return counts


def test_cache_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAGLINE_CACHE_DIR", str(tmp_path / "c"))
    assert onnx_mod.cache_root() == tmp_path / "c"
    monkeypatch.delenv("RAGLINE_CACHE_DIR")
    assert onnx_mod.cache_root() == Path.home() / ".cache" / "ragline"


def test_fingerprint_follows_model_files(model_dir: Path) -> None:
    first = onnx_mod.model_fingerprint(model_dir)
    assert first == onnx_mod.model_fingerprint(model_dir)
    (model_dir / "model.safetensors").write_bytes(b"other weights")
    assert onnx_mod.model_fingerprint(model_dir) != first
    (model_dir / "tokenizer.json").unlink()
    with pytest.raises(EmbedderError, match=r"tokenizer\.json"):
        onnx_mod.model_fingerprint(model_dir)


def test_export_then_reuse(model_dir: Path, tmp_path: Path, calls: dict[str, int]) -> None:
    path = onnx_mod.ensure_onnx_model(model_dir, cache_dir=tmp_path / "cache")
    assert path.name == "model.int8.onnx" and path.read_bytes() == b"fp32 model int8"
    fp32 = onnx_mod.ensure_onnx_model(model_dir, quantized=False, cache_dir=tmp_path / "cache")
    assert fp32.read_bytes() == b"fp32 model"
    onnx_mod.ensure_onnx_model(model_dir, cache_dir=tmp_path / "cache")
    assert calls == {"export": 1, "quantize": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".lock",
        "model.int8.onnx",
        "model.onnx",
    ]


def test_concurrent_callers_export_once(
    model_dir: Path, tmp_path: Path, calls: dict[str, int]
) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(onnx_mod.ensure_onnx_model(model_dir, cache_dir=tmp_path))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and results[0].read_bytes() == b"fp32 model int8"
    assert calls == {"export": 1, "quantize": 1}


def test_failed_export_leaves_nothing(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_model_dir: Path, dest: Path) -> None:
        dest.write_bytes(b"half a mod")
        raise RuntimeError("tracer exploded")

    monkeypatch.setattr(onnx_mod, "_export_optimized", broken)
    with pytest.raises(EmbedderError, match="tracer exploded") as info:
        onnx_mod.ensure_onnx_model(model_dir, cache_dir=tmp_path)
    assert "backend: torch" in (info.value.hint or "")
    folder = onnx_mod.export_dir(model_dir, tmp_path)
    assert [p.name for p in folder.iterdir()] == [".lock"]


def test_unwritable_cache_dir(model_dir: Path, tmp_path: Path, calls: dict[str, int]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(EmbedderError, match="RAGLINE_CACHE_DIR"):
        onnx_mod.ensure_onnx_model(model_dir, cache_dir=blocker / "cache")
