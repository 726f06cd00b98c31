"""L-BFGS, as `torch.optim.LBFGS`: one `step(closure)` runs up to `max_iter` iterations.

The search direction comes from the two-loop recursion over the last `history_size`
curvature pairs (Nocedal & Wright, Numerical Optimization, Algorithm 7.4). The step
length is either the fixed `lr` or found by a line search that satisfies the strong
Wolfe conditions (ibid., Algorithms 3.5 and 3.6, with the cubic interpolation of
eq. 3.59 and PyTorch's safeguards and defaults, so the iterates agree with PyTorch's).
All parameters are handled as one flat vector; scalars are Python floats.
"""
import math

from ..autograd import grad_mode
from ..ops import cat, zeros
from .optimizer import Optimizer, _lr_check, _scalar

__all__ = ["LBFGS"]


def _cubic_min(a, fa, ga, b, fb, gb, lo=None, hi=None):
    """Minimiser of the cubic through (a, fa) and (b, fb) with slopes ga, gb, clamped to
    [lo, hi] (by default the interval between a and b); the midpoint when the cubic has
    no minimiser."""
    if lo is None:
        lo, hi = min(a, b), max(a, b)
    d1 = ga + gb - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.copysign(math.sqrt(disc), b - a)
    x = b - (b - a) * (gb + d2 - d1) / (gb - ga + 2 * d2)
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f0, g0, gtd0, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search along d from the current point (loss f0, gradient g0, slope gtd0 < 0).
    `evaluate(t)` gives (loss, flat gradient) at x + t d. Returns (f, g, t, evaluations)."""
    d_norm = d.abs().max().item()

    def sufficient_decrease(t_, f_):
        return f_ <= f0 + c1 * t_ * gtd0

    def curvature(gtd_):
        return abs(gtd_) <= -c2 * gtd0

    f, g = evaluate(t)
    gtd = g.dot(d).item()
    evals, it = 1, 0
    prev = (0.0, f0, g0, gtd0)  # (t, f, g, slope) of the previous trial
    pts = None                  # the bracket: two such tuples
    # Phase 1 (Algorithm 3.5): grow the step until the minimiser is bracketed.
    while it < max_ls:
        if not sufficient_decrease(t, f) or (it > 1 and f >= prev[1]):
            pts = [prev, (t, f, g, gtd)]
            break
        if curvature(gtd):
            return f, g, t, evals
        if gtd >= 0:
            pts = [prev, (t, f, g, gtd)]
            break
        # extrapolate, at least 1% beyond t and at most 10 t
        t_new = _cubic_min(prev[0], prev[1], prev[3], t, f, gtd,
                           t + 0.01 * (t - prev[0]), t * 10)
        prev = (t, f, g, gtd)
        t = t_new
        f, g = evaluate(t)
        gtd = g.dot(d).item()
        evals += 1
        it += 1
    if pts is None:  # out of evaluations while still descending
        pts = [(0.0, f0, g0, gtd0), (t, f, g, gtd)]
    # Phase 2 (Algorithm 3.6, "zoom"): shrink the bracket; `lo` has the lower loss.
    lo, hi = (0, 1) if pts[0][1] <= pts[1][1] else (1, 0)
    stuck = False
    while it < max_ls:
        a, b = pts[0][0], pts[1][0]
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_min(*pts[0][:2], pts[0][3], *pts[1][:2], pts[1][3])
        # Keep the trial at least 10% of the bracket away from its ends; the first time
        # it comes close inside the bracket, allow it once (it may be good progress).
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if stuck or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f, g = evaluate(t)
        gtd = g.dot(d).item()
        evals += 1
        it += 1
        if not sufficient_decrease(t, f) or f >= pts[lo][1]:
            pts[hi] = (t, f, g, gtd)
            lo, hi = (0, 1) if pts[0][1] <= pts[1][1] else (1, 0)
            continue
        if curvature(gtd):
            pts[lo] = (t, f, g, gtd)
            break
        if gtd * (pts[hi][0] - pts[lo][0]) >= 0:
            pts[hi] = pts[lo]
        pts[lo] = (t, f, g, gtd)
    t, f, g, _ = pts[lo]
    return f, g, t, evals


class LBFGS(Optimizer):
    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _lr_check(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector -------------------------------------------------
    def _flat_grad(self):
        p0 = self._params[0]
        return cat([p.grad.reshape(-1) if p.grad is not None
                    else zeros(p.numel(), dtype=p.dtype, device=p.device)
                    for p in self._params], 0)

    def _add(self, t, d):
        """params += t * d"""
        off = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[off:off + n].view(p.shape), alpha=t)
            off += n

    def _directional_evaluate(self, closure, x, t, d):
        self._add(t, d)
        with grad_mode.enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        for p, v in zip(self._params, x):
            p.copy_(v)
        return loss, g

    def step(self, closure):
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr = _scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history_size = group["line_search_fn"], group["history_size"]
        if line_search is not None and line_search != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")

        def evaluate():
            with grad_mode.enable_grad():
                out = closure()
            return out, float(out)

        with grad_mode.no_grad():
            st = self.state[self._params[0]]
            st.setdefault("func_evals", 0)
            st.setdefault("n_iter", 0)
            orig_loss, loss = evaluate()
            evals = 1
            st["func_evals"] += 1
            g = self._flat_grad()
            if g.abs().max().item() <= tol_grad:
                return orig_loss
            d, t = st.get("d"), st.get("t")
            ys_hist, ss_hist, rho = st.get("old_dirs"), st.get("old_stps"), st.get("ro")
            h_diag, prev_g, prev_loss = st.get("H_diag"), st.get("prev_flat_grad"), st.get("prev_loss")
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                st["n_iter"] += 1
                if st["n_iter"] == 1:
                    d = -g
                    ys_hist, ss_hist, rho, h_diag = [], [], [], 1.0
                else:
                    # the newest curvature pair, kept only when it is positive (keeps H p.d.)
                    y, s = g - prev_g, d * t
                    ys = y.dot(s).item()
                    if ys > 1e-10:
                        if len(ys_hist) == history_size:
                            del ys_hist[0], ss_hist[0], rho[0]
                        ys_hist.append(y)
                        ss_hist.append(s)
                        rho.append(1.0 / ys)
                        h_diag = ys / y.dot(y).item()
                    d = self._two_loop(g, ys_hist, ss_hist, rho, h_diag)
                prev_g = g.clone()
                prev_loss = loss
                t = min(1.0, 1.0 / g.abs().sum().item()) * lr if st["n_iter"] == 1 else lr
                gtd = g.dot(d).item()
                if gtd > -tol_change:  # not a descent direction
                    break
                step_evals = 0
                if line_search is not None:
                    x0 = [p.clone() for p in self._params]
                    loss, g, t, step_evals = _strong_wolfe(
                        lambda t_: self._directional_evaluate(closure, x0, t_, d), t, d, loss,
                        g, gtd, tolerance_change=tol_change, max_ls=max_eval - evals)
                    self._add(t, d)
                    opt_cond = g.abs().max().item() <= tol_grad
                else:
                    self._add(t, d)
                    opt_cond = False
                    if n_iter != max_iter:  # the last iteration's loss is the next step's
                        _, loss = evaluate()
                        g = self._flat_grad()
                        opt_cond = g.abs().max().item() <= tol_grad
                        step_evals = 1
                evals += step_evals
                st["func_evals"] += step_evals
                if (n_iter == max_iter or evals >= max_eval or opt_cond
                        or (d * t).abs().max().item() <= tol_change
                        or abs(loss - prev_loss) < tol_change):
                    break
            st.update(d=d, t=t, old_dirs=ys_hist, old_stps=ss_hist, ro=rho, H_diag=h_diag,
                      prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(g, ys, ss, rho, h_diag):
        """-H g for the L-BFGS inverse-Hessian estimate H (Algorithm 7.4)."""
        q = -g
        alphas = [0.0] * len(ys)
        for i in range(len(ys) - 1, -1, -1):
            alphas[i] = ss[i].dot(q).item() * rho[i]
            q.add_(ys[i], alpha=-alphas[i])
        r = q * h_diag
        for i in range(len(ys)):
            beta = ys[i].dot(r).item() * rho[i]
            r.add_(ss[i], alpha=alphas[i] - beta)
        return r
