"""The GGUF file's own byte-level BPE (GPT-2 style), read from ``tokenizer.ggml.*``.

``Tokenizer.from_gguf(path)`` reads ``tokenizer.ggml.tokens`` and ``tokenizer.ggml.merges``
with gguf-py. ``encode(text)``: pre-tokenize, map each piece's UTF-8 bytes to GPT-2's
printable byte alphabet (``bytes_to_unicode`` of OpenAI's ``encoder.py``), then apply the
merges lowest rank first until none applies, and look the pieces up in the vocabulary.

Pre-tokenizer: llama.cpp's ``smollm`` / ``gpt2`` pre-types (``llama-vocab.cpp``): for
``smollm`` every digit is split off first (``\\p{N}``), then the GPT-2 pattern
``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``.
Python's ``re`` has no ``\\p{..}``: letters are ``[^\\W\\d_]`` and numbers ``\\d`` here, which
agree with the Unicode classes on ASCII text and differ on some non-ASCII number and letter
characters (an approximation, stated). No special tokens are parsed from text and no BOS
is added (the SmolLM2 file has ``add_bos_token = false``). ``decode`` inverts ``encode``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow.errors import SimlowError

_L = r"[^\W\d_]"
_GPT2 = re.compile(rf"'s|'t|'re|'ve|'m|'ll|'d| ?{_L}+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")
_DIGIT = re.compile(r"\d")
PRE_TYPES = ("gpt2", "smollm")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def pre_tokenize(text: str, pre: str) -> list[str]:
    """Split ``text`` into pieces as the ``pre`` pre-tokenizer does (see the module docstring)."""
    parts = [text]
    if pre == "smollm":
        parts = []
        pos = 0
        for m in _DIGIT.finditer(text):
            parts += [text[pos:m.start()], m.group()]
            pos = m.end()
        parts.append(text[pos:])
    return [p for part in parts if part for p in _GPT2.findall(part)]


@dataclass(frozen=True)
class Tokenizer:
    tokens: tuple[str, ...]
    ranks: Mapping[tuple[str, str], int]
    ids: Mapping[str, int]
    pre: str

    @classmethod
    def from_gguf(cls, path: Path | str, reader=None) -> "Tokenizer":
        """Read the tokenizer of ``path`` (``reader``: an open gguf-py ``GGUFReader`` of it)."""
        from gguf import GGUFReader

        fields = (reader or GGUFReader(str(path))).fields

        def get(key: str):
            if key not in fields:
                raise SimlowError(f"{path}: missing GGUF key {key!r}")
            return fields[key].contents()

        if get("tokenizer.ggml.model") != "gpt2":
            raise SimlowError(f"{path}: tokenizer.ggml.model is {get('tokenizer.ggml.model')!r}; "
                              "only byte-level BPE ('gpt2') is supported")
        pre = fields["tokenizer.ggml.pre"].contents() if "tokenizer.ggml.pre" in fields else "gpt2"
        if pre not in PRE_TYPES:
            raise SimlowError(f"{path}: tokenizer.ggml.pre {pre!r} is not one of {list(PRE_TYPES)}")
        tokens = tuple(get("tokenizer.ggml.tokens"))
        merges = get("tokenizer.ggml.merges")
        ranks = {}
        for i, m in enumerate(merges):
            a, _, b = m.partition(" ")
            ranks[(a, b)] = i
        return cls(tokens, MappingProxyType(ranks), MappingProxyType({t: i for i, t in enumerate(tokens)}), pre)

    def _bpe(self, word: str) -> list[str]:
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), None), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            best = min((p for p in pairs if p[0] is not None), default=None)
            if best is None:
                break
            i = best[1]
            parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
        return parts

    def encode(self, text: str) -> list[int]:
        table = bytes_to_unicode()
        out: list[int] = []
        for piece in pre_tokenize(text, self.pre):
            word = "".join(table[b] for b in piece.encode("utf-8"))
            for p in self._bpe(word):
                if p not in self.ids:
                    raise SimlowError(f"tokenizer: piece {p!r} is not in the vocabulary")
                out.append(self.ids[p])
        return out

    def decode(self, ids) -> str:
        inv = {c: b for b, c in bytes_to_unicode().items()}
        raw = bytes(inv[c] for i in ids for c in self.tokens[int(i)] if c in inv)
        return raw.decode("utf-8", errors="replace")


def read_token_file(path: Path | str, vocab: int) -> list[int]:
    """Token ids from a text file: integers separated by whitespace or commas, each < ``vocab``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    ids = []
    for n, word in enumerate(text.replace(",", " ").split()):
        if not word.isdigit() or int(word) >= vocab:
            raise SimlowError(f"{path}: token {n}: {word!r} is not a token id in 0..{vocab - 1}")
        ids.append(int(word))
    if not ids:
        raise SimlowError(f"{path}: no token ids")
    return ids
