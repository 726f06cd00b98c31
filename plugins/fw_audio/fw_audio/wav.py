"""WAV input/output with torchaudio's `load`, `save` and `info`, on the standard library alone.

The RIFF chunks are parsed here (not with `wave`, which reads only integer PCM) so that 8, 16,
24 and 32-bit PCM and 32/64-bit IEEE float files, WAVE_FORMAT_EXTENSIBLE included, all load the
same way. `normalize=False` gives the samples as torchaudio returns them: uint8 for 8-bit, int16
for 16-bit, and int32 for 24 and 32-bit (24-bit samples shifted left by 8, as torchaudio/ffmpeg
do).
"""
import io
import os
import struct
from dataclasses import dataclass

import numpy as np

import framework as fw

__all__ = ["load", "save", "info", "AudioMetaData"]

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF, 0x7FFFFFFF)  # streaming writers leave these in the header


@dataclass
class AudioMetaData:
    """What `info` returns (torchaudio.AudioMetaData's fields)."""
    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str


@dataclass
class _Layout:
    meta: AudioMetaData
    fmt: int           # _PCM or _FLOAT
    data_start: int    # byte offset of the first sample
    block_align: int


def _name(uri):
    return getattr(uri, "name", None) or (os.fspath(uri) if isinstance(uri, (str, os.PathLike))
                                          else "<file object>")


def _open(uri):
    if hasattr(uri, "read"):
        return uri, False
    if not isinstance(uri, (str, bytes, os.PathLike)):
        raise TypeError(f"uri must be a path or a file-like object, got {type(uri).__name__}")
    if not os.path.exists(uri):
        raise FileNotFoundError(f"No such file: '{os.fspath(uri)}'")
    return open(uri, "rb"), True


def _read_exact(f, n, what, name):
    b = f.read(n)
    if len(b) != n:
        raise RuntimeError(f"'{name}' is truncated: expected {n} bytes of {what}, got {len(b)}")
    return b


def _parse(f, name):
    """Walk the RIFF chunks up to 'data'; leave f anywhere."""
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
        raise RuntimeError(f"'{name}' is not a WAV file (no RIFF/WAVE header); fw_audio reads "
                           f"WAV files only")
    if head[:4] != b"RIFF":
        raise RuntimeError(f"'{name}': {head[:4].decode()} WAV files are not supported; "
                           f"only little-endian RIFF")
    fmt = None
    pos = 12
    while True:
        f.seek(pos)
        hdr = f.read(8)
        if len(hdr) < 8:
            raise RuntimeError(f"'{name}' is truncated: no 'data' chunk"
                               + ("" if fmt else " and no 'fmt ' chunk"))
        cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
        if cid == b"fmt ":
            body = _read_exact(f, size, "'fmt ' chunk", name)
            if size < 16:
                raise RuntimeError(f"'{name}': malformed 'fmt ' chunk of {size} bytes")
            tag, ch, sr, _, align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and size >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # first bytes of the sub-format GUID
            fmt = (tag, ch, sr, align, bits)
        elif cid == b"data":
            if fmt is None:
                raise RuntimeError(f"'{name}': 'data' chunk before the 'fmt ' chunk")
            return fmt, pos + 8, size
        pos += 8 + size + (size & 1)  # chunks are word aligned


def _layout(f, name):
    (tag, ch, sr, align, bits), start, size = _parse(f, name)
    if tag not in (_PCM, _FLOAT):
        raise RuntimeError(f"'{name}': WAV format tag {tag:#x} is not supported "
                           f"(PCM and IEEE float only)")
    ok = {_PCM: (8, 16, 24, 32), _FLOAT: (32, 64)}[tag]
    if bits not in ok or ch < 1 or align != ch * bits // 8:
        raise RuntimeError(f"'{name}': unsupported WAV layout ({bits}-bit "
                           f"{'PCM' if tag == _PCM else 'float'}, {ch} channels, block {align})")
    f.seek(0, io.SEEK_END)
    available = f.tell() - start
    if size > available:
        if size not in _PLACEHOLDER_SIZES:
            raise RuntimeError(f"'{name}' is truncated: the data chunk declares {size} bytes but "
                               f"only {max(available, 0)} follow")
        size = available
    enc = "PCM_F" if tag == _FLOAT else ("PCM_U" if bits == 8 else "PCM_S")
    return _Layout(AudioMetaData(sr, size // align, ch, bits, enc), tag, start, align)


def info(uri, format=None):
    """Sample rate, frame and channel counts, bits per sample and encoding of a WAV file."""
    f, own = _open(uri)
    try:
        return _layout(f, _name(uri)).meta
    finally:
        if own:
            f.close()


def _decode(raw, lay, normalize):
    m = lay.meta
    bits = m.bits_per_sample
    if lay.fmt == _FLOAT:
        a = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8")
        return a.astype(np.float32) if normalize or bits == 32 else a
    if bits == 8:
        a = np.frombuffer(raw, dtype=np.uint8)
        return (a.astype(np.float32) - 128.0) / 128.0 if normalize else a.copy()
    if bits == 24:  # three little-endian bytes -> the top of an int32
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        a = np.zeros((len(b), 4), np.uint8)
        a[:, 1:] = b
        a = a.view("<i4").reshape(-1)
    else:
        a = np.frombuffer(raw, dtype="<i2" if bits == 16 else "<i4")
    if not normalize:  # int16 for 16-bit, int32 for 24/32-bit, native byte order
        return a.astype(np.int16 if bits == 16 else np.int32)
    scale = 32768.0 if bits == 16 else 2147483648.0
    return (a.astype(np.float64) / scale).astype(np.float32)


def load(uri, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, format=None):
    """Read a WAV file: (fw tensor [channels, frames], sample_rate), float32 in [-1, 1] when
    `normalize` (torchaudio's semantics; see the module docstring for normalize=False)."""
    if format not in (None, "wav", "WAV"):
        raise ValueError(f"format '{format}' is not supported; fw_audio reads WAV only")
    if frame_offset < 0:
        raise ValueError(f"frame_offset must be non-negative, got {frame_offset}")
    if num_frames == 0 or num_frames < -1:
        raise ValueError(f"num_frames must be -1 or positive, got {num_frames}")
    name = _name(uri)
    f, own = _open(uri)
    try:
        lay = _layout(f, name)
        m = lay.meta
        first = min(frame_offset, m.num_frames)
        count = m.num_frames - first if num_frames == -1 else min(num_frames, m.num_frames - first)
        f.seek(lay.data_start + first * lay.block_align)
        raw = _read_exact(f, count * lay.block_align, "samples", name)
    finally:
        if own:
            f.close()
    a = _decode(raw, lay, normalize).reshape(count, m.num_channels)
    if channels_first:
        a = a.T
    return fw.tensor(np.ascontiguousarray(a)), m.sample_rate


def _to_numpy(src):
    if isinstance(src, fw.Tensor):
        return src.detach().cpu().numpy()
    return np.asarray(src)


def save(uri, src, sample_rate, channels_first=True, format=None, encoding=None,
         bits_per_sample=None):
    """Write a 1-D or 2-D waveform as WAV. Defaults as torchaudio: float tensors -> 32-bit
    float, int32 -> 32-bit PCM; `encoding` 'PCM_S' | 'PCM_U' | 'PCM_F' and `bits_per_sample`
    choose another. Floats are clipped to [-1, 1] when written as integers."""
    if format not in (None, "wav", "WAV"):
        raise ValueError(f"format '{format}' is not supported; fw_audio writes WAV only")
    a = _to_numpy(src)
    if a.ndim == 1:
        a = a[None] if channels_first else a[:, None]
    if a.ndim != 2:
        raise ValueError(f"Expected 2D Tensor, got {a.ndim}D.")
    if channels_first:
        a = a.T
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    is_float = a.dtype.kind == "f"
    if a.dtype.kind not in "fiu" or (a.dtype.kind in "iu" and a.dtype.itemsize > 4):
        raise ValueError(f"unsupported sample dtype {a.dtype}; use float32 or int32 samples")
    if encoding is None:
        if bits_per_sample in (8, 16, 24):
            encoding = "PCM_U" if bits_per_sample == 8 else "PCM_S"
        elif bits_per_sample == 64 or is_float:
            encoding = "PCM_F"
        else:
            encoding = "PCM_U" if a.dtype == np.uint8 else "PCM_S"
    if bits_per_sample is None:
        bits_per_sample = {"PCM_F": 32, "PCM_U": 8}.get(encoding, a.dtype.itemsize * 8
                                                          if not is_float else 16)
    valid = {"PCM_S": (16, 24, 32), "PCM_U": (8,), "PCM_F": (32, 64)}
    if encoding not in valid:
        raise ValueError(f"encoding must be one of {sorted(valid)} for WAV, got {encoding!r}")
    if bits_per_sample not in valid[encoding]:
        raise ValueError(f"{encoding} WAV takes bits_per_sample in {valid[encoding]}, "
                         f"got {bits_per_sample}")
    # everything goes through float64 in [-1, 1): exact for every integer width up to 32 bits
    if is_float:
        x = a.astype(np.float64)
    elif a.dtype == np.uint8:
        x = (a.astype(np.float64) - 128.0) / 128.0
    else:
        x = a.astype(np.float64) / float(2 ** (a.dtype.itemsize * 8 - 1))
    if encoding == "PCM_F":
        data = x.astype("<f4" if bits_per_sample == 32 else "<f8").tobytes()
        tag = _FLOAT
    else:
        tag = _PCM
        full = 2 ** (bits_per_sample - 1)
        q = np.clip(np.round(x * full), -full, full - 1).astype(np.int64)
        if encoding == "PCM_U":
            data = (q + 128).astype(np.uint8).tobytes()
        elif bits_per_sample == 24:
            data = q.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        else:
            data = q.astype("<i2" if bits_per_sample == 16 else "<i4").tobytes()
    ch = a.shape[1]
    align = ch * bits_per_sample // 8
    fmt = struct.pack("<HHIIHH", tag, ch, int(sample_rate), int(sample_rate) * align, align,
                      bits_per_sample)
    extra = b""
    if tag == _FLOAT:  # non-PCM formats carry a cbSize field and a 'fact' chunk
        fmt += struct.pack("<H", 0)
        extra = b"fact" + struct.pack("<II", 4, len(data) // align)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
            + b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1))
    blob = b"RIFF" + struct.pack("<I", len(body)) + body
    if hasattr(uri, "write"):
        uri.write(blob)
        return
    tmp = f"{os.fspath(uri)}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:  # write then rename: a reader never sees half a file
        f.write(blob)
    os.replace(tmp, uri)
