"""torchaudio.transforms as fw Modules: the same names, parameters and defaults.

They take fw tensors [..., time] (or [..., freq, time]) on any device; constant matrices are
buffers, so `.to("opencl")` moves them with the module.
"""
import math

import framework as fw
from framework import nn

from . import functional as F

__all__ = ["Spectrogram", "MelScale", "MelSpectrogram", "MFCC", "AmplitudeToDB", "Resample",
           "FrequencyMasking", "TimeMasking"]


class Spectrogram(nn.Module):
    """Power (power=2) or magnitude (power=1) spectrogram, [..., n_fft // 2 + 1, frames]."""

    def __init__(self, n_fft=400, win_length=None, hop_length=None, pad=0,
                 window_fn=F.hann_window, power=2.0, normalized=False, wkwargs=None, center=True,
                 pad_mode="reflect", onesided=True, return_complex=None):
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad, self.power, self.normalized = pad, power, normalized
        self.center, self.pad_mode, self.onesided = center, pad_mode, onesided
        window = window_fn(self.win_length, **(wkwargs or {}))
        self.register_buffer("window", window if isinstance(window, fw.Tensor)
                             else fw.tensor(window, dtype=fw.float32))

    def forward(self, waveform):
        return F.spectrogram(waveform, self.pad, self.window, self.n_fft, self.hop_length,
                             self.win_length, self.power, self.normalized, self.center,
                             self.pad_mode, self.onesided)


class MelScale(nn.Module):
    """[..., n_stft, time] spectrogram -> [..., n_mels, time] through triangular filters."""

    def __init__(self, n_mels=128, sample_rate=16000, f_min=0.0, f_max=None, n_stft=201,
                 norm=None, mel_scale="htk"):
        super().__init__()
        self.n_mels, self.sample_rate = n_mels, sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min, self.norm, self.mel_scale = f_min, norm, mel_scale
        if f_min > self.f_max:
            raise ValueError(f"Require f_min: {f_min} <= f_max: {self.f_max}")
        self.register_buffer("fb", F.melscale_fbanks(n_stft, self.f_min, self.f_max, n_mels,
                                                     sample_rate, norm, mel_scale))

    def forward(self, specgram):
        fb = self.fb.to(dtype=specgram.dtype)
        return fw.matmul(specgram.transpose(-1, -2), fb).transpose(-1, -2)


class MelSpectrogram(nn.Module):
    """Mel-scale spectrogram of a waveform: a Spectrogram followed by a MelScale."""

    def __init__(self, sample_rate=16000, n_fft=400, win_length=None, hop_length=None, f_min=0.0,
                 f_max=None, pad=0, n_mels=128, window_fn=F.hann_window, power=2.0,
                 normalized=False, wkwargs=None, center=True, pad_mode="reflect", onesided=None,
                 norm=None, mel_scale="htk"):
        super().__init__()
        self.sample_rate, self.n_fft, self.n_mels = sample_rate, n_fft, n_mels
        self.f_min, self.f_max = f_min, f_max
        self.spectrogram = Spectrogram(n_fft=n_fft, win_length=win_length, hop_length=hop_length,
                                       pad=pad, window_fn=window_fn, power=power,
                                       normalized=normalized, wkwargs=wkwargs, center=center,
                                       pad_mode=pad_mode, onesided=True)
        self.win_length, self.hop_length = self.spectrogram.win_length, self.spectrogram.hop_length
        self.mel_scale = MelScale(n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1, norm,
                                  mel_scale)

    def forward(self, waveform):
        return self.mel_scale(self.spectrogram(waveform))


class AmplitudeToDB(nn.Module):
    """Turn a power or magnitude spectrogram into decibels, optionally clipped to `top_db`."""

    def __init__(self, stype="power", top_db=None):
        super().__init__()
        if stype not in ("power", "magnitude"):
            raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
        if top_db is not None and top_db < 0:
            raise ValueError("top_db must be positive value")
        self.stype, self.top_db = stype, top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x):
        return F.amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MFCC(nn.Module):
    """Mel-frequency cepstrum: DCT-II over the mel axis of the dB (or log) mel spectrogram."""

    def __init__(self, sample_rate=16000, n_mfcc=40, dct_type=2, norm="ortho", log_mels=False,
                 melkwargs=None):
        super().__init__()
        if dct_type != 2:
            raise ValueError(f"DCT type not supported: {dct_type}")
        self.sample_rate, self.n_mfcc, self.dct_type = sample_rate, n_mfcc, dct_type
        self.norm, self.log_mels, self.top_db = norm, log_mels, 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        self.MelSpectrogram = MelSpectrogram(sample_rate=sample_rate, **(melkwargs or {}))
        if n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError("Cannot select more MFCC coefficients than # mel bins")
        self.register_buffer("dct_mat", F.create_dct(n_mfcc, self.MelSpectrogram.n_mels, norm))

    def forward(self, waveform):
        mel = self.MelSpectrogram(waveform)
        mel = fw.log(mel + 1e-6) if self.log_mels else self.amplitude_to_DB(mel)
        return fw.matmul(mel.transpose(-1, -2), self.dct_mat.to(dtype=mel.dtype)).transpose(-1, -2)


class Resample(nn.Module):
    """Windowed-sinc resampling from orig_freq to new_freq along the last dim."""

    def __init__(self, orig_freq=16000, new_freq=16000, resampling_method="sinc_interp_hann",
                 lowpass_filter_width=6, rolloff=0.99, beta=None, *, dtype=None):
        super().__init__()
        self.orig_freq, self.new_freq = orig_freq, new_freq
        self.resampling_method, self.lowpass_filter_width = resampling_method, lowpass_filter_width
        self.rolloff, self.beta = rolloff, beta
        # validate now, as torchaudio builds its kernel in __init__
        if orig_freq != new_freq:
            F.resample(fw.zeros(1), orig_freq, new_freq, lowpass_filter_width, rolloff,
                       resampling_method, beta)

    def forward(self, waveform):
        return F.resample(waveform, self.orig_freq, self.new_freq, self.lowpass_filter_width,
                          self.rolloff, self.resampling_method, self.beta)


class _AxisMasking(nn.Module):
    def __init__(self, mask_param, axis, iid_masks, p=1.0):
        super().__init__()
        self.mask_param, self.axis, self.iid_masks, self.p = mask_param, axis, iid_masks, p

    def forward(self, specgram, mask_value=0.0):
        if self.iid_masks and specgram.ndim == 4:
            # a separate mask per example (and channel)
            flat = specgram.reshape(-1, 1, *specgram.shape[-2:])
            rows = [F.mask_along_axis(flat[i:i + 1], self.mask_param, mask_value, self.axis,
                                      self.p) for i in range(flat.shape[0])]
            return fw.cat(rows).reshape(specgram.shape)
        return F.mask_along_axis(specgram.reshape(-1, *specgram.shape[-2:]), self.mask_param,
                                 mask_value, self.axis, self.p).reshape(specgram.shape)


class FrequencyMasking(_AxisMasking):
    """Zero a random band of up to freq_mask_param mel/frequency bins (SpecAugment)."""

    def __init__(self, freq_mask_param, iid_masks=False):
        super().__init__(freq_mask_param, 1, iid_masks)


class TimeMasking(_AxisMasking):
    """Zero a random span of up to time_mask_param frames (SpecAugment)."""

    def __init__(self, time_mask_param, iid_masks=False, p=1.0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"The value of p must be between 0.0 and 1.0 ({p} given).")
        super().__init__(time_mask_param, 2, iid_masks, p)
