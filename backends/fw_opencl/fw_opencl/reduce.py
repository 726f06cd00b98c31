"""Reductions, arg-reductions, scans, sorting and the softmax family.

Every op here sees its input as M rows of R elements: the kept dims (any strides) index
the rows, the reduced / scanned / sorted dims the elements of a row. Two kernel shapes
(see kernels/reduce.cl): "rows", one work-group per row reducing through a tree in local
memory, for rows that are contiguous (reads coalesce across the group); and "cols", one
work-item per row looping over it, for rows whose neighbours are neighbours in memory
(reads coalesce across work-items). When there are too few rows to fill the device, rows
are split into chunks whose partial results are reduced by a second, small launch.
Output shapes and empty / 0-dim / bool cases are framework/buffer_backend.py's; the
methods here are its kernel hooks.
"""
import numpy as np

from framework import dtypes as dt
from framework.device import View, contiguous_strides, merge_dims, numel, split_dims

from .layout import pack
from .runtime import cl

_RED = "reduce.cl"
_SORT = "reduce_sort.cl"
_LIMITS = {"float": ("-INFINITY", "INFINITY"), "double": ("-INFINITY", "INFINITY"),
           "int": ("INT_MIN", "INT_MAX"), "long": ("LONG_MIN", "LONG_MAX"), "uchar": ("0", "1")}
_defines = {}


def _i32(v):
    return np.int32(v)


def _cdiv(a, b):
    return -(-a // b)


def _pow2_at_least(n):
    return 1 << max(0, n - 1).bit_length()


def _pow2_at_most(n):
    return 1 << (n.bit_length() - 1)


def _inner_stride(shape, strides):
    """The stride of the innermost dim left after merging (0 when nothing is left)."""
    ms, (mst,) = merge_dims(shape, [strides])
    return mst[-1] if ms else 0


_ONE_PASS = 1 << 16  # elements a column reduction sums in one launch regardless of shape

class ReduceOps:
    # -- tuning and kernels ----------------------------------------------------------
    def _rtune(self):
        """(work-groups, work-items) enough to fill the device, local memory budget."""
        t = self.__dict__.get("_rtune_")
        if t is None:
            cu = self.rt.device.max_compute_units
            t = self._rtune_ = (max(8, 4 * cu), max(2048, 1024 * cu),
                                min(self.rt.lim.local_mem, 32768))
        return t

    def _rdefs(self, dtype):
        d = _defines.get(dtype.name)
        if d is None:
            c = self.ctype(dtype)
            lo, hi = _LIMITS[c]
            d = [("T", c), ("TMIN", lo), ("TMAX", hi)]
            if dtype.is_floating_point:
                d.append(("IS_FLOAT", "1"))
            if dtype is dt.bool:
                d.append(("IS_BOOL", "1"))
            d = _defines[dtype.name] = tuple(d)
        return d

    def _rkernel(self, file, name, dtype):
        """The kernel and the largest power-of-two work-group (at most 256) it runs with."""
        key = (file, name, dtype.name)
        cache = self.__dict__.setdefault("_rkernels_", {})
        hit = cache.get(key)
        if hit is None:
            k = self.rt.kernel(file, name, self._rdefs(dtype))
            most = k.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE,
                                         self.rt.device)
            hit = cache[key] = (k, _pow2_at_most(min(256, most, self.rt.lim.group_size)))
        return hit

    def _group_per_row_fits(self, M, R):
        """Whether M work-groups (one per row of R) keep the launch within the device's
        global size: else the one-work-item-per-row kernels run (tensors past 2**30)."""
        return M * min(256, _pow2_at_least(R)) <= self.rt.lim.global_size

    def _launch_items(self, k, wg, n, *args):
        """One work-item per index < n (kernels check the bound), in groups of <= 64."""
        local = min(64, wg)
        self.rt.launch(k, (_cdiv(n, local) * local,), (local,), *args)

    # -- reduce (edge cases: framework/buffer_backend.py) -----------------------------
    def _reduce_kernel(self, op, x, split, shape, out_dtype):
        out = self._reduce_rows(op, x.buf, x.dtype, x.offset, *split)
        return View(out.buf, shape, contiguous_strides(shape), 0, out_dtype)

    def _reduce_rows(self, op, buf, dtype, offset, ks, kst, rs, rst):
        """A contiguous (M,) View: op over the rs-shaped rows at offset + kept offsets."""
        groups, items, _ = self._rtune()
        M, R = numel(ks), numel(rs)
        acc = dt.bool if op in ("all", "any") else dtype
        dk = pack(ks, (kst,), (offset,))
        dr = pack(rs, (rst,), (0,))
        sr = _inner_stride(rs, rst)
        rows = R > 1 and ((sr == 1 and R >= 16) or (M < items // 4 and R > 64))
        if rows and self._group_per_row_fits(M, R):
            k, wg = self._rkernel(_RED, "rows_" + op, dtype)
            wg = min(wg, _pow2_at_least(R))
            S = 1 if M >= groups else max(1, min(_cdiv(groups, M), _cdiv(R, wg * 4)))
            chunk = _cdiv(R, S)
            S = _cdiv(R, chunk)
            out = self.new((M * S,), acc)
            self.rt.launch(k, (M * S * wg,), (wg,), out.buf.mem, buf.mem, dk, dr, _i32(R),
                           _i32(S), _i32(chunk), cl.LocalMemory(wg * acc.itemsize))
            if S == 1:
                return out
            return self._reduce_rows(op, out.buf, acc, 0, (M,), (S,), (S,), (1,))
        k, wg = self._rkernel(_RED, "cols_" + op, dtype)
        # Split the rows for parallelism, unless the whole job is small enough that a
        # second launch (for the partial sums) costs more than it saves.
        S = 1 if M >= items or R < 64 or M * R <= _ONE_PASS else \
            max(1, min(_cdiv(items, M), _cdiv(R, 32)))
        chunk = _cdiv(R, S)
        S = _cdiv(R, chunk)
        out = self.new((S * M,), acc)
        self._launch_items(k, wg, M * S, out.buf.mem, buf.mem, dk, dr, _i32(R), _i32(M),
                           _i32(S), _i32(chunk))
        if S == 1:
            return out
        return self._reduce_rows(op, out.buf, acc, 0, (M,), (1,), (S,), (M,))

    # -- argmax / argmin -------------------------------------------------------------
    def _arg_reduce_kernel(self, op, x, dim, out):
        ks, kst, rs, rst = split_dims(x, (dim,))
        M, R = numel(ks), rs[0]
        groups, items, _ = self._rtune()
        mx = _i32(op == "argmax")
        dk = pack(ks, (kst,), (x.offset,))
        dr = pack(rs, (rst,), (0,))
        if R > 1 and ((rst[0] == 1 and R >= 16) or (M < items // 4 and R > 64)) \
                and self._group_per_row_fits(M, R):
            k, wg = self._rkernel(_RED, "arg_rows", x.dtype)
            wg = min(wg, _pow2_at_least(R))
            S = 1 if M >= groups else max(1, min(_cdiv(groups, M), _cdiv(R, wg * 4)))
            chunk = _cdiv(R, S)
            S = _cdiv(R, chunk)
            pv = self.new((M * S,), x.dtype) if S > 1 else out
            pi = self.rt.alloc(M * S * 4) if S > 1 else out.buf
            loc = (cl.LocalMemory(wg * x.dtype.itemsize), cl.LocalMemory(wg * 4))
            self.rt.launch(k, (M * S * wg,), (wg,), out.buf.mem, pv.buf.mem, pi.mem,
                           x.buf.mem, dk, dr, _i32(R), _i32(S), _i32(chunk), mx, *loc)
            if S > 1:
                k, wg = self._rkernel(_RED, "arg_merge", x.dtype)
                wg = min(wg, _pow2_at_least(S))
                loc = (cl.LocalMemory(wg * x.dtype.itemsize), cl.LocalMemory(wg * 4))
                self.rt.launch(k, (M * wg,), (wg,), out.buf.mem, pv.buf.mem, pi.mem, _i32(S),
                               mx, *loc)
            return
        k, wg = self._rkernel(_RED, "arg_cols", x.dtype)
        self._launch_items(k, wg, M, out.buf.mem, x.buf.mem, dk, dr, _i32(R), mx)

    # -- one-dim row ops: scan, softmax, sort ----------------------------------------
    def _along(self, x, dim, out):
        """(M, R, layout of the row starts in x and out, x's and out's strides along dim)."""
        ks, kst, _, _ = split_dims(x, (dim,))
        okst = tuple(st for i, st in enumerate(out.strides) if i != dim)
        d = pack(ks, (kst, okst), (x.offset, out.offset))
        return numel(ks), x.shape[dim], d, x.strides[dim], out.strides[dim]

    # Hooks of framework/buffer_backend.py: x non-empty and at least 1-d.
    def _scan_kernel(self, x, dim, out, op):
        M, R, d, xs, os = self._along(x, dim, out)
        prod = _i32(op == "prod")
        _, items, _ = self._rtune()
        if R <= 16 or (xs != 1 and M >= 256) or M >= items:
            k, wg = self._rkernel(_RED, "scan_cols", x.dtype)
            self._launch_items(k, wg, M, out.buf.mem, x.buf.mem, d, _i32(R), _i32(xs),
                               _i32(os), prod)
        else:
            k, wg = self._rkernel(_RED, "scan_rows", x.dtype)
            wg = min(wg, _pow2_at_least(R))
            self.rt.launch(k, (M * wg,), (wg,), out.buf.mem, x.buf.mem, d, _i32(R),
                           _i32(xs), _i32(os), prod, cl.LocalMemory(wg * x.dtype.itemsize))

    def _softmax_kernel(self, x, dim, out, log):
        M, R, d, xs, os = self._along(x, dim, out)
        _, items, _ = self._rtune()
        if R > 32 and (xs == 1 or M < items // 4) and self._group_per_row_fits(M, R):
            k, wg = self._rkernel(_RED, "softmax_rows", x.dtype)
            wg = min(wg, _pow2_at_least(R))
            loc = cl.LocalMemory(wg * x.dtype.itemsize)
            self.rt.launch(k, (M * wg,), (wg,), out.buf.mem, x.buf.mem, d, _i32(R),
                           _i32(xs), _i32(os), _i32(log), loc, loc)
        else:
            k, wg = self._rkernel(_RED, "softmax_cols", x.dtype)
            self._launch_items(k, wg, M, out.buf.mem, x.buf.mem, d, _i32(R), _i32(xs),
                               _i32(os), _i32(log))

    def _sort_kernel(self, x, dim, vals, idx, descending):
        # Stable: sorting (value, index) pairs costs nothing extra and gives one answer.
        desc = _i32(descending)
        M, R, d, xs, os = self._along(x, dim, vals)
        _, _, local = self._rtune()
        size = x.dtype.itemsize
        k, wg = self._rkernel(_SORT, "sort_block", x.dtype)
        n = min(_pow2_at_least(R), _pow2_at_most(local // (size + 4)))
        nb = _cdiv(R, n)
        wg = max(1, min(wg, n // 2))
        tk = self.rt.alloc(M * R * size) if nb > 1 else vals.buf
        ti = self.rt.alloc(M * R * 4) if nb > 1 else idx.buf
        self.rt.launch(k, (M * nb * wg,), (wg,), vals.buf.mem, idx.buf.mem, tk.mem, ti.mem,
                       x.buf.mem, d, _i32(R), _i32(xs), _i32(os), _i32(n), _i32(nb), desc,
                       cl.LocalMemory(n * size), cl.LocalMemory(n * 4))
        if nb == 1:
            return
        # Sorted blocks of n: merge pairs of runs until one run spans the row.
        k, wg = self._rkernel(_SORT, "sort_merge", x.dtype)
        local = min(64, wg)
        gsize = (_cdiv(R, local) * local, M)
        tk2, ti2 = self.rt.alloc(M * R * size), self.rt.alloc(M * R * 4)
        w = n
        while w < R:
            self.rt.launch(k, gsize, (local, 1), tk2.mem, ti2.mem, tk.mem, ti.mem, _i32(R),
                           _i32(M), _i32(w), desc)
            tk, ti, tk2, ti2 = tk2, ti2, tk, ti
            w *= 2
        k, _ = self._rkernel(_SORT, "sort_write", x.dtype)
        self.rt.launch(k, gsize, (local, 1), vals.buf.mem, idx.buf.mem, tk.mem, ti.mem, d,
                       _i32(R), _i32(M), _i32(os))
