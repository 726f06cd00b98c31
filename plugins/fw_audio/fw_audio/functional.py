"""Audio functions with torchaudio.functional's names and definitions, on fw tensors.

Everything runs on the tensor's device with fw ops only: the STFT is framing (as_strided) times
a windowed DFT matrix (one fw.matmul), resampling is framing times a bank of windowed-sinc
filters. Constant matrices (mel filters, DCT, DFT, sinc kernels) are built in NumPy in float64,
once per configuration, and uploaded in the input's dtype.
"""
import math
from functools import lru_cache

import numpy as np

import framework as fw

__all__ = ["hann_window", "spectrogram", "melscale_fbanks", "create_dct", "amplitude_to_DB",
           "DB_to_amplitude", "resample", "mask_along_axis", "hz_to_mel", "mel_to_hz"]


def hann_window(window_length, periodic=True, *, dtype=None, device=None):
    """torch.hann_window: periodic by default (the window of an N+1-point symmetric Hann)."""
    if window_length < 0:
        raise RuntimeError(f"hann_window requires non-negative window length, got "
                           f"window_length={window_length}")
    n = window_length + 1 if periodic and window_length > 1 else window_length
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_length) / max(n - 1, 1))
    if window_length == 1:
        w = np.ones(1)
    return fw.tensor(w, dtype=dtype or fw.get_default_dtype(), device=device)


def _const(array, like):
    return fw.tensor(array, dtype=like.dtype, device=like.device)


@lru_cache(maxsize=32)
def _dft_basis(n_fft, onesided):
    """[n_fft, 2 * n_freq]: cos columns then -sin columns, so frames @ basis = (re | im)."""
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    k = np.arange(n_freq)
    ang = 2 * np.pi * np.outer(np.arange(n_fft), k) / n_fft
    return np.concatenate([np.cos(ang), -np.sin(ang)], axis=1)


def _pad_last(x, lo, hi, mode):
    """Pad the last dim of a tensor of any rank (fw.pad's reflect wants 2-D or 3-D input)."""
    shape = x.shape
    y = fw.pad(x.reshape(-1, 1, shape[-1]), (lo, hi), mode=mode)
    return y.reshape(*shape[:-1], y.shape[-1])


def _frames(x, frame_length, hop):
    """[..., T] -> [B, n_frames, frame_length] with overlapping rows (a strided view)."""
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1]).contiguous()
    b, t = x.shape
    n = 1 + (t - frame_length) // hop
    if n < 1:
        raise RuntimeError(f"input of length {t} is shorter than one frame ({frame_length})")
    frames = x.as_strided((b, n, frame_length), (t, hop, 1), x.storage_offset())
    # materialised: NumPy's matmul falls off BLAS onto a slow loop for overlapping strides
    return frames.contiguous(), lead


def spectrogram(waveform, pad, window, n_fft, hop_length, win_length, power, normalized,
                center=True, pad_mode="reflect", onesided=True, return_complex=None):
    """torchaudio.functional.spectrogram: [..., time] -> [..., n_freq, n_frames].

    `power=None` (a complex result) is not available: fw has no complex dtype."""
    if power is None:
        raise NotImplementedError("spectrogram with power=None returns a complex tensor; fw has "
                                  "no complex dtype. Use power=1.0 (magnitude) or 2.0 (power)")
    if pad > 0:
        waveform = _pad_last(waveform, pad, pad, "constant")
    if window.shape[-1] != win_length:
        raise RuntimeError(f"window of length {window.shape[-1]} does not match "
                           f"win_length={win_length}")
    if win_length > n_fft:
        raise RuntimeError(f"win_length ({win_length}) must be at most n_fft ({n_fft})")
    if center:
        waveform = _pad_last(waveform, n_fft // 2, n_fft // 2, pad_mode)
    frames, lead = _frames(waveform, n_fft, hop_length)
    window = window.to(device=waveform.device, dtype=waveform.dtype)
    left = (n_fft - win_length) // 2  # torch.stft centres a short window inside n_fft
    if win_length < n_fft:
        window = fw.pad(window, (left, n_fft - win_length - left))
    basis = window.unsqueeze(1) * _const(_dft_basis(n_fft, onesided), waveform)
    spec = fw.matmul(frames, basis)                        # [B, frames, 2 * n_freq]
    n_freq = basis.shape[1] // 2
    re, im = spec[..., :n_freq], spec[..., n_freq:]
    out = re * re + im * im
    if normalized is True or normalized == "window":
        out = out / (window * window).sum()
    elif normalized == "frame_length":
        out = out / n_fft
    elif normalized not in (False, None):
        raise ValueError(f"normalized must be a bool, 'window' or 'frame_length', got {normalized!r}")
    if power != 2.0:
        out = out.pow(power / 2.0)
    out = out.transpose(1, 2)
    return out.reshape(*lead, *out.shape[-2:])


# -- mel scale ---------------------------------------------------------------------------------
_SLANEY_F_SP = 200.0 / 3          # Hz per mel in the linear part (below 1 kHz)
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq, mel_scale="htk"):
    if mel_scale not in ("htk", "slaney"):
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    freq = np.asarray(freq, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    min_log_mel = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
    log_part = min_log_mel + np.log(np.maximum(freq, 1e-10) / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
    return np.where(freq >= _SLANEY_MIN_LOG_HZ, log_part, freq / _SLANEY_F_SP)


def mel_to_hz(mels, mel_scale="htk"):
    if mel_scale not in ("htk", "slaney"):
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    mels = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    min_log_mel = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
    return np.where(mels >= min_log_mel,
                    _SLANEY_MIN_LOG_HZ * np.exp(_SLANEY_LOGSTEP * (mels - min_log_mel)),
                    _SLANEY_F_SP * mels)


@lru_cache(maxsize=32)
def _fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale):
    if norm is not None and norm != "slaney":
        raise ValueError('norm must be one of None or "slaney"')
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale), n_mels + 2)
    f_pts = mel_to_hz(m_pts, mel_scale)
    f_diff = np.diff(f_pts)
    # triangle k rises from f_pts[k] to f_pts[k+1] and falls to f_pts[k+2]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    if norm == "slaney":  # equal area: each triangle divided by its width in Hz
        fb *= 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
    return fb


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None, mel_scale="htk"):
    """Triangular mel filters, [n_freqs, n_mels] (torchaudio.functional.melscale_fbanks)."""
    fb = _fbanks(int(n_freqs), float(f_min), float(f_max), int(n_mels), int(sample_rate), norm,
                 mel_scale)
    if (fb.max(axis=0) == 0).any():
        import warnings
        warnings.warn("At least one mel filterbank has all zero values. The value for `n_mels` "
                      f"({n_mels}) may be set too high. Or, the value for `n_freqs` ({n_freqs}) "
                      "may be set too low.")
    return fw.tensor(fb, dtype=fw.float32)


def create_dct(n_mfcc, n_mels, norm):
    """DCT-II matrix [n_mels, n_mfcc] applied on the right (torchaudio.functional.create_dct)."""
    if norm is not None and norm != "ortho":
        raise ValueError('norm must be either "ortho" or None')
    n = np.arange(n_mels)
    k = np.arange(n_mfcc)[:, None]
    dct = np.cos(np.pi / n_mels * (n + 0.5) * k)        # [n_mfcc, n_mels]
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / n_mels)
    return fw.tensor(dct.T, dtype=fw.float32)


def amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db=None):
    """10*log10 (power) or 20*log10 (magnitude) of x, floored at amin; with top_db, clamped to
    top_db below the maximum of each spectrogram (over the last 3 dims, as torchaudio)."""
    x_db = multiplier * fw.log10(fw.clamp(x, min=amin))
    x_db = x_db - multiplier * db_multiplier
    if top_db is not None:
        shape = x_db.shape
        channels = shape[-3] if x_db.ndim > 2 else 1
        packed = x_db.reshape(-1, channels, shape[-2], shape[-1])
        floor = packed.amax(dim=(-3, -2, -1)) - top_db
        x_db = fw.maximum(packed, floor.view(-1, 1, 1, 1)).reshape(shape)
    return x_db


def DB_to_amplitude(x, ref, power):
    return ref * fw.pow(fw.pow(10.0, 0.1 * x), power)


# -- resampling ---------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _sinc_kernel(orig, new, gcd, lowpass_filter_width, rolloff, method, beta):
    """Filters [new, taps]: output phase j of each block of `orig` input samples is the dot
    product of `taps` inputs with row j. A windowed-sinc low-pass at rolloff * min(orig, new)."""
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)   # taps on each side, in input samples
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = (np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx) * base
    t = np.clip(t, -lowpass_filter_width, lowpass_filter_width)
    if method == "sinc_interp_hann":
        window = np.cos(t * np.pi / lowpass_filter_width / 2) ** 2
    else:
        window = np.i0(beta * np.sqrt(1 - (t / lowpass_filter_width) ** 2)) / np.i0(beta)
    t = t * np.pi
    kernel = np.where(t == 0, 1.0, np.sin(t) / np.where(t == 0, 1.0, t))
    return kernel * window * (base / orig), width, orig, new


def resample(waveform, orig_freq, new_freq, lowpass_filter_width=6, rolloff=0.99,
             resampling_method="sinc_interp_hann", beta=None):
    """Band-limited resampling of the last dim (torchaudio.functional.resample's filter)."""
    if orig_freq <= 0 or new_freq <= 0:
        raise ValueError("Original frequency and desired frequecy should be positive")
    if resampling_method not in ("sinc_interp_hann", "sinc_interp_kaiser"):
        raise ValueError(f"Invalid resampling method: {resampling_method}")
    if lowpass_filter_width <= 0:
        raise ValueError("Low pass filter width should be positive.")
    if orig_freq == new_freq:
        return waveform
    orig_freq, new_freq = int(orig_freq), int(new_freq)
    gcd = math.gcd(orig_freq, new_freq)
    beta = 14.769656459379492 if beta is None else float(beta)
    kernel, width, orig, new = _sinc_kernel(orig_freq, new_freq, gcd, lowpass_filter_width,
                                            float(rolloff), resampling_method, beta)
    if not waveform.dtype.is_floating_point:
        raise TypeError(f"Expected floating point type for waveform tensor, but received "
                        f"{waveform.dtype}.")
    length = waveform.shape[-1]
    x = _pad_last(waveform, width, width + orig, "constant")
    frames, lead = _frames(x, kernel.shape[1], orig)        # one frame per block of `orig` inputs
    y = fw.matmul(frames, _const(kernel.T, waveform))       # [B, blocks, new]
    y = y.reshape(y.shape[0], -1)
    target = math.ceil(new * length / orig)
    return y[:, :target].reshape(*lead, target)


def mask_along_axis(specgram, mask_param, mask_value, axis, p=1.0):
    """Mask one random band [v0, v0 + v) along `axis` (counted from the end as torchaudio:
    axis 1 = frequency, 2 = time for a [channel, freq, time] input), the same for the batch."""
    if axis not in (1, 2):
        raise ValueError("Only Frequency and Time masking are supported")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
    dim = specgram.ndim - 3 + axis
    size = specgram.shape[dim]
    mask_param = min(mask_param, int(size * p)) if p < 1.0 else mask_param
    if mask_param < 1:
        return specgram
    value = float(fw.rand(1).item()) * mask_param
    v0 = float(fw.rand(1).item()) * (size - value)
    start, end = int(v0), int(v0 + value)
    pos = fw.arange(size, device=specgram.device)
    keep = (pos < start) | (pos >= end)
    shape = [1] * specgram.ndim
    shape[dim] = size
    return fw.where(keep.view(*shape), specgram, fw.tensor(float(mask_value), dtype=specgram.dtype,
                                                            device=specgram.device))
