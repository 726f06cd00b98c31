"""fw_audio: WAV I/O against scipy.io.wavfile, transforms against torch.stft, librosa, scipy and
closed forms, datasets on small trees written here, espeak-ng generation, and a model that
learns on generated speech."""
import io
import math
import os
import shutil
import struct
import time

import numpy as np
import pytest
import scipy.fft
import scipy.io.wavfile as wavfile
import scipy.signal
import torch

import framework as fw
import fw_audio
from fw_audio import datasets, functional as AF, models, transforms as T

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


def sine(freq, sr, n, amp=0.5, phase=0.0):
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr + phase)).astype(np.float32)


def np_of(t):
    return t.detach().cpu().numpy()


# -- WAV I/O -----------------------------------------------------------------------------------
def test_pcm16_roundtrip_vs_scipy(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(-32768, 32768, size=(1000, 2), dtype=np.int16)
    p = tmp_path / "a.wav"
    wavfile.write(p, 16000, data)
    x, sr = fw_audio.load(p)
    assert sr == 16000 and x.dtype == fw.float32 and tuple(x.shape) == (2, 1000)
    np.testing.assert_array_equal(np_of(x), data.T / 32768.0)
    raw, _ = fw_audio.load(p, normalize=False)
    assert raw.dtype == fw.int16  # as torchaudio's
    np.testing.assert_array_equal(np_of(raw), data.T)
    meta = fw_audio.info(p)
    assert (meta.sample_rate, meta.num_frames, meta.num_channels, meta.bits_per_sample,
            meta.encoding) == (16000, 1000, 2, 16, "PCM_S")
    q = tmp_path / "b.wav"
    fw_audio.save(q, x, sr, bits_per_sample=16)
    sr2, back = wavfile.read(q)
    assert sr2 == 16000 and back.dtype == np.int16
    np.testing.assert_array_equal(back, data)
    fw_audio.save(q, raw, sr, channels_first=True, bits_per_sample=16)  # int16 samples as they are
    np.testing.assert_array_equal(wavfile.read(q)[1], data)
    fw_audio.save(q, raw.int(), sr, channels_first=True, bits_per_sample=16)  # int32: full range
    np.testing.assert_array_equal(wavfile.read(q)[1], np.round(data / 65536.0))


def test_float32_roundtrip_and_channels_last(tmp_path):
    data = np.random.default_rng(1).uniform(-1, 1, size=(777, 3)).astype(np.float32)
    p = tmp_path / "f.wav"
    wavfile.write(p, 44100, data)
    x, sr = fw_audio.load(p, channels_first=False)
    assert sr == 44100 and tuple(x.shape) == (777, 3)
    np.testing.assert_array_equal(np_of(x), data)
    assert fw_audio.info(p).encoding == "PCM_F" and fw_audio.info(p).bits_per_sample == 32
    q = tmp_path / "g.wav"
    fw_audio.save(q, fw.tensor(data), 44100, channels_first=False)
    sr2, back = wavfile.read(q)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, data)
    y, _ = fw_audio.load(q)  # what fw wrote, fw reads
    np.testing.assert_array_equal(np_of(y), data.T)


@pytest.mark.parametrize("dtype,scale", [(np.uint8, None), (np.int32, 2.0 ** 31),
                                         (np.float64, None)])
def test_other_widths_vs_scipy(tmp_path, dtype, scale):
    rng = np.random.default_rng(2)
    if dtype == np.uint8:
        data = rng.integers(0, 256, size=(300, 1), dtype=np.uint8)
        expect = (data.astype(np.float64) - 128) / 128
    elif dtype == np.int32:
        data = rng.integers(-2 ** 31, 2 ** 31, size=(300, 1), dtype=np.int64).astype(np.int32)
        expect = data / scale
    else:
        data = rng.uniform(-1, 1, size=(300, 1))
        expect = data
    p = tmp_path / "w.wav"
    wavfile.write(p, 8000, data)
    x, _ = fw_audio.load(p)
    np.testing.assert_allclose(np_of(x), expect.T.astype(np.float32), rtol=0, atol=1e-7)
    raw, _ = fw_audio.load(p, normalize=False)
    assert raw.dtype == {np.uint8: fw.uint8, np.int32: fw.int32, np.float64: fw.float64}[dtype]
    np.testing.assert_array_equal(np_of(raw), data.T)
    q = tmp_path / "back.wav"
    bits = {np.uint8: 8, np.int32: 32, np.float64: 64}[dtype]
    enc = {np.uint8: "PCM_U", np.int32: "PCM_S", np.float64: "PCM_F"}[dtype]
    fw_audio.save(q, raw, 8000, encoding=enc, bits_per_sample=bits)
    np.testing.assert_array_equal(wavfile.read(q)[1], data[:, 0])


def test_24bit_vs_scipy(tmp_path):
    # scipy reads 24-bit PCM into the top bytes of int32, as torchaudio returns it
    x = fw.tensor(np.linspace(-1, 1 - 2 ** -23, 501).astype(np.float32)[None])
    p = tmp_path / "s24.wav"
    fw_audio.save(p, x, 16000, encoding="PCM_S", bits_per_sample=24)
    assert fw_audio.info(p).bits_per_sample == 24
    _, ref = wavfile.read(p)
    raw, _ = fw_audio.load(p, normalize=False)
    np.testing.assert_array_equal(np_of(raw)[0], ref)
    y, _ = fw_audio.load(p)
    np.testing.assert_allclose(np_of(y), np_of(x), atol=2 ** -23)


def test_frame_offset_num_frames_and_file_objects(tmp_path):
    data = (np.arange(4000, dtype=np.int16) - 2000).reshape(2000, 2)
    p = tmp_path / "o.wav"
    wavfile.write(p, 8000, data)
    x, _ = fw_audio.load(p, frame_offset=100, num_frames=50)
    np.testing.assert_array_equal(np_of(x), data[100:150].T / 32768.0)
    x, _ = fw_audio.load(p, frame_offset=1990)  # to the end
    assert tuple(x.shape) == (2, 10)
    x, _ = fw_audio.load(p, frame_offset=1990, num_frames=100)  # clipped like torchaudio
    assert tuple(x.shape) == (2, 10)
    with open(p, "rb") as f:
        y, sr = fw_audio.load(f)
    assert sr == 8000 and tuple(y.shape) == (2, 2000)
    buf = io.BytesIO()
    fw_audio.save(buf, y, 8000, bits_per_sample=16)
    buf.seek(0)
    z, _ = fw_audio.load(buf)
    np.testing.assert_array_equal(np_of(z), np_of(y))


def test_extensible_and_extra_chunks(tmp_path):
    # WAVE_FORMAT_EXTENSIBLE header, a LIST chunk before the data, an odd-sized chunk (padded)
    samples = np.array([[1, -1], [1000, -1000], [32767, -32768]], np.int16)
    fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, 2, 16000, 64000, 4, 16, 22, 16, 3, 1,
                      b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
    data = samples.tobytes()
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", 3)
            + b"abc\0" + b"data" + struct.pack("<I", len(data)) + data)
    p = tmp_path / "ext.wav"
    p.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    raw, sr = fw_audio.load(p, normalize=False)
    assert sr == 16000
    np.testing.assert_array_equal(np_of(raw), samples.T)


def test_wav_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        fw_audio.load(tmp_path / "missing.wav")
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"ID3\x03" + b"\0" * 100)
    with pytest.raises(RuntimeError, match="not a WAV file"):
        fw_audio.load(bad)
    good = tmp_path / "g.wav"
    wavfile.write(good, 8000, np.zeros(1000, np.int16))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:600])
    with pytest.raises(RuntimeError, match="truncated"):
        fw_audio.load(cut)
    cut.write_bytes(good.read_bytes()[:30])
    with pytest.raises(RuntimeError, match="truncated"):
        fw_audio.info(cut)
    with pytest.raises(ValueError, match="encoding"):
        fw_audio.save(tmp_path / "y.wav", fw.zeros(1, 10), 8000, encoding="ULAW")
    with pytest.raises(ValueError, match="bits_per_sample"):
        fw_audio.save(tmp_path / "y.wav", fw.zeros(1, 10), 8000, encoding="PCM_S",
                      bits_per_sample=12)
    with pytest.raises(ValueError, match="2D"):
        fw_audio.save(tmp_path / "y.wav", fw.zeros(1, 1, 10), 8000)
    with pytest.raises(ValueError, match="WAV"):
        fw_audio.load(good, format="mp3")


# -- transforms --------------------------------------------------------------------------------
def test_hann_window_matches_torch():
    for n in (1, 2, 7, 400):
        for periodic in (True, False):
            np.testing.assert_allclose(np_of(AF.hann_window(n, periodic)),
                                       torch.hann_window(n, periodic).numpy(), atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(n_fft=256, hop_length=64),
                                dict(n_fft=512, win_length=300, hop_length=100),
                                dict(n_fft=128, center=False), dict(n_fft=64, power=1.0),
                                dict(n_fft=64, normalized=True), dict(n_fft=32, onesided=False),
                                dict(n_fft=64, pad_mode="constant", pad=5)])
def test_spectrogram_vs_torch_stft_values_and_grads(device, kw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 1500)).astype(np.float32)
    mod = T.Spectrogram(**kw).to(device)
    xf = fw.tensor(x, device=device, requires_grad=True)
    out = mod(xf)
    n_fft = kw.get("n_fft", 400)
    win = kw.get("win_length", n_fft)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    xp = torch.nn.functional.pad(xt, (kw.get("pad", 0),) * 2)
    st = torch.stft(xp, n_fft, hop_length=kw.get("hop_length", win // 2), win_length=win,
                    window=torch.hann_window(win, dtype=torch.float64),
                    center=kw.get("center", True), pad_mode=kw.get("pad_mode", "reflect"),
                    onesided=kw.get("onesided", True), return_complex=True)
    ref = st.abs() ** kw.get("power", 2.0)
    if kw.get("normalized"):
        ref = ref / (torch.hann_window(win, dtype=torch.float64) ** 2).sum()
    assert tuple(out.shape) == tuple(ref.shape)
    scale = ref.abs().max().item()
    np.testing.assert_allclose(np_of(out) / scale, ref.detach().numpy() / scale, atol=2e-5)
    g = rng.standard_normal(ref.shape)
    out.backward(fw.tensor(g.astype(np.float32), device=device))
    ref.backward(torch.tensor(g))
    gs = xt.grad.abs().max().item()
    np.testing.assert_allclose(np_of(xf.grad) / gs, xt.grad.numpy() / gs, atol=5e-5)


def test_spectrogram_pure_tone_closed_form():
    # a tone on bin k: in frames away from the edges, power (A * sum(w) / 2)^2 at bin k only
    n_fft, k, amp, sr = 256, 20, 0.8, 8000
    x = sine(k * sr / n_fft, sr, 4000, amp)
    spec = np_of(T.Spectrogram(n_fft=n_fft, hop_length=64)(fw.tensor(x)))
    w = np_of(AF.hann_window(n_fft))
    mid = spec[:, 5:-5]
    assert (mid.argmax(0) == k).all()
    np.testing.assert_allclose(mid[k], (amp * w.sum() / 2) ** 2, rtol=1e-4)
    # Hann leaks only into the two neighbours
    others = np.delete(mid, [k - 1, k, k + 1], axis=0)
    assert others.max() < 1e-6 * mid[k].max()


def test_spectrogram_power_none_and_errors():
    with pytest.raises(NotImplementedError, match="complex"):
        T.Spectrogram(power=None)(fw.zeros(1000))
    with pytest.raises(RuntimeError, match="Padding size"):
        T.Spectrogram(n_fft=400)(fw.zeros(100))  # reflect pad longer than the signal


def test_melscale_fbanks_properties_and_librosa():
    fb = np_of(AF.melscale_fbanks(201, 0.0, 8000.0, 40, 16000))
    assert fb.shape == (201, 40) and (fb >= 0).all()
    # triangles tile: between the first and the last centre the weights sum to one
    centres = AF.mel_to_hz(np.linspace(AF.hz_to_mel(0.0), AF.hz_to_mel(8000.0), 42))[1:-1]
    freqs = np.linspace(0, 8000, 201)
    inside = (freqs >= centres[0]) & (freqs <= centres[-1])
    np.testing.assert_allclose(fb[inside].sum(1), 1.0, atol=1e-6)
    # each filter peaks at its centre frequency (the nearest bin)
    peaks = freqs[fb.argmax(0)]
    assert np.abs(peaks - centres).max() <= 40.0 + 1e-9  # within a bin
    # HTK scale in closed form
    assert AF.hz_to_mel(700.0) == pytest.approx(2595 * math.log10(2))
    np.testing.assert_allclose(AF.mel_to_hz(AF.hz_to_mel([0, 300, 5000], "slaney"), "slaney"),
                               [0, 300, 5000], rtol=1e-12, atol=1e-9)
    librosa = pytest.importorskip("librosa")
    for norm, scale in [(None, "htk"), ("slaney", "slaney"), ("slaney", "htk"), (None, "slaney")]:
        ours = np_of(AF.melscale_fbanks(257, 30.0, 7000.0, 64, 16000, norm=norm, mel_scale=scale))
        ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64, fmin=30.0, fmax=7000.0,
                                  htk=scale == "htk", norm=norm)
        np.testing.assert_allclose(ours.T, ref, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError):
        AF.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, norm="l2")
    with pytest.raises(ValueError):
        AF.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, mel_scale="bark")


def test_create_dct_vs_scipy():
    d = np_of(AF.create_dct(13, 40, "ortho"))
    ref = scipy.fft.dct(np.eye(40), type=2, norm="ortho", axis=0)[:13].T
    np.testing.assert_allclose(d, ref, atol=1e-6)
    full = np_of(AF.create_dct(32, 32, "ortho")).astype(np.float64)
    np.testing.assert_allclose(full.T @ full, np.eye(32), atol=1e-5)  # orthonormal
    np.testing.assert_allclose(np_of(AF.create_dct(13, 40, None)),
                               scipy.fft.dct(np.eye(40), type=2, axis=0)[:13].T, atol=1e-5)
    with pytest.raises(ValueError):
        AF.create_dct(13, 40, "l1")


def test_melspectrogram_and_mfcc_vs_librosa(device):
    librosa = pytest.importorskip("librosa")
    x = np.random.default_rng(4).standard_normal(8000).astype(np.float32) * 0.3
    x += sine(440, 16000, 8000)
    xf = fw.tensor(x, device=device)
    for norm, scale in [(None, "htk"), ("slaney", "slaney")]:
        mel = T.MelSpectrogram(16000, n_fft=512, hop_length=128, n_mels=48, norm=norm,
                               mel_scale=scale).to(device)
        ref = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, hop_length=128, n_mels=48,
                                             htk=scale == "htk", norm=norm, center=True,
                                             pad_mode="reflect")
        ours = np_of(mel(xf))
        np.testing.assert_allclose(ours / ref.max(), ref / ref.max(), atol=1e-5)
    mfcc = T.MFCC(16000, n_mfcc=20, melkwargs=dict(n_fft=512, hop_length=128, n_mels=48)).to(device)
    S = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, hop_length=128, n_mels=48,
                                       htk=True, norm=None, pad_mode="reflect")
    ref = librosa.feature.mfcc(S=librosa.power_to_db(S, ref=1.0, top_db=80.0), n_mfcc=20,
                               dct_type=2, norm="ortho")
    np.testing.assert_allclose(np_of(mfcc(xf)), ref, atol=2e-3, rtol=1e-4)
    logm = T.MFCC(16000, n_mfcc=20, log_mels=True,
                  melkwargs=dict(n_fft=512, hop_length=128, n_mels=48))
    ref = scipy.fft.dct(np.log(S + 1e-6), type=2, norm="ortho", axis=0)[:20]
    np.testing.assert_allclose(np_of(logm(fw.tensor(x))), ref, atol=2e-3, rtol=1e-4)
    with pytest.raises(ValueError, match="MFCC"):
        T.MFCC(n_mfcc=50, melkwargs=dict(n_mels=40))
    with pytest.raises(ValueError, match="DCT type"):
        T.MFCC(dct_type=3)


def test_amplitude_to_db_closed_form(device):
    x = np.abs(np.random.default_rng(5).standard_normal((2, 3, 4, 5))).astype(np.float32)
    x[0, 0, 0, 0] = 0.0
    xf = fw.tensor(x, device=device)
    db = np_of(T.AmplitudeToDB()(xf))
    np.testing.assert_allclose(db, 10 * np.log10(np.maximum(x, 1e-10)), rtol=1e-5, atol=1e-4)
    mag = np_of(T.AmplitudeToDB("magnitude")(xf))
    np.testing.assert_allclose(mag, 20 * np.log10(np.maximum(x, 1e-10)), rtol=1e-5, atol=1e-4)
    top = np_of(T.AmplitudeToDB(top_db=10)(xf))
    full = 10 * np.log10(np.maximum(x, 1e-10))
    floor = full.reshape(2, -1).max(1) - 10  # per item, over (channel, freq, time)
    np.testing.assert_allclose(top, np.maximum(full, floor[:, None, None, None]), rtol=1e-5,
                               atol=1e-4)
    with pytest.raises(ValueError):
        T.AmplitudeToDB(top_db=-1)
    with pytest.raises(ValueError):
        T.AmplitudeToDB(stype="energy")


@pytest.mark.parametrize("orig,new", [(16000, 8000), (22050, 16000), (8000, 16000),
                                      (44100, 16000)])
def test_resample_tone_and_scipy(device, orig, new):
    n = orig // 2
    x = sine(440.0, orig, n, 0.9) + sine(1500.0, orig, n, 0.3, 1.0)
    y = np_of(T.Resample(orig, new).to(device)(fw.tensor(x[None], device=device)))[0]
    assert len(y) == math.ceil(new * n / orig)  # torchaudio's output length
    t = np.arange(len(y)) / new
    exact = 0.9 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1500 * t + 1.0)
    edge = 64
    np.testing.assert_allclose(y[edge:-edge], exact[edge:-edge], atol=2e-3)
    g = math.gcd(orig, new)
    ref = scipy.signal.resample_poly(x, new // g, orig // g)
    m = min(len(ref), len(y))
    np.testing.assert_allclose(y[edge:m - edge], ref[edge:m - edge], atol=3e-3)


def test_resample_removes_what_the_new_rate_cannot_hold():
    x = sine(6000.0, 16000, 16000)              # above the 4 kHz Nyquist of 8 kHz
    y = np_of(AF.resample(fw.tensor(x), 16000, 8000))
    assert np.abs(y[100:-100]).max() < 0.01
    same = fw.tensor(x)
    assert AF.resample(same, 16000, 16000) is same
    k = np_of(AF.resample(fw.tensor(x), 16000, 8000, resampling_method="sinc_interp_kaiser"))
    assert np.abs(k[100:-100]).max() < 0.01
    with pytest.raises(ValueError):
        T.Resample(0, 16000)
    with pytest.raises(ValueError):
        T.Resample(16000, 8000, resampling_method="linear")
    with pytest.raises(TypeError):
        AF.resample(fw.zeros(10, dtype=fw.int64), 2, 1)


def test_masking_shapes_and_zeros():
    fw.manual_seed(0)
    spec = fw.ones(3, 40, 100)
    out = np_of(T.TimeMasking(30)(spec))
    cols = (out == 0).all(axis=(0, 1))
    assert cols.sum() <= 30 and (out[:, :, ~cols] == 1).all()
    out = np_of(T.FrequencyMasking(10)(spec))
    rows = (out == 0).all(axis=(0, 2))
    assert rows.sum() <= 10 and (out[:, ~rows, :] == 1).all()
    batch = np_of(T.TimeMasking(50, iid_masks=True)(fw.ones(8, 1, 10, 100)))
    assert batch.shape == (8, 1, 10, 100)


# -- datasets ----------------------------------------------------------------------------------
def write_wav(path, x, sr=16000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wavfile.write(path, sr, (np.clip(x, -1, 1) * 32767).astype(np.int16))


def test_speechcommands_layout(tmp_path):
    base = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    files = {"yes": ["aa11_nohash_0", "aa11_nohash_1", "bb22_nohash_0"],
             "no": ["aa11_nohash_0", "cc33_nohash_2"]}
    for i, (label, stems) in enumerate(files.items()):
        for j, s in enumerate(stems):
            write_wav(str(base / label / f"{s}.wav"), sine(300 + 100 * i + 10 * j, 16000, 800))
    write_wav(str(base / "_background_noise_" / "noise.wav"), np.zeros(100))
    (base / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\n")
    (base / "testing_list.txt").write_text("no/cc33_nohash_2.wav\n")
    ds = datasets.SPEECHCOMMANDS(tmp_path)
    assert len(ds) == 5
    w, sr, label, speaker, n = ds[0]
    assert (sr, label, speaker, n) == (16000, "no", "aa11", 0) and tuple(w.shape) == (1, 800)
    assert ds.get_metadata(4)[2:] == ("yes", "bb22", 0)
    assert [ds[i][2:] for i in range(len(datasets.SPEECHCOMMANDS(tmp_path, subset="training")))]
    train = datasets.SPEECHCOMMANDS(tmp_path, subset="training")
    assert sorted(train[i][3] for i in range(len(train))) == ["aa11", "aa11", "aa11"]
    test = datasets.SPEECHCOMMANDS(tmp_path, subset="testing")
    assert len(test) == 1 and test[0][2:] == ("no", "cc33", 2)
    assert datasets.SPEECHCOMMANDS(tmp_path, subset="validation")[0][3] == "bb22"
    with pytest.raises(ValueError, match="subset"):
        datasets.SPEECHCOMMANDS(tmp_path, subset="train")
    with pytest.raises(RuntimeError, match="doesn't exist"):
        datasets.SPEECHCOMMANDS(tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="download"):
        datasets.SPEECHCOMMANDS(tmp_path / "nowhere", download=True)


def test_yesno_layout(tmp_path):
    stems = ["0_0_1_1_0_1_0_1", "1_1_1_1_0_0_0_0", "0_0_0_0_0_0_0_0"]
    for s in stems:
        write_wav(str(tmp_path / "waves_yesno" / f"{s}.wav"), sine(200, 8000, 400), sr=8000)
    ds = datasets.YESNO(tmp_path)
    assert len(ds) == 3
    w, sr, labels = ds[1]
    assert sr == 8000 and labels == [0, 0, 1, 1, 0, 1, 0, 1] and tuple(w.shape) == (1, 400)
    assert ds.get_metadata(0)[2] == [0] * 8
    with pytest.raises(RuntimeError, match="not found"):
        datasets.YESNO(tmp_path / "none")


def test_audio_folder(tmp_path):
    for label, f in [("high", 2000), ("low", 200)]:
        for j in range(3):
            write_wav(str(tmp_path / label / f"{j}.wav"), sine(f + j, 16000, 1600))
    (tmp_path / "low" / "notes.txt").write_text("ignored")
    ds = datasets.AudioFolder(tmp_path, sample_rate=8000)
    assert ds.classes == ["high", "low"] and len(ds) == 6 and ds.targets == [0, 0, 0, 1, 1, 1]
    w, target = ds[4]
    assert target == 1 and tuple(w.shape) == (1, 800)
    mel = datasets.AudioFolder(tmp_path, transform=T.MelSpectrogram(n_mels=16),
                               target_transform=lambda t: -t)
    x, t = mel[0]
    assert tuple(x.shape) == (1, 16, 9) and t == 0
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="empty"):
        datasets.AudioFolder(tmp_path)
    assert len(datasets.AudioFolder(tmp_path, allow_empty=True)) == 6


def test_spoken_digits_needs_espeak(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        datasets.SpokenDigits(tmp_path, num_speakers=1)
    with pytest.raises(RuntimeError, match="generate=True"):
        datasets.SpokenDigits(tmp_path, generate=False)


@pytest.fixture(scope="module")
def digits_root(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    root = tmp_path_factory.mktemp("digits")
    t = time.time()
    ds = datasets.SpokenDigits(root, num_speakers=40, num_workers=2)
    print(f"generated {ds.generated} clips in {time.time() - t:.1f} s")
    return root


@needs_espeak
def test_spoken_digits_generation(digits_root):
    ds = datasets.SpokenDigits(digits_root, num_speakers=3)  # the first 3 of the 40: no new work
    assert ds.generated == 0 and len(ds) == 30
    w, sr, label, speaker, n = ds[0]
    assert sr == 16000 and label in datasets.DIGITS and n == 0 and w.shape[0] == 1
    assert 0.3 * 16000 < w.shape[1] < 2.5 * 16000 and float(w.abs().max()) > 0.05
    assert fw_audio.info(ds._walker[0]).bits_per_sample == 16
    info = ds.speaker_info()
    assert set(ds.speakers[0][:4]) == set(info[ds.speakers[0][4]])
    # the same files read through SPEECHCOMMANDS, and speakers never cross splits
    full = datasets.SPEECHCOMMANDS(digits_root, url="espeak_digits", folder_in_archive="SpokenDigits")
    assert len(full) == 400
    spk = {s: {os.path.basename(p).split("_nohash_")[0] for p in
               datasets.SpokenDigits(digits_root, subset=s, num_speakers=40)._walker}
           for s in ("training", "validation", "testing")}
    assert spk["testing"] and spk["training"]
    assert not (spk["testing"] & spk["training"]) and not (spk["validation"] & spk["training"])
    assert sum(map(len, spk.values())) == 40
    # a removed file is made again, the others are kept
    os.remove(ds._walker[0])
    again = datasets.SpokenDigits(digits_root, num_speakers=3)
    assert again.generated == 1


def test_cli_lists_audio():
    from click.testing import CliRunner
    from framework.cli import main
    out = CliRunner().invoke(main, ["datasets", "list"])
    assert out.exit_code == 0, out.output
    for name in ("SPEECHCOMMANDS", "YESNO", "AudioFolder", "SpokenDigits"):
        assert name in out.output
    out = CliRunner().invoke(main, ["transforms", "list"])
    assert "MelSpectrogram" in out.output and "Resample" in out.output
    out = CliRunner().invoke(main, ["models", "list"])
    assert "M5" in out.output and "MelCNN" in out.output


# -- models ------------------------------------------------------------------------------------
def test_model_shapes(device):
    m5 = models.M5(n_output=10).to(device)
    out = m5(fw.randn(3, 1, 8000, device=device))
    assert tuple(out.shape) == (3, 1, 10)
    np.testing.assert_allclose(np_of(out.exp().sum(-1)), 1.0, rtol=1e-5)
    cnn = models.MelCNN(n_classes=7).to(device)
    assert tuple(cnn(fw.randn(2, 1, 40, 50, device=device)).shape) == (2, 7)


def _train_eval(x, y, xt, yt, n_classes, steps, seed=0):
    fw.manual_seed(seed)
    model = models.MelCNN(n_classes=n_classes, channels=(8, 16, 32), dropout=0.0)
    opt = fw.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = fw.tensor(rng.integers(0, len(y), 32))
        loss = fw.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with fw.no_grad():
        return (model(xt).argmax(1) == yt).float().mean().item()


def _logmel(waves, n_mels=32):
    feat = fw.nn.Sequential(T.MelSpectrogram(16000, n_fft=400, hop_length=320, n_mels=n_mels),
                            T.AmplitudeToDB(top_db=80))
    with fw.no_grad():
        x = feat(fw.tensor(np.stack(waves))).unsqueeze(1)
    return (x - x.mean()) / x.std()


@needs_espeak
def test_model_learns_spoken_digits(digits_root):
    """A small CNN on log-mel features of 400 generated clips (40 voices) recognises digits of
    voices it never heard far above chance (10 %)."""
    def split(subset):
        ds = datasets.SpokenDigits(digits_root, subset=subset, num_speakers=40)
        waves, labels = [], []
        for i in range(len(ds)):
            w, _, label, _, _ = ds[i]
            w = np_of(w)[0, :16000]
            waves.append(np.pad(w, (0, 16000 - len(w))))
            labels.append(datasets.DIGITS.index(label))
        return waves, fw.tensor(labels)
    tr, te = split("training"), split("testing")
    va = split("validation")
    x = _logmel(tr[0] + va[0])
    y = fw.cat([tr[1], va[1]])
    xt = _logmel(te[0])
    t = time.time()
    acc = _train_eval(x, y, xt, te[1], 10, steps=150)
    print(f"held-out-voice accuracy {acc:.1%} in {time.time() - t:.1f} s")
    assert acc > 0.4


def test_model_learns_tones():
    """Without espeak too: five pure-tone classes with random phase, amplitude and noise."""
    rng = np.random.default_rng(0)
    freqs = [300, 600, 1200, 2400, 4800]

    def make(n):
        waves, labels = [], []
        for i in range(n):
            c = i % 5
            w = sine(freqs[c] * rng.uniform(0.95, 1.05), 16000, 4000, rng.uniform(0.1, 0.9),
                     rng.uniform(0, 6.28)) + rng.normal(0, 0.05, 4000).astype(np.float32)
            waves.append(w)
            labels.append(c)
        return _logmel(waves), fw.tensor(labels)
    (x, y), (xt, yt) = make(200), make(100)
    assert _train_eval(x, y, xt, yt, 5, steps=40) > 0.8
