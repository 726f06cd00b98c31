"""Edge cases PyTorch defines, run in fw and torch side by side (issue 14, classes 4 and 5).

ERRORS: calls with bad arguments. torch must refuse each one; fw must refuse it with the
same exception type (or a subclass), on every device. VALUES: calls at the edges (empty
tensors, division by zero, out-of-range scalars) that torch answers; fw must give the
same answer. In each case `L` is the library and `D` the device (torch always runs on
its CPU). Run this file as a script to print every mismatch at once.
"""
import math

import numpy as np
import pytest
import torch

import framework as fw

ERRORS = [
    # -- creation -----------------------------------------------------------------------------
    ("eye_negative", "L.eye(-1, device=D)"),
    ("eye_negative_m", "L.eye(2, -3, device=D)"),
    ("eye_float", "L.eye(2.5, device=D)"),
    ("arange_nan", "L.arange(0, float('nan'), device=D)"),
    ("arange_inf", "L.arange(0, float('inf'), device=D)"),
    ("arange_start_inf", "L.arange(float('-inf'), 0, device=D)"),
    ("arange_step_nan", "L.arange(0, 5, float('nan'), device=D)"),
    ("arange_zero_step", "L.arange(0, 5, 0, device=D)"),
    ("arange_wrong_sign", "L.arange(5, 0, 1, device=D)"),
    ("linspace_negative", "L.linspace(0, 1, -1, device=D)"),
    ("empty_huge", "L.empty(10**12, device=D)"),
    ("zeros_huge", "L.zeros(10**7, 10**6, device=D)"),
    ("ones_huge_int64", "L.ones(2**40, 2**30, device=D)"),
    ("full_huge", "L.full((10**12,), 1.0, device=D)"),
    ("zeros_negative", "L.zeros(2, -1, device=D)"),
    ("zeros_float_size", "L.zeros(2.5, device=D)"),
    ("full_int32_overflow", "L.full((2,), 2**40, dtype=L.int32, device=D)"),
    ("tensor_int32_overflow", "L.tensor([2**40], dtype=L.int32, device=D)"),
    ("tensor_ragged", "L.tensor([[1, 2], [3]], device=D)"),
    ("tensor_too_big_int", "L.tensor([2**70], device=D)"),
    ("rand_int_dtype", "L.rand(2, dtype=L.int64, device=D)"),
    ("randn_negative", "L.randn(-2, device=D)"),
    ("randint_empty_range", "L.randint(5, 2, (3,), device=D)"),
    ("randperm_negative", "L.randperm(-1, device=D)"),
    ("normal_negative_std", "L.normal(0.0, -1.0, (2,), device=D)"),
    ("multinomial_too_many", "L.multinomial(L.tensor([0.5, 0.5], device=D), 3)"),
    ("multinomial_negative_p", "L.multinomial(L.tensor([0.5, -0.5], device=D), 1)"),
    ("multinomial_zero_sum", "L.multinomial(L.tensor([0.0, 0.0], device=D), 1)"),
    ("multinomial_3d", "L.multinomial(L.ones(2, 2, 2, device=D), 1)"),
    ("multinomial_zero_samples", "L.multinomial(L.ones(2, device=D), 0)"),
    ("multinomial_nan", "L.multinomial(L.tensor([float('nan'), 1.0], device=D), 1)"),
    ("multinomial_inf", "L.multinomial(L.tensor([float('inf'), 1.0], device=D), 1)"),
    ("multinomial_int", "L.multinomial(L.tensor([1, 1], device=D), 1)"),
    ("bernoulli_p_out_of_range", "L.bernoulli(L.tensor([1.5], device=D))"),
    ("fill_int32_overflow", "L.ones(2, dtype=L.int32, device=D).fill_(2**40)"),
    ("fill_float32_overflow", "L.zeros(2, device=D).fill_(1e300)"),
    ("full_nan_int", "L.full((2,), float('nan'), dtype=L.int32, device=D)"),
    ("new_full_overflow", "L.ones(2, device=D).new_full((2,), 2**40, dtype=L.int32)"),
    ("tensor_float_to_int_overflow", "L.tensor([1e20], dtype=L.int64, device=D)"),
    ("tensor_nan_to_int", "L.tensor([float('nan')], dtype=L.int32, device=D)"),
    ("arange_bool", "L.arange(0, 3, dtype=L.bool, device=D)"),
    ("linspace_float_steps", "L.linspace(0, 1, 2.5, device=D)"),
    # -- shapes -------------------------------------------------------------------------------
    ("view_two_inferred", "L.ones(2, 6, device=D).view(-1, -1)"),
    ("view_wrong_numel", "L.ones(2, 6, device=D).view(5, 3)"),
    ("view_negative", "L.ones(2, 6, device=D).view(-2, 6)"),
    ("view_non_contiguous", "L.ones(2, 6, device=D).t().view(12)"),
    ("reshape_zero_infer", "L.ones(2, 6, device=D).reshape(0, -1)"),
    ("reshape_float", "L.ones(2, 6, device=D).reshape(2.0, 6)"),
    ("expand_mismatch", "L.ones(3, 2, device=D).expand(2, 3)"),
    ("expand_fewer_dims", "L.ones(3, 2, device=D).expand(2)"),
    ("expand_new_minus_one", "L.ones(3, device=D).expand(-1, 3)"),
    ("expand_negative", "L.ones(1, device=D).expand(-2)"),
    ("permute_duplicate", "L.ones(2, 3, device=D).permute(0, 0)"),
    ("permute_too_few", "L.ones(2, 3, device=D).permute(0)"),
    ("permute_out_of_range", "L.ones(2, 3, device=D).permute(0, 5)"),
    ("squeeze_bad_dim", "L.ones(2, 3, device=D).squeeze(5)"),
    ("unsqueeze_bad_dim", "L.ones(2, 3, device=D).unsqueeze(4)"),
    ("transpose_bad_dim", "L.ones(2, 3, device=D).transpose(0, 3)"),
    ("t_of_3d", "L.ones(2, 3, 4, device=D).t()"),
    ("flatten_reversed", "L.ones(2, 3, 4, device=D).flatten(2, 1)"),
    ("unflatten_bad", "L.ones(2, 6, device=D).unflatten(1, (4, 2))"),
    ("cat_mismatch", "L.cat([L.ones(2, 3, device=D), L.ones(2, 4, device=D)])"),
    ("cat_ndim_mismatch", "L.cat([L.ones(2, 3, device=D), L.ones(3, device=D)])"),
    ("cat_empty_list", "L.cat([])"),
    ("cat_bad_dim", "L.cat([L.ones(2, device=D), L.ones(2, device=D)], 1)"),
    ("cat_scalars", "L.cat([L.tensor(1.0, device=D), L.tensor(2.0, device=D)])"),
    ("stack_mismatch", "L.stack([L.ones(2, device=D), L.ones(3, device=D)])"),
    ("stack_empty", "L.stack([])"),
    ("split_sizes_sum", "L.ones(5, device=D).split([2, 2])"),
    ("split_zero", "L.ones(5, device=D).split(0)"),
    ("split_negative_size", "L.ones(5, device=D).split([6, -1])"),
    ("chunk_zero", "L.ones(5, device=D).chunk(0)"),
    ("narrow_past_end", "L.ones(3, device=D).narrow(0, 2, 5)"),
    ("narrow_negative_length", "L.ones(3, device=D).narrow(0, 0, -1)"),
    ("select_out_of_range", "L.ones(3, device=D).select(0, 3)"),
    ("flip_duplicate", "L.ones(2, 3, device=D).flip(0, 0)"),
    ("roll_misaligned", "L.ones(2, 3, device=D).roll((1, 2), 0)"),
    ("movedim_duplicate", "L.ones(2, 3, device=D).movedim((0, 0), (0, 1))"),
    ("diagonal_same_dims", "L.ones(2, 3, device=D).diagonal(0, 0, 0)"),
    ("tril_1d", "L.ones(3, device=D).tril()"),
    ("repeat_too_few", "L.ones(2, 3, device=D).repeat(2)"),
    ("repeat_negative", "L.ones(2, device=D).repeat(-1)"),
    ("pad_odd", "L.nn.functional.pad(L.ones(2, 3, device=D), (1,))"),
    ("pad_too_long", "L.nn.functional.pad(L.ones(3, device=D), (1, 1, 1, 1))"),
    ("as_strided_out_of_storage", "L.ones(4, device=D).as_strided((3,), (2,), 0)"),
    ("size_bad_dim", "L.ones(2, device=D).size(3)"),
    ("len_of_scalar", "len(L.tensor(1.0, device=D))"),
    ("iter_of_scalar", "iter(L.tensor(1.0, device=D))"),
    ("item_of_many", "L.ones(2, device=D).item()"),
    ("bool_of_many", "bool(L.ones(2, device=D))"),
    ("int_of_many", "int(L.ones(2, device=D))"),
    ("index_of_float", "[1, 2][L.tensor(1.0, device=D)]"),
    ("reshape_empty_ambiguous", "L.ones(0, device=D).reshape(0, 5, -1)"),
    ("view_empty_ambiguous", "L.ones(0, device=D).view(-1, 0)"),
    ("unbind_bad_dim", "L.ones(2, 3, device=D).unbind(2)"),
    ("chunk_bad_dim", "L.ones(2, 3, device=D).chunk(2, 5)"),
    ("stack_bad_dim", "L.stack([L.ones(2, device=D)], 3)"),
    ("diagonal_bad_dim", "L.ones(2, 3, device=D).diagonal(0, 0, 5)"),
    ("movedim_bad_dim", "L.ones(2, 3, device=D).movedim(0, 5)"),
    ("roll_bad_dim", "L.ones(2, device=D).roll(1, 3)"),
    ("flip_bad_dim", "L.ones(2, device=D).flip(3)"),
    ("split_negative", "L.ones(3, device=D).split(-1)"),
    ("mT_of_1d", "L.ones(3, device=D).mT"),
    ("item_of_empty", "L.ones(0, device=D).item()"),
    ("float_of_many", "float(L.ones(2, device=D))"),
    # -- indexing -----------------------------------------------------------------------------
    ("index_int_out_of_range", "L.ones(3, device=D)[3]"),
    ("index_negative_out_of_range", "L.ones(3, device=D)[-4]"),
    ("index_too_many", "L.ones(3, device=D)[0, 0]"),
    ("index_tensor_out_of_range", "L.ones(3, device=D)[L.tensor([3], device=D)]"),
    ("index_tensor_negative", "L.ones(3, device=D)[L.tensor([-4], device=D)]"),
    ("index_float_tensor", "L.ones(3, device=D)[L.tensor([1.0], device=D)]"),
    ("index_float", "L.ones(3, device=D)[1.0]"),
    ("index_mask_shape", "L.ones(3, device=D)[L.tensor([True, False], device=D)]"),
    ("index_list_out_of_range", "L.ones(3, device=D)[[0, 5]]"),
    ("index_slice_zero_step", "L.ones(3, device=D)[::0]"),
    ("index_slice_negative_step", "L.ones(3, device=D)[::-1]"),
    ("setitem_shape", "L.ones(3, device=D).__setitem__(slice(None), L.ones(2, device=D))"),
    ("setitem_out_of_range", "L.ones(3, device=D).__setitem__(L.tensor([5], device=D), 1.0)"),
    ("index_none_then_out_of_range", "L.ones(2, device=D)[None, None, 5]"),
    ("index_list_column_out_of_range", "L.ones(2, 3, device=D)[:, [0, 3]]"),
    ("index_mask_2d_shape", "L.ones(2, 3, device=D)[L.tensor([[True]], device=D)]"),
    ("index_fill_out_of_range", "L.ones(3, device=D).index_fill(0, L.tensor([5], device=D), 1.0)"),
    ("index_add_out_of_range",
     "L.ones(3, device=D).index_add(0, L.tensor([5], device=D), L.ones(1, device=D))"),
    ("index_copy_shape",
     "L.ones(3, device=D).index_copy(0, L.tensor([0], device=D), L.ones(2, device=D))"),
    ("index_select_float", "L.index_select(L.ones(3, device=D), 0, L.tensor([0.0], device=D))"),
    ("index_select_out_of_range", "L.index_select(L.ones(3, device=D), 0, L.tensor([3], device=D))"),
    ("index_select_negative", "L.index_select(L.ones(3, device=D), 0, L.tensor([-1], device=D))"),
    ("index_select_2d", "L.index_select(L.ones(3, device=D), 0, L.tensor([[0]], device=D))"),
    ("index_select_bad_dim", "L.index_select(L.ones(3, device=D), 1, L.tensor([0], device=D))"),
    ("gather_out_of_range", "L.gather(L.ones(3, device=D), 0, L.tensor([3], device=D))"),
    ("gather_negative", "L.gather(L.ones(3, device=D), 0, L.tensor([-1], device=D))"),
    ("gather_float_index", "L.gather(L.ones(3, device=D), 0, L.tensor([0.0], device=D))"),
    ("gather_ndim_mismatch", "L.gather(L.ones(3, device=D), 0, L.tensor([[0]], device=D))"),
    ("gather_index_too_big", "L.gather(L.ones(2, 2, device=D), 1, L.zeros(3, 2, dtype=L.int64, device=D))"),
    ("scatter_out_of_range", "L.ones(3, device=D).scatter(0, L.tensor([3], device=D), 1.0)"),
    ("scatter_add_out_of_range",
     "L.ones(3, device=D).scatter_add(0, L.tensor([3], device=D), L.ones(1, device=D))"),
    ("scatter_float_index", "L.ones(3, device=D).scatter(0, L.tensor([0.0], device=D), 1.0)"),
    ("masked_select_not_bool", "L.masked_select(L.ones(3, device=D), L.ones(3, device=D))"),
    ("masked_fill_not_bool", "L.ones(3, device=D).masked_fill(L.ones(3, device=D), 0.0)"),
    ("masked_fill_shape", "L.ones(3, device=D).masked_fill(L.ones(4, dtype=L.bool, device=D), 0.0)"),
    ("where_not_bool", "L.where(L.ones(3, device=D), L.ones(3, device=D), 0.0)"),
    ("where_shape", "L.where(L.ones(3, dtype=L.bool, device=D), L.ones(2, device=D), 0.0)"),
    ("index_put_out_of_range",
     "L.ones(3, device=D).index_put((L.tensor([3], device=D),), L.tensor(1.0, device=D))"),
    ("embedding_out_of_range",
     "L.nn.functional.embedding(L.tensor([4], device=D), L.ones(4, 2, device=D))"),
    ("embedding_negative",
     "L.nn.functional.embedding(L.tensor([-1], device=D), L.ones(4, 2, device=D))"),
    ("embedding_float_index",
     "L.nn.functional.embedding(L.tensor([1.0], device=D), L.ones(4, 2, device=D))"),
    ("one_hot_negative", "L.nn.functional.one_hot(L.tensor([-1], device=D))"),
    ("one_hot_too_big", "L.nn.functional.one_hot(L.tensor([3], device=D), 3)"),
    ("one_hot_float", "L.nn.functional.one_hot(L.tensor([1.0], device=D))"),
    # -- reductions ---------------------------------------------------------------------------
    ("sum_bad_dim", "L.ones(3, device=D).sum(1)"),
    ("sum_duplicate_dims", "L.ones(2, 3, device=D).sum((0, 0))"),
    ("max_empty", "L.ones(0, device=D).max()"),
    ("min_empty", "L.ones(0, 3, device=D).min()"),
    ("amax_empty", "L.amax(L.ones(0, device=D))"),
    ("amin_empty_dim", "L.amin(L.ones(0, 3, device=D), 0)"),
    ("max_empty_dim", "L.ones(0, 3, device=D).max(0)"),
    ("argmax_empty", "L.ones(0, device=D).argmax()"),
    ("argmin_empty_dim", "L.ones(3, 0, device=D).argmin(1)"),
    ("argmax_bad_dim", "L.ones(3, device=D).argmax(2)"),
    ("median_empty_dim", "L.ones(0, 3, device=D).median(0)"),
    ("topk_too_big", "L.ones(3, device=D).topk(4)"),
    ("topk_negative", "L.ones(3, device=D).topk(-1)"),
    ("sort_bad_dim", "L.ones(3, device=D).sort(1)"),
    ("cumsum_bad_dim", "L.ones(3, device=D).cumsum(1)"),
    ("softmax_bad_dim", "L.softmax(L.ones(3, device=D), 1)"),
    ("softmax_int", "L.softmax(L.ones(3, dtype=L.int64, device=D), 0)"),
    ("log_softmax_int", "L.log_softmax(L.ones(3, dtype=L.int64, device=D), 0)"),
    ("mean_int", "L.ones(3, dtype=L.int64, device=D).mean()"),
    ("var_int", "L.ones(3, dtype=L.int64, device=D).var()"),
    ("norm_int", "L.ones(3, dtype=L.int64, device=D).norm()"),
    ("norm_inf_empty", "L.ones(0, device=D).norm(float('inf'))"),
    ("logsumexp_bad_dim", "L.logsumexp(L.ones(3, device=D), 1)"),
    ("topk_bad_dim", "L.ones(3, device=D).topk(1, dim=2)"),
    ("sum_float_dim", "L.ones(2, device=D).sum(dim=1.5)"),
    ("softmax_dim_out_of_range", "L.nn.functional.softmax(L.ones(3, device=D), dim=5)"),
    ("normalize_bad_dim", "L.nn.functional.normalize(L.ones(3, device=D), dim=2)"),
    # -- elementwise --------------------------------------------------------------------------
    ("add_shape", "L.ones(2, device=D) + L.ones(3, device=D)"),
    ("add_string", "L.ones(2, device=D) + 'a'"),
    ("add_too_big_int", "L.ones(2, dtype=L.int32, device=D) + 2**70"),
    ("add_int64_below_range", "L.ones(2, dtype=L.int64, device=D) + (-2**63 - 1)"),
    ("add_int64_past_uint64", "L.ones(2, dtype=L.int64, device=D) + 2**64"),
    ("float_add_too_big_int", "L.ones(2, device=D) + 2**70"),
    ("mul_too_big_int", "L.ones(2, dtype=L.int64, device=D) * (-2**64)"),
    ("div_trunc_int_zero", "L.tensor([5, 6], device=D).div(L.tensor([0, 1], device=D), rounding_mode='trunc')"),
    ("div_trunc_int_scalar_zero", "L.tensor([5, 6], device=D).div(0, rounding_mode='trunc')"),
    ("div_floor_int_zero", "L.tensor([5, 6], device=D).div(0, rounding_mode='floor')"),
    ("floordiv_int_zero", "L.tensor([5, 6], device=D) // L.tensor([1, 0], device=D)"),
    ("floordiv_int32_zero", "L.tensor([5, 6], dtype=L.int32, device=D) // 0"),
    ("remainder_int_zero", "L.tensor([5, 6], device=D) % 0"),
    ("remainder_int_tensor_zero", "L.remainder(L.tensor([5, 6], device=D), L.tensor([1, 0], device=D))"),
    ("fmod_int_zero", "L.fmod(L.tensor([5, 6], device=D), 0)"),
    ("fmod_int_tensor_zero", "L.fmod(L.tensor([5, 6], device=D), L.tensor([0, 1], device=D))"),
    ("rfloordiv_int_zero", "7 // L.tensor([0, 1], device=D)"),
    ("pow_int32_huge_exponent", "L.ones(2, dtype=L.int32, device=D) ** 2**40"),
    ("masked_fill_int32_overflow",
     "L.ones(2, dtype=L.int32, device=D).masked_fill(L.tensor([True, False], device=D), 2**40)"),
    ("where_int32_overflow",
     "L.where(L.tensor([True, False], device=D), L.ones(2, dtype=L.int32, device=D), 2**40)"),
    ("clamp_int32_overflow", "L.ones(2, dtype=L.int32, device=D).clamp(max=2**40)"),
    ("div_bad_mode", "L.ones(2, device=D).div(2, rounding_mode='up')"),
    ("div_trunc_bool", "L.tensor([True], device=D).div(L.tensor([True], device=D), rounding_mode='trunc')"),
    ("sub_bool", "L.tensor([True], device=D) - L.tensor([False], device=D)"),
    ("neg_bool", "-L.tensor([True], device=D)"),
    ("bitwise_float", "L.ones(2, device=D) & 1"),
    ("invert_float", "~L.ones(2, device=D)"),
    ("pow_int_negative", "L.tensor([2], device=D) ** -1"),
    ("clamp_none", "L.ones(2, device=D).clamp()"),
    # -- linear algebra -----------------------------------------------------------------------
    ("mm_shape", "L.mm(L.ones(2, 3, device=D), L.ones(2, 3, device=D))"),
    ("mm_1d", "L.mm(L.ones(3, device=D), L.ones(3, device=D))"),
    ("mm_dtype", "L.mm(L.ones(2, 2, device=D), L.ones(2, 2, dtype=L.float64, device=D))"),
    ("matmul_scalar", "L.matmul(L.tensor(1.0, device=D), L.ones(2, device=D))"),
    ("matmul_shape", "L.ones(2, 3, device=D) @ L.ones(4, device=D)"),
    ("dot_sizes", "L.dot(L.ones(2, device=D), L.ones(3, device=D))"),
    ("dot_dtypes", "L.dot(L.ones(2, device=D), L.ones(2, dtype=L.float64, device=D))"),
    ("bmm_2d", "L.bmm(L.ones(2, 2, device=D), L.ones(2, 2, device=D))"),
    ("outer_2d", "L.outer(L.ones(2, 2, device=D), L.ones(2, device=D))"),
    ("einsum_bad", "L.einsum('ij,jk->ik', L.ones(2, 3, device=D), L.ones(4, 2, device=D))"),
    # -- nn.functional ------------------------------------------------------------------------
    ("bce_target_above_one", "L.nn.functional.binary_cross_entropy(L.tensor([0.5], device=D), L.tensor([2.0], device=D))"),
    ("bce_target_negative", "L.nn.functional.binary_cross_entropy(L.tensor([0.5], device=D), L.tensor([-1.0], device=D))"),
    ("bce_target_nan", "L.nn.functional.binary_cross_entropy(L.tensor([0.5], device=D), L.tensor([float('nan')], device=D))"),
    ("bce_input_above_one", "L.nn.functional.binary_cross_entropy(L.tensor([1.5], device=D), L.tensor([1.0], device=D))"),
    ("bce_input_negative", "L.nn.functional.binary_cross_entropy(L.tensor([-0.5], device=D), L.tensor([1.0], device=D))"),
    ("bce_input_nan", "L.nn.functional.binary_cross_entropy(L.tensor([float('nan')], device=D), L.tensor([1.0], device=D))"),
    ("bce_shape", "L.nn.functional.binary_cross_entropy(L.full((2,), 0.5, device=D), L.ones(3, device=D))"),
    ("bce_module", "L.nn.BCELoss()(L.tensor([0.5], device=D), L.tensor([2.0], device=D))"),
    ("cross_entropy_target_too_big", "L.nn.functional.cross_entropy(L.ones(2, 3, device=D), L.tensor([0, 3], device=D))"),
    ("cross_entropy_target_negative", "L.nn.functional.cross_entropy(L.ones(2, 3, device=D), L.tensor([0, -2], device=D))"),
    ("cross_entropy_target_float_shape", "L.nn.functional.cross_entropy(L.ones(2, 3, device=D), L.ones(2, device=D))"),
    ("cross_entropy_batch", "L.nn.functional.cross_entropy(L.ones(2, 3, device=D), L.tensor([0, 1, 2], device=D))"),
    ("nll_target_too_big", "L.nn.functional.nll_loss(L.ones(2, 3, device=D), L.tensor([0, 7], device=D))"),
    ("nll_1d_target_float", "L.nn.functional.nll_loss(L.ones(2, 3, device=D), L.tensor([0.0, 1.0], device=D))"),
    ("nll_weight_size", "L.nn.functional.nll_loss(L.ones(2, 3, device=D), L.tensor([0, 1], device=D), weight=L.ones(2, device=D))"),
    ("cross_entropy_smoothing_too_big", "L.nn.functional.cross_entropy(L.ones(2, 3, device=D), L.tensor([0, 1], device=D), label_smoothing=1.5)"),
    ("linear_bias_shape", "L.nn.functional.linear(L.ones(2, 3, device=D), L.ones(2, 3, device=D), L.ones(3, device=D))"),
    ("conv2d_negative_padding", "L.nn.functional.conv2d(L.ones(1, 1, 4, 4, device=D), L.ones(1, 1, 3, 3, device=D), padding=-1)"),
    ("conv2d_bad_groups", "L.nn.functional.conv2d(L.ones(1, 1, 4, 4, device=D), L.ones(2, 1, 3, 3, device=D), groups=2)"),
    ("conv2d_zero_dilation", "L.nn.functional.conv2d(L.ones(1, 1, 4, 4, device=D), L.ones(1, 1, 3, 3, device=D), dilation=0)"),
    ("max_pool_zero_stride", "L.nn.functional.max_pool2d(L.ones(1, 1, 4, 4, device=D), 2, stride=0)"),
    ("max_pool_zero_kernel", "L.nn.functional.max_pool2d(L.ones(1, 1, 4, 4, device=D), 0)"),
    ("batch_norm_stats_shape", "L.nn.functional.batch_norm(L.ones(2, 3, device=D), L.ones(4, device=D), L.ones(4, device=D))"),
    ("group_norm_groups", "L.nn.functional.group_norm(L.ones(2, 3, 4, device=D), 2)"),
    ("one_hot_zero_classes", "L.nn.functional.one_hot(L.tensor([1, 2], device=D), 0)"),
    ("mse_unbroadcastable", "L.nn.functional.mse_loss(L.ones(2, device=D), L.ones(3, device=D))"),
    ("l1_bad_reduction", "L.nn.functional.l1_loss(L.ones(2, device=D), L.ones(2, device=D), reduction='avg')"),
    ("linear_shape", "L.nn.functional.linear(L.ones(2, 3, device=D), L.ones(4, 2, device=D))"),
    ("conv2d_channels", "L.nn.functional.conv2d(L.ones(1, 2, 4, 4, device=D), L.ones(1, 3, 3, 3, device=D))"),
    ("conv2d_kernel_too_big", "L.nn.functional.conv2d(L.ones(1, 1, 2, 2, device=D), L.ones(1, 1, 3, 3, device=D))"),
    ("conv2d_3d_weight", "L.nn.functional.conv2d(L.ones(1, 1, 4, 4, device=D), L.ones(1, 3, 3, device=D))"),
    ("conv2d_zero_stride", "L.nn.functional.conv2d(L.ones(1, 1, 4, 4, device=D), L.ones(1, 1, 3, 3, device=D), stride=0)"),
    ("max_pool_too_big", "L.nn.functional.max_pool2d(L.ones(1, 1, 2, 2, device=D), 3)"),
    ("max_pool_pad_too_big", "L.nn.functional.max_pool2d(L.ones(1, 1, 4, 4, device=D), 2, padding=2)"),
    ("avg_pool_too_big", "L.nn.functional.avg_pool2d(L.ones(1, 1, 2, 2, device=D), 3)"),
    ("dropout_p_too_big", "L.nn.functional.dropout(L.ones(2, device=D), 1.5)"),
    ("dropout_p_negative", "L.nn.functional.dropout(L.ones(2, device=D), -0.1)"),
    ("layer_norm_shape", "L.nn.functional.layer_norm(L.ones(2, 3, device=D), (4,))"),
    ("batch_norm_one_value", "L.nn.functional.batch_norm(L.ones(1, 3, device=D), None, None, training=True)"),
    ("softmax_no_dim_int", "L.nn.functional.softmax(L.ones(3, dtype=L.int32, device=D), 0)"),
    ("gelu_bad_approx", "L.nn.functional.gelu(L.ones(2, device=D), approximate='fast')"),
    ("leaky_relu_int", "L.nn.functional.gelu(L.ones(2, dtype=L.int64, device=D))"),
    ("linear_module_shape", "L.nn.Linear(3, 2).to(D)(L.ones(2, 4, device=D))"),
    ("embedding_module_negative_size", "L.nn.Embedding(-1, 2)"),
    ("linear_negative_size", "L.nn.Linear(-1, 2)"),
    # -- autograd and tensors -----------------------------------------------------------------
    ("backward_non_scalar", "L.ones(2, device=D, requires_grad=True).mul(2).backward()"),
    ("backward_no_grad", "L.ones(2, device=D).sum().backward()"),
    ("requires_grad_int", "L.ones(2, dtype=L.int64, device=D).requires_grad_()"),
    ("numpy_of_requires_grad", "L.ones(2, requires_grad=True).numpy()"),
    ("inplace_on_leaf", "L.ones(2, device=D, requires_grad=True).add_(1)"),
    ("grad_of_unused_input",
     "L.autograd.grad(L.ones(2, device=D, requires_grad=True).sum(), [L.ones(2, device=D, requires_grad=True)])"),
    ("backward_twice",
     "(lambda x: (lambda y: (y.backward(), y.backward()))((x * x).sum()))(L.ones(2, device=D, requires_grad=True))"),
    ("optim_empty_params", "L.optim.SGD([], lr=0.1)"),
    ("optim_negative_lr", "L.optim.SGD([L.ones(2, requires_grad=True)], lr=-1.0)"),
    ("adam_bad_beta", "L.optim.Adam([L.ones(2, requires_grad=True)], betas=(1.5, 0.9))"),
    ("to_unknown_device", "L.ones(2, device=D).to('nonsense')"),
    ("to_bad_dtype", "L.ones(2, device=D).to(dtype='float32x')"),
]

VALUES = [
    # -- empty tensors through every reduction-like op ---------------------------------------
    ("softmax_empty", "L.softmax(L.ones(0, device=D), 0)"),
    ("softmax_empty_rows", "L.softmax(L.ones(2, 0, device=D), 1)"),
    ("softmax_empty_other_dim", "L.softmax(L.ones(0, 3, device=D), 1)"),
    ("log_softmax_empty", "L.log_softmax(L.ones(0, 3, device=D), 0)"),
    ("f_softmax_empty", "L.nn.functional.softmax(L.ones(2, 0, device=D), dim=-1)"),
    ("logsumexp_empty", "L.logsumexp(L.ones(0, device=D), 0)"),
    ("logsumexp_empty_rows", "L.logsumexp(L.ones(2, 0, device=D), 1)"),
    ("amax_empty_other_dim", "L.amax(L.ones(0, 3, device=D), 1)"),
    ("max_empty_other_dim", "L.ones(0, 3, device=D).max(1)"),
    ("argmax_empty_other_dim", "L.ones(0, 3, device=D).argmax(1)"),
    ("sum_empty", "L.ones(0, device=D).sum()"),
    ("prod_empty", "L.ones(0, device=D).prod()"),
    ("mean_empty", "L.ones(0, device=D).mean()"),
    ("mean_empty_dim", "L.ones(0, 3, device=D).mean(0)"),
    ("var_empty", "L.ones(0, device=D).var()"),
    ("var_one", "L.ones(1, device=D).var()"),
    ("std_empty_dim", "L.ones(0, 3, device=D).std(0)"),
    ("norm_empty", "L.ones(0, device=D).norm()"),
    ("norm_1_empty", "L.ones(0, 3, device=D).norm(1, dim=0)"),
    ("cumsum_empty", "L.ones(0, device=D).cumsum(0)"),
    ("cumprod_empty", "L.ones(2, 0, device=D).cumprod(1)"),
    ("sort_empty", "L.ones(0, device=D).sort()"),
    ("argsort_empty", "L.ones(2, 0, device=D).argsort(1)"),
    ("topk_empty", "L.ones(0, device=D).topk(0)"),
    ("median_empty", "L.ones(0, device=D).median()"),
    ("all_empty", "L.ones(0, dtype=L.bool, device=D).all()"),
    ("any_empty", "L.ones(0, dtype=L.bool, device=D).any()"),
    ("count_nonzero_empty", "L.count_nonzero(L.ones(0, device=D))"),
    ("matmul_empty", "L.ones(2, 0, device=D) @ L.ones(0, 3, device=D)"),
    ("cat_with_empty", "L.cat([L.ones(2, device=D), L.ones(0, device=D)])"),
    ("cross_entropy_empty", "L.nn.functional.cross_entropy(L.ones(0, 3, device=D), L.ones(0, dtype=L.int64, device=D))"),
    ("cross_entropy_empty_sum", "L.nn.functional.cross_entropy(L.ones(0, 3, device=D), L.ones(0, dtype=L.int64, device=D), reduction='sum')"),
    ("mse_empty", "L.nn.functional.mse_loss(L.ones(0, device=D), L.ones(0, device=D))"),
    ("layer_norm_empty", "L.nn.functional.layer_norm(L.ones(0, 3, device=D), (3,))"),
    # -- division by zero and integer arithmetic ---------------------------------------------
    ("div_int_zero", "L.tensor([5, -6, 0], device=D) / 0"),
    ("div_trunc_float_zero", "L.tensor([5.0, -6.0, 0.0], device=D).div(0, rounding_mode='trunc')"),
    ("div_floor_float_zero", "L.tensor([5.0, -6.0, 0.0], device=D).div(0, rounding_mode='floor')"),
    ("fmod_float_zero", "L.fmod(L.tensor([5.0, -6.0], device=D), 0.0)"),
    ("remainder_float_zero", "L.tensor([5.0, -6.0], device=D) % 0.0"),
    ("remainder_int_by_float_zero", "L.tensor([5, 6], device=D) % 0.0"),
    ("div_trunc_int", "L.tensor([7, -7, 7, -7], device=D).div(L.tensor([2, 2, -2, -2], device=D), rounding_mode='trunc')"),
    ("div_floor_int", "L.tensor([7, -7, 7, -7], device=D).div(L.tensor([2, 2, -2, -2], device=D), rounding_mode='floor')"),
    ("fmod_int", "L.fmod(L.tensor([7, -7, 7, -7], device=D), L.tensor([2, 2, -2, -2], device=D))"),
    ("remainder_int", "L.tensor([7, -7, 7, -7], device=D) % L.tensor([2, 2, -2, -2], device=D)"),
    ("div_trunc_int_exact", "L.tensor([2**53 + 1, -(2**62) - 3], device=D).div(3, rounding_mode='trunc')"),
    ("fmod_int_exact", "L.fmod(L.tensor([2**53 + 1, -(2**62) - 3], device=D), 7)"),
    ("add_int32_wraps_scalar", "L.tensor([1, 2], dtype=L.int32, device=D) + 2**40"),
    ("add_int32_past_range", "L.tensor([1, 2], dtype=L.int32, device=D) + 2**31"),
    ("mul_int32_wraps", "L.tensor([3, -3], dtype=L.int32, device=D) * (2**32 + 5)"),
    ("sub_int32_wraps", "L.tensor([1, 2], dtype=L.int32, device=D) - 2**33"),
    ("add_bool_big_int", "L.tensor([True, False], device=D) + 2**40"),
    ("add_int64_max", "L.tensor([1, 2], device=D) + (2**63 - 1)"),
    ("add_int64_uint64_scalar", "L.tensor([1, 2], device=D) + 2**63"),
    ("add_int64_uint64_max", "L.tensor([1, 2], device=D) + (2**64 - 1)"),
    ("float_add_uint64_max", "L.tensor([1.0], dtype=L.float64, device=D) + (2**64 - 1)"),
    ("float_add_big_int", "L.tensor([1.0], device=D) + 2**62"),
    ("eq_int32_big", "L.tensor([0, 1], dtype=L.int32, device=D) == 2**32"),
    ("add_int32_zero_dim_big", "L.tensor([1, 2], dtype=L.int32, device=D) + L.tensor(2**40, device=D)"),
    ("pow_int32_wraps", "L.tensor([2, 3], dtype=L.int32, device=D) ** 40"),
    ("shift_right_negative", "L.tensor([-7, 7], device=D) >> 1"),
    ("shift_left_wraps", "L.tensor([3, -3], device=D) << 62"),
    ("abs_int32_min", "L.tensor([-2**31], dtype=L.int32, device=D).abs()"),
    ("neg_int64_min", "-L.tensor([-2**63], device=D)"),
    ("add_int32_max_wraps", "L.tensor([2**31 - 1], dtype=L.int32, device=D) + 1"),
    ("int32_sum_is_int64", "L.tensor([2**31 - 1, 1], dtype=L.int32, device=D).sum()"),
    ("int32_prod_is_int64", "L.tensor([2**20, 2**20], dtype=L.int32, device=D).prod()"),
    ("int32_cumsum_is_int64", "L.tensor([2**31 - 1, 1], dtype=L.int32, device=D).cumsum(0)"),
    ("int_true_divide", "L.tensor([3], dtype=L.int32, device=D) / L.tensor([2], dtype=L.int32, device=D)"),
    ("bool_add_bool", "L.tensor([True, False], device=D) + L.tensor([True, False], device=D)"),
    ("bool_sum", "L.tensor([True, True, False], device=D).sum()"),
    ("round_half_even", "L.round(L.tensor([0.5, 1.5, 2.5, -0.5], device=D))"),
    ("sign_of_zeros", "L.tensor([0.0, -0.0, 2.0], device=D).sign()"),
    ("max_with_nan", "L.tensor([1.0, float('nan'), 3.0], device=D).max()"),
    ("argmax_with_nan", "L.tensor([1.0, float('nan'), 3.0], device=D).argmax()"),
    ("sort_with_nan", "L.tensor([3.0, float('nan'), 1.0], device=D).sort()"),
    ("clamp_nan", "L.clamp(L.tensor([float('nan'), 2.0], device=D), 0.0, 1.0)"),
    ("logsumexp_infs", "L.logsumexp(L.tensor([[float('inf'), float('inf')], [float('-inf'), float('-inf')]], device=D), 1)"),
    ("gather_int32_index", "L.gather(L.arange(3.0, device=D), 0, L.tensor([2], dtype=L.int32, device=D))"),
    ("softmax_inf_rows", "L.softmax(L.tensor([[float('-inf'), float('-inf')], [1.0, float('inf')], [float('-inf'), 0.0]], device=D), 1)"),
    ("log_softmax_inf_rows", "L.log_softmax(L.tensor([[float('-inf'), float('-inf')], [1.0, float('inf')], [float('-inf'), 0.0]], device=D), 1)"),
    ("empty_index", "L.ones(3, device=D)[L.tensor([], dtype=L.int64, device=D)]"),
    ("all_false_mask", "L.ones(3, device=D)[L.tensor([False, False, False], device=D)]"),
    ("slice_past_end", "L.ones(2, 3, device=D)[5:]"),
    ("slice_clamped", "L.arange(3, device=D)[-10:10]"),
    ("sum_empty_dim", "L.ones(2, 0, device=D).sum(1)"),
    ("prod_empty_dim", "L.ones(0, 2, device=D).prod(0)"),
    ("expand_to_empty", "L.ones(2, 3, device=D).expand(0, 2, 3)"),
    ("linspace_one", "L.linspace(0, 1, 1, device=D)"),
    ("arange_float_step", "L.arange(0, 1, 0.3, device=D)"),
    ("arange_negative_step", "L.arange(1, 0, -0.25, device=D)"),
    ("randperm_zero", "L.randperm(0, device=D)"),
    ("eye_no_columns", "L.eye(2, 0, device=D)"),
    ("dropout_p_one", "L.nn.functional.dropout(L.ones(3, device=D), 1.0)"),
    ("multinomial_zero_weights_last",
     "L.multinomial(L.tensor([0.0, 1.0, 0.0], device=D), 3)[:1]"),
    # -- other edges --------------------------------------------------------------------------
    ("arange_empty", "L.arange(0, 0, device=D)"),
    ("eye_zero", "L.eye(0, device=D)"),
    ("linspace_zero", "L.linspace(0, 1, 0, device=D)"),
    ("bce_edges", "L.nn.functional.binary_cross_entropy(L.tensor([0.0, 1.0, 0.5], device=D), L.tensor([0.0, 1.0, 1.0], device=D))"),
    ("bce_clamps_log", "L.nn.functional.binary_cross_entropy(L.tensor([0.0, 1.0], device=D), L.tensor([1.0, 0.0], device=D))"),
    ("bce_with_logits_soft_target", "L.nn.functional.binary_cross_entropy_with_logits(L.tensor([0.5], device=D), L.tensor([2.0], device=D))"),
    ("split_empty", "L.ones(0, device=D).split(0)"),
    ("multinomial_exact", "L.multinomial(L.tensor([0.0, 1.0], device=D), 1)"),
]


def outcome(code, lib, device):
    """("raised", type) or ("value", result as NumPy) of `code` run with `lib` on `device`.
    The result is read back inside the try: an accelerator may defer a check on its data
    to the next host wait (as CUDA's device-side asserts), and reading is such a wait."""
    try:
        return "value", _numpy(eval(code, {"L": lib, "D": device, "torch": torch, "math": math}))
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return "raised", type(e)


def _numpy(x):
    if isinstance(x, (tuple, list)):
        return [_numpy(y) for y in x]
    if isinstance(x, (torch.Tensor, fw.Tensor)):
        x = x.detach().cpu()
        return x.numpy().astype(str(x.dtype).split(".")[-1])
    return x


def error_mismatch(code, device):
    """A message when fw does not raise torch's exception type (or a subclass), else None."""
    want = outcome(code, torch, "cpu")
    got = outcome(code, fw, device)
    assert want[0] == "raised", f"torch accepts {code}; the case is wrong"
    if got[0] != "raised" or not issubclass(got[1], want[1]):
        return f"{code}: torch raises {want[1].__name__}, fw gives {got[1] if got[0] == 'raised' else 'a value'}"
    return None


def value_mismatch(code, device):
    want = outcome(code, torch, "cpu")
    got = outcome(code, fw, device)
    assert want[0] == "value", f"torch refuses {code}; the case is wrong"
    if got[0] != "value":
        return f"{code}: torch answers, fw raises {got[1].__name__}"
    w, g = want[1], got[1]
    for a, b in zip(w if isinstance(w, list) else [w], g if isinstance(g, list) else [g]):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{code}: torch gives {a.dtype}{a.shape}, fw {b.dtype}{b.shape}"
        exact = a.dtype.kind != "f"  # integers and bools must match exactly
        if not (np.array_equal(a, b) if exact else
                np.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)):
            return f"{code}: torch gives {a}, fw {b}"
    return None


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's and fw's own warnings


@pytest.mark.parametrize("code", [c for _, c in ERRORS], ids=[n for n, _ in ERRORS])
def test_error_type_matches_torch(code, device):
    assert error_mismatch(code, device) is None


@pytest.mark.parametrize("code", [c for _, c in VALUES], ids=[n for n, _ in VALUES])
def test_edge_value_matches_torch(code, device):
    assert value_mismatch(code, device) is None


if __name__ == "__main__":
    import sys
    devices = sys.argv[1:] or ["cpu", "opencl"]
    for dev in devices:
        for table, check in ((ERRORS, error_mismatch), (VALUES, value_mismatch)):
            for name, code in table:
                try:
                    msg = check(code, dev)
                except AssertionError as e:
                    msg = f"BAD CASE {e}"
                if msg:
                    print(f"[{dev}] {name}: {msg}")
    print(len(ERRORS), "error cases,", len(VALUES), "value cases")
