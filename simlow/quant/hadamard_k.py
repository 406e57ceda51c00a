"""Known Hadamard matrices H_K whose order K is not a power of two: the dense K x K block of
QuaRot's ``get_hadK`` / ``matmul_hadU`` (a transform of size K * 2**m applies kron(H_K, H_2**m)).

Layering: NumPy only; used by ``rotations``.

``base_hadamard(order)`` returns an int64 +-1 matrix H with H H^T = order * I (checked when it is
built), or None when none of the constructions below gives that order:

* **Paley I** (Paley 1933), order q + 1 for a prime q = 3 (mod 4): with chi the quadratic
  character of GF(q) and Q[i, j] = chi(j - i), H = I + [[0, 1^T], [-1, Q]].
* **Paley II** (Paley 1933), order 2(q + 1) for a prime q = 1 (mod 4): with the symmetric
  conference matrix C = [[0, 1^T], [1, Q]], H = C (x) [[1, 1], [1, -1]] + I (x) [[1, -1], [-1, -1]].
* **Williamson array** (J. Williamson, Duke Math. J. 11 (1944) 65-81), order 4w::

      H = [[ A,  B,  C,  D],
           [-B,  A, -D,  C],
           [-C,  D,  A, -B],
           [-D, -C,  B,  A]]

  with A, B, C, D symmetric circulant +-1 matrices of odd order w (hence commuting) and
  A^2 + B^2 + C^2 + D^2 = 4w I. Circulant means M[i, j] = a[(j - i) mod w] for the first row a.
  First rows used (``+`` = +1, ``-`` = -1; each symmetric, a[j] = a[w - j]):

  - w = 13 (order 52): L. D. Baumert and M. Hall Jr., "Hadamard matrices of the Williamson
    type", Math. Comp. 19 (1965) 442-447 (all solutions for w <= 23), tabulated in M. Hall Jr.,
    *Combinatorial Theory*, 2nd ed., Wiley.
  - w = 39 (order 156): Williamson matrices of order 39 were first found by D. Z. Djokovic,
    "Williamson matrices of order 4n for n = 33, 35, 39", Discrete Math. 115 (1993) 267-271;
    the rows here are those tabulated in S. London, *Constructing new Turyn type sequences,
    T-sequences and Hadamard matrices*, PhD thesis, Univ. of Illinois at Chicago (2013).
  - w = 43 (order 172): order 172 goes back to Williamson (1944, above); the rows here are a
    solution of Baumert and Hall (1965, above) as tabulated in Hall's *Combinatorial Theory*.

  The rows were transcribed from SageMath's ``williamson_type_quadruples_smallcases``
  (``sage/combinat/matrices/hadamard_matrix.py``; its docstring cites Hall's book for
  w = 13, 43 and London (2013) for w = 39; M. Cati and D. V. Pasechnik, "A database of
  constructions of Hadamard matrices", arXiv:2411.18897 (2024), describe checking that
  database against the literature). Only these first rows were taken; the matrices are
  built here, and H H^T = 4w I is checked exactly in integers (and again in the tests), so a
  wrong row raises an error rather than giving a non-orthogonal rotation.

Coverage of QuaRot's stored matrices (12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172):
12 = Paley I (q = 11), 20 = Paley I (19), 28 = Paley II (13), 36 = Paley II (17),
40 = kron(H_20, H_2) (``rotations`` picks K = 20, M = 2 * 2**m), 52 = Williamson (13),
60 = Paley I (59), 108 = Paley I (107), 140 = Paley I (139), 156 = Williamson (39),
172 = Williamson (43). These are Hadamard matrices of the same orders, not QuaRot's matrices
(Sloane's library) entry for entry: the rotation is orthogonal with the same structure and
cost, but its output differs from QuaRot's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from simlow.errors import SimlowError

QUAROT_ORDERS = (12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172)

# First rows of the Williamson matrices A, B, C, D of odd order w (sources in the module docstring).
WILLIAMSON_ROWS: dict[int, tuple[str, str, str, str]] = {
    13: ("++++-+--+-+++", "+---+-++-+---", "++---+--+---+", "++---+--+---+"),
    39: ("+++--+-+-----+--++----++--+-----+-+--++", "+++--++-+---+-+--+----+--+-+---+-++--++",
         "++++---+--++----+-+--+-+----++--+---+++", "+---++-+-+-----+++-++-+++-----+-+-++---"),
    43: ("++---++++-+--+--++--------++--+--+-++++---+", "+++-+-++--+-+-++++-+----+-++++-+-+--++-+-++",
         "++-++++++----+-+--++-++-++--+-+----++++++-+", "+---++--++++-+-+++-++--++-+++-+-++++--++---"),
}


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % p for p in range(2, int(q ** 0.5) + 1))


def _jacobsthal(q: int) -> np.ndarray:
    """Q[i, j] = chi(j - i) over GF(q), q an odd prime (chi(0) = 0, +-1 for (non)residues)."""
    chi = np.array([0] + [1 if pow(k, (q - 1) // 2, q) == 1 else -1 for k in range(1, q)])
    return chi[(np.arange(q)[None, :] - np.arange(q)[:, None]) % q]


def paley_i(q: int) -> np.ndarray:
    """Paley I Hadamard matrix of order q + 1 (q prime, q = 3 mod 4)."""
    if not (_is_prime(q) and q % 4 == 3):
        raise SimlowError(f"paley_i: q must be a prime = 3 (mod 4), got {q}")
    s = np.zeros((q + 1, q + 1), np.int64)
    s[0, 1:], s[1:, 0], s[1:, 1:] = 1, -1, _jacobsthal(q)
    return s + np.eye(q + 1, dtype=np.int64)


def paley_ii(q: int) -> np.ndarray:
    """Paley II Hadamard matrix of order 2(q + 1) (q prime, q = 1 mod 4)."""
    if not (_is_prime(q) and q % 4 == 1):
        raise SimlowError(f"paley_ii: q must be a prime = 1 (mod 4), got {q}")
    c = np.zeros((q + 1, q + 1), np.int64)
    c[0, 1:], c[1:, 0], c[1:, 1:] = 1, 1, _jacobsthal(q)
    return np.kron(c, [[1, 1], [1, -1]]) + np.kron(np.eye(q + 1, dtype=np.int64), [[1, -1], [-1, -1]])


def circulant(row) -> np.ndarray:
    """The circulant matrix with first row ``row``: M[i, j] = row[(j - i) mod len(row)]."""
    row = np.asarray(row, np.int64)
    w = row.shape[0]
    return row[(np.arange(w)[None, :] - np.arange(w)[:, None]) % w]


def williamson_array(a, b, c, d) -> np.ndarray:
    """The Williamson array (module docstring) filled with four w x w matrices."""
    a, b, c, d = (np.asarray(m, np.int64) for m in (a, b, c, d))
    return np.block([[a, b, c, d], [-b, a, -d, c], [-c, d, a, -b], [-d, -c, b, a]])


def williamson(w: int) -> np.ndarray:
    """Hadamard matrix of order 4w from the tabulated Williamson first rows of order w."""
    if w not in WILLIAMSON_ROWS:
        raise SimlowError(f"williamson: no tabulated Williamson matrices of order {w}; "
                          f"tabulated: {sorted(WILLIAMSON_ROWS)}")
    rows = [np.array([1 if ch == "+" else -1 for ch in r], np.int64) for r in WILLIAMSON_ROWS[w]]
    for r in rows:
        if r.shape[0] != w or not np.array_equal(r[1:], r[1:][::-1]):
            raise SimlowError(f"williamson: first row of order {w} is not symmetric of length {w}")
    return williamson_array(*(circulant(r) for r in rows))


def _construct(order: int) -> np.ndarray | None:
    if _is_prime(order - 1) and (order - 1) % 4 == 3:
        return paley_i(order - 1)
    if order % 2 == 0 and _is_prime(order // 2 - 1) and (order // 2 - 1) % 4 == 1:
        return paley_ii(order // 2 - 1)
    if order % 4 == 0 and order // 4 in WILLIAMSON_ROWS:
        return williamson(order // 4)
    return None


@lru_cache(maxsize=None)
def base_hadamard(order: int) -> np.ndarray | None:
    """A read-only int64 Hadamard matrix of ``order`` (Paley I, Paley II or Williamson, tried in
    that order), or None if none applies. H H^T = order * I is verified exactly before returning."""
    h = _construct(order)
    if h is None:
        return None
    if not np.array_equal(h @ h.T, order * np.eye(order, dtype=np.int64)):
        raise SimlowError(f"base_hadamard: construction of order {order} is not Hadamard (bad table row)")
    h.flags.writeable = False
    return h
