import pytest
import yaml


def _write_sweep(path, axes, fixed=None, evaluate="fit", name="t", **extra):
    doc = {"sweep": 1, "name": name, "evaluate": evaluate, "axes": axes, **extra}
    if fixed is not None:
        doc["fixed"] = fixed
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def write_sweep():
    """``write_sweep(path, axes, fixed=None, evaluate="fit", name="t", **extra_top_level_keys)``."""
    return _write_sweep


@pytest.fixture
def small_sweep(tmp_path):
    """24 memory-fit points over KV formats, contexts and models; llama-2-7b stops at 4096."""
    return _write_sweep(tmp_path / "small.yaml",
                        {"model": ["llama-2-7b", "llama-3.1-8b"], "kv_scheme": ["kv-f16", "kv-q8_0", "kv-q4_0"],
                         "ctx": [2048, 4096, 8192, 32768]},
                        {"hw": "rtx-4060ti-16gb", "scheme": "q4_0"})
