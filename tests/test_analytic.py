"""Analytic global placement: the Poisson solver, the wirelength model and the placer's invariants."""

from __future__ import annotations

import numpy as np
import pytest

from netlists import NodeKind, synthetic
from placer.analytic import AnalyticSettings, _wa_axis, hpwl, place_analytic
from placer.electrostatics import PoissonSolver, scatter_density
from tests.random_designs import flat_design


@pytest.mark.parametrize(("u", "v"), [(1, 0), (3, 2), (0, 5), (15, 7)])
def test_poisson_solver_on_one_cosine_mode(u, v):
    nbx, nby, bin_w, bin_h = 16, 8, 2.0, 3.0
    xc, yc = (np.arange(nbx) + 0.5) * bin_w, (np.arange(nby) + 0.5) * bin_h
    wu, wv = np.pi * u / (nbx * bin_w), np.pi * v / (nby * bin_h)
    rho = np.outer(np.cos(wu * xc), np.cos(wv * yc))
    psi, field_x, field_y = PoissonSolver(nbx, nby, bin_w, bin_h).solve(rho)
    w2 = wu**2 + wv**2
    np.testing.assert_allclose(psi, rho / w2, atol=1e-10)
    np.testing.assert_allclose(field_x, np.outer(wu * np.sin(wu * xc), np.cos(wv * yc)) / w2, atol=1e-10)
    np.testing.assert_allclose(field_y, np.outer(np.cos(wu * xc), wv * np.sin(wv * yc)) / w2, atol=1e-10)


def test_uniform_density_has_no_field():
    _, field_x, field_y = PoissonSolver(8, 8, 1.0, 1.0).solve(np.full((8, 8), 0.7))
    assert np.abs(field_x).max() < 1e-12 and np.abs(field_y).max() < 1e-12


def test_scatter_density_conserves_area_inside_the_grid():
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(5, 95, 50), rng.uniform(5, 95, 50)
    hw, hh = rng.uniform(0.1, 5, 50), rng.uniform(0.1, 5, 50)
    out = np.zeros((10, 10))
    scatter_density(xs, ys, hw, hh, np.ones(50), 10.0, 10.0, out)
    assert out.sum() == pytest.approx((4 * hw * hh).sum(), rel=1e-12)


def wa_reference(groups, pos, gamma):
    total = 0.0
    for net in groups:
        p = pos[net]
        total += (p * np.exp(p / gamma)).sum() / np.exp(p / gamma).sum()
        total -= (p * np.exp(-p / gamma)).sum() / np.exp(-p / gamma).sum()
    return total


def test_weighted_average_wirelength_value_and_gradient():
    rng = np.random.default_rng(2)
    groups = [rng.choice(30, size=k, replace=False) for k in (2, 3, 5, 8, 2, 4)]
    net_start = np.cumsum([0] + [len(g) for g in groups])
    net_pins = np.concatenate(groups)
    pos = rng.uniform(0, 20, 30)
    gamma = 3.0
    grad = np.zeros(30)
    value = _wa_axis(net_start, net_pins, np.ones(len(groups)), pos, gamma, grad)
    assert value == pytest.approx(wa_reference(groups, pos, gamma), rel=1e-12)
    hpwl_x = sum(pos[g].max() - pos[g].min() for g in groups)
    assert value <= hpwl_x
    numeric = np.empty(30)
    for i in range(30):
        plus, minus = pos.copy(), pos.copy()
        plus[i] += 1e-6
        minus[i] -= 1e-6
        numeric[i] = (wa_reference(groups, plus, gamma) - wa_reference(groups, minus, gamma)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-6)
    small = _wa_axis(net_start, net_pins, np.ones(len(groups)), pos, 1e-3, np.zeros(30))
    assert small == pytest.approx(hpwl_x, rel=1e-6)


def test_hpwl_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    nl, pl, _ = flat_design(rng, n_cells=50, n_nets=60)
    unplaced = rng.random(nl.n_nodes) < 0.1  # their pins are left out
    pl.x[unplaced] = pl.y[unplaced] = np.nan
    px, py = pl.pin_positions(nl)
    expected = 0.0
    for net in range(nl.n_nets):
        pins = nl.net_pins[nl.net_start[net] : nl.net_start[net + 1]]
        xs, ys = px[pins][~np.isnan(px[pins])], py[pins][~np.isnan(py[pins])]
        if xs.size > 1:
            expected += nl.net_weight[net] * (xs.max() - xs.min() + ys.max() - ys.min())
    assert hpwl(nl, pl) == pytest.approx(expected, rel=1e-12)


def spread_design():
    return flat_design(np.random.default_rng(4))


def test_place_analytic_invariants():
    nl, pl, fp = spread_design()
    soft = nl.nodes_of(NodeKind.STD_CELL)
    settings = AnalyticSettings(bins=16, target_overflow=0.15)
    result = place_analytic(nl, pl, fp, soft, settings)
    out = result.placement
    others = np.setdiff1d(np.arange(nl.n_nodes), soft)
    np.testing.assert_array_equal(out.x[others], pl.x[others])  # NaN-aware: unplaced stay unplaced
    np.testing.assert_array_equal(out.y[others], pl.y[others])
    half_w, half_h = nl.node_width[soft] / 2, nl.node_height[soft] / 2
    assert np.all(out.x[soft] - half_w >= -1e-9) and np.all(out.x[soft] + half_w <= fp.width + 1e-9)
    assert np.all(out.y[soft] - half_h >= -1e-9) and np.all(out.y[soft] + half_h <= fp.height + 1e-9)
    assert result.overflow <= 0.15 + 1e-9 or result.iterations == settings.max_iterations
    assert result.hpwl == pytest.approx(hpwl(nl, out))
    again = place_analytic(nl, pl, fp, soft, settings).placement
    assert again.equals(out)
    other_seed = place_analytic(nl, pl, fp, soft, AnalyticSettings(bins=16, target_overflow=0.15, seed=1)).placement
    assert not other_seed.equals(out)


def test_place_analytic_spreads_a_pile():
    """Nodes that all start on one spot end up spread: the overflow drops below the target."""
    nl, pl, fp = spread_design()
    soft = nl.nodes_of(NodeKind.STD_CELL)
    start = pl.copy()
    start.x[soft], start.y[soft] = fp.width / 2, fp.height / 2
    before = place_analytic(nl, start, fp, soft, AnalyticSettings(bins=32, max_iterations=0), use_current_loc=True)
    result = place_analytic(nl, start, fp, soft, AnalyticSettings(bins=32, target_overflow=0.1), use_current_loc=True)
    assert before.overflow > 0.5
    assert result.overflow <= 0.1 and result.iterations > 0


def test_use_current_loc_needs_placed_nodes():
    nl, pl, fp = spread_design()
    soft = nl.nodes_of(NodeKind.STD_CELL)
    pl = pl.copy()
    pl.x[soft[0]] = np.nan
    with pytest.raises(ValueError, match="use_current_loc"):
        place_analytic(nl, pl, fp, soft, use_current_loc=True)


def test_no_movable_nodes_is_a_no_op():
    nl, pl, fp = spread_design()
    result = place_analytic(nl, pl, fp, np.array([], dtype=int))
    assert result.iterations == 0 and result.placement.equals(pl)


def test_settings_are_checked():
    with pytest.raises(ValueError):
        AnalyticSettings(target_density=1.5)
    with pytest.raises(ValueError):
        AnalyticSettings(density_weight_growth=0.9)


def test_movable_hard_macros_charged_at_the_target_density_can_spread_to_it():
    # 50 equal macros, half the canvas, on 64 x 64 bins: each covers about 80 bins whole. Charged at
    # their full area those bins would stay 1 / 0.6 times the target (the same macros as soft macros,
    # which are charged so, end at overflow 0.33 after 1,000 steps); charged at the target they fit.
    design = synthetic.equal_macros(50, 0.5, seed=50)
    macros = design.netlist.nodes_of(NodeKind.HARD_MACRO)
    settings = AnalyticSettings(target_density=0.6, bins=64, hpwl_step=1e-2, max_iterations=1000)
    result = place_analytic(design.netlist, design.placement, design.floorplan, macros, settings)
    assert result.overflow <= settings.target_overflow and result.iterations < settings.max_iterations
    assert np.isfinite(result.placement.x[macros]).all() and np.isfinite(result.placement.y[macros]).all()
