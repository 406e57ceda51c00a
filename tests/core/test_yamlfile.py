import pytest

from simlow.errors import SimlowError
from simlow.specs.yamlfile import Reader, load_yaml, loads_yaml
from simlow.quantities import Dim


def test_duplicate_key_is_an_error(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\nb: 2\na: 3\n")
    with pytest.raises(SimlowError, match=r"x\.yaml.*duplicate key 'a'"):
        load_yaml(f)


def test_nested_duplicate_key(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("ports:\n  a: 1\nports:\n  b: 2\n")
    with pytest.raises(SimlowError, match="duplicate key 'ports'"):
        load_yaml(f)


def test_syntax_error_names_file():
    with pytest.raises(SimlowError, match="f.yaml.*invalid YAML"):
        loads_yaml("a: [1, 2\n", "f.yaml")


def test_reader_key_paths_and_types():
    r = Reader({"memory": {"dram": {"bandwidth": "819 GB"}}}, "hw.yaml")
    dram = r.sub("memory").sub("dram")
    with pytest.raises(SimlowError) as err:
        dram.quantity("bandwidth", Dim.BANDWIDTH)
    assert str(err.value).startswith("hw.yaml: memory.dram.bandwidth:")
    assert "expected bytes/s" in str(err.value)


def test_reader_refuses_unknown_keys():
    r = Reader({"name": "x", "nmae": "y"}, "f.yaml")
    r.str("name")
    with pytest.raises(SimlowError, match=r"f\.yaml: nmae: unknown key \(valid here: name\)"):
        r.done()


def test_reader_missing_and_wrong_type():
    r = Reader({"layers": "32", "ok": True}, "m.yaml")
    with pytest.raises(SimlowError, match="m.yaml: layers: expected a whole number"):
        r.int("layers")
    with pytest.raises(SimlowError, match="m.yaml: heads: missing required key"):
        r.int("heads")
    with pytest.raises(SimlowError, match="below the minimum"):
        Reader({"n": -1}, "m.yaml").int("n", minimum=0)
