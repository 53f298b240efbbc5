"""Electrostatic density on a bin grid (ePlace): charges, Poisson's equation, the field on each node.

Nodes are charges equal to their area; the potential of the charge density solves Poisson's
equation with Neumann boundaries through a DCT, and the field pushes every node towards free
space however far away it is. Shared by the analytic placer and force-directed spreading.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import fft


@njit(cache=True, nogil=True)
def _bin_overlaps(lo, hi, size, count, out):
    """Overlap of ``[lo, hi]`` with bins ``first, first + 1, ...`` written to ``out``; returns (first, n)."""
    first, last = max(int(lo / size), 0), min(int(hi / size), count - 1)
    for i in range(first, last + 1):
        out[i - first] = max(min(hi, (i + 1) * size) - max(lo, i * size), 0.0)
    return first, max(last - first + 1, 0)


@njit(cache=True, nogil=True)
def scatter_density(xs, ys, half_w, half_h, scale, bin_w, bin_h, out):
    """Add ``scale *`` the overlap area of every box with every bin to ``out`` (x-major)."""
    nbx, nby = out.shape
    ox, oy = np.empty(nbx), np.empty(nby)
    for k in range(xs.size):
        i0, ni = _bin_overlaps(xs[k] - half_w[k], xs[k] + half_w[k], bin_w, nbx, ox)
        j0, nj = _bin_overlaps(ys[k] - half_h[k], ys[k] + half_h[k], bin_h, nby, oy)
        for a in range(ni):
            for b in range(nj):
                out[i0 + a, j0 + b] += scale[k] * ox[a] * oy[b]


@njit(cache=True, nogil=True)
def gather_field(xs, ys, half_w, half_h, scale, bin_w, bin_h, field_x, field_y, gx, gy):
    """Gradient of the electrostatic energy: minus the field integrated over each node's box."""
    nbx, nby = field_x.shape
    ox, oy = np.empty(nbx), np.empty(nby)
    for k in range(xs.size):
        i0, ni = _bin_overlaps(xs[k] - half_w[k], xs[k] + half_w[k], bin_w, nbx, ox)
        j0, nj = _bin_overlaps(ys[k] - half_h[k], ys[k] + half_h[k], bin_h, nby, oy)
        sx = sy = 0.0
        for a in range(ni):
            for b in range(nj):
                sx += ox[a] * oy[b] * field_x[i0 + a, j0 + b]
                sy += ox[a] * oy[b] * field_y[i0 + a, j0 + b]
        gx[k] = -scale[k] * sx
        gy[k] = -scale[k] * sy


class PoissonSolver:
    """Potential and field of a charge density on a ``nbx x nby`` bin grid (Neumann boundaries).

    The density is expanded in cosines, ``rho = sum a_uv cos(wu x) cos(wv y)``; then
    ``psi = sum a_uv / (wu^2 + wv^2) cos cos`` solves ``-laplace(psi) = rho - mean(rho)`` and
    the field is ``-grad(psi)``. Coordinates are bin centres in µm.
    """

    def __init__(self, nbx: int, nby: int, bin_w: float, bin_h: float):
        self.wu = np.pi * np.arange(nbx) / (nbx * bin_w)
        self.wv = np.pi * np.arange(nby) / (nby * bin_h)
        w2 = self.wu[:, None] ** 2 + self.wv[None, :] ** 2
        w2[0, 0] = 1.0
        self.inv_w2 = 1.0 / w2
        self.inv_w2[0, 0] = 0.0  # the mean charge exerts no force

    def solve(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return potential, x field and y field at the bin centres."""
        coeff = fft.dctn(rho, type=2) * self.inv_w2
        psi = fft.idctn(coeff, type=2)
        # d/dx cos(wu x) = -wu sin(wu x): the sine series is an inverse DST-II shifted by one.
        cx = np.zeros_like(coeff)
        cx[:-1, :] = coeff[1:, :] * self.wu[1:, None]
        field_x = fft.idct(fft.idst(cx, type=2, axis=0), type=2, axis=1)
        cy = np.zeros_like(coeff)
        cy[:, :-1] = coeff[:, 1:] * self.wv[None, 1:]
        field_y = fft.idst(fft.idct(cy, type=2, axis=0), type=2, axis=1)
        return psi, field_x, field_y


def blocked_area(xs, ys, half_w, half_h, nbx: int, nby: int, bin_w: float, bin_h: float) -> np.ndarray:
    """Area of each bin (x-major) covered by the given fixed boxes, counted once where they overlap."""
    covered = np.zeros((nbx, nby))
    scatter_density(xs, ys, half_w, half_h, np.ones(len(xs)), bin_w, bin_h, covered)
    return np.minimum(covered, bin_w * bin_h)


def smeared(half_w, half_h, bin_w: float, bin_h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes smaller than ``sqrt(2)`` bins widened to that size, and the charge scale that keeps their area.

    ePlace's local smoothing: a tiny node would otherwise see the field of one bin only and jump.
    """
    smear_w = np.maximum(half_w, bin_w / math.sqrt(2))
    smear_h = np.maximum(half_h, bin_h / math.sqrt(2))
    return smear_w, smear_h, (half_w * half_h) / (smear_w * smear_h)
