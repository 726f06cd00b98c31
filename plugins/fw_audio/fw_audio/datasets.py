"""Audio data sets in torchaudio's layouts and item formats, plus spoken digits made offline.

- SPEECHCOMMANDS: root/SpeechCommands/speech_commands_v0.02/<label>/<speaker>_nohash_<n>.wav
  with validation_list.txt / testing_list.txt; item (waveform, sample_rate, label, speaker_id,
  utterance_number).
- YESNO: root/waves_yesno/<0|1>_..._<0|1>.wav; item (waveform, sample_rate, labels).
- AudioFolder: root/<label>/**/*.wav; item (waveform, class_index), torchvision-folder style.
- SpokenDigits: "zero".."nine" synthesised with eSpeak NG in many voices, written in the
  SPEECHCOMMANDS layout (so SPEECHCOMMANDS reads it too) with the splits made by speaker.

Nothing is downloaded (fw assumes no network): download=True raises a clear error.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from framework.utils.data import Dataset

from .wav import load, save

__all__ = ["SPEECHCOMMANDS", "YESNO", "AudioFolder", "SpokenDigits", "espeak_available"]

_SC_URLS = ("speech_commands_v0.01", "speech_commands_v0.02")
_SC_BASE = "http://download.tensorflow.org/data/"


def _no_download(name, where):
    raise RuntimeError(f"{name}: downloading is not available in fw (no network access is "
                       f"assumed). Put the files in {where} and leave download=False.")


def _missing(path):
    raise RuntimeError(f"The path {path} doesn't exist. Please check the ``root`` path or set "
                       f"`download=True` to download it")


class SPEECHCOMMANDS(Dataset):
    """Speech Commands (torchaudio.datasets.SPEECHCOMMANDS): same folders, walker and items."""

    def __init__(self, root, url="speech_commands_v0.02", folder_in_archive="SpeechCommands",
                 download=False, subset=None):
        if subset is not None and subset not in ("training", "validation", "testing"):
            raise ValueError("When `subset` is not None, it must be one of ['training', "
                             "'validation', 'testing'].")
        if url in _SC_URLS:
            url = _SC_BASE + url + ".tar.gz"
        basename = os.path.basename(url).rsplit(".", 2)[0] if url.endswith(".tar.gz") \
            else os.path.basename(url)
        self._archive = os.fspath(root)
        self._path = os.path.join(self._archive, folder_in_archive, basename)
        if download and not os.path.isdir(self._path):
            _no_download(type(self).__name__, self._path)
        if not os.path.isdir(self._path):
            _missing(self._path)
        self.subset = subset
        self._walker = self._walk(subset)

    def _list(self, name):
        path = os.path.join(self._path, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [os.path.normpath(os.path.join(self._path, line.strip()))
                    for line in f if line.strip()]

    def _walk(self, subset):
        files = sorted(os.path.normpath(str(p)) for p in Path(self._path).glob("*/*.wav"))
        files = [p for p in files if "_nohash_" in p and "_background_noise_" not in p]
        if subset == "validation":
            return self._list("validation_list.txt")
        if subset == "testing":
            return self._list("testing_list.txt")
        if subset == "training":
            held = set(self._list("validation_list.txt")) | set(self._list("testing_list.txt"))
            return [p for p in files if p not in held]
        return files

    def get_metadata(self, n):
        """(relative path, sample_rate, label, speaker_id, utterance_number), without decoding."""
        path = self._walker[n]
        rel = os.path.relpath(path, self._archive)
        label = os.path.basename(os.path.dirname(path))
        speaker, utterance = os.path.splitext(os.path.basename(path))[0].split("_nohash_")
        from .wav import info
        return rel, info(path).sample_rate, label, speaker, int(utterance)

    def __getitem__(self, n):
        path = self._walker[n]
        waveform, sr = load(path)
        label = os.path.basename(os.path.dirname(path))
        speaker, utterance = os.path.splitext(os.path.basename(path))[0].split("_nohash_")
        return waveform, sr, label, speaker, int(utterance)

    def __len__(self):
        return len(self._walker)


class YESNO(Dataset):
    """YesNo (torchaudio.datasets.YESNO): 8 'yes'/'no' words per file, labels in the name."""

    def __init__(self, root, url="http://www.openslr.org/resources/1/waves_yesno.tar.gz",
                 folder_in_archive="waves_yesno", download=False):
        self._path = os.path.join(os.fspath(root), folder_in_archive)
        if download and not os.path.isdir(self._path):
            _no_download("YESNO", self._path)
        if not os.path.isdir(self._path):
            raise RuntimeError("Dataset not found. Please use `download=True` to download it.")
        self._walker = sorted(p.stem for p in Path(self._path).glob("*.wav"))

    def get_metadata(self, n):
        stem = self._walker[n]
        from .wav import info
        return (f"{stem}.wav", info(os.path.join(self._path, f"{stem}.wav")).sample_rate,
                [int(c) for c in stem.split("_")])

    def __getitem__(self, n):
        stem = self._walker[n]
        waveform, sr = load(os.path.join(self._path, f"{stem}.wav"))
        return waveform, sr, [int(c) for c in stem.split("_")]

    def __len__(self):
        return len(self._walker)


class AudioFolder(Dataset):
    """root/<class>/**/<file>.wav -> (waveform, class_index), like torchvision's DatasetFolder.

    `sample_rate`, when given, resamples every clip to it; `loader(path)` replaces the reader
    (it must return a waveform)."""

    def __init__(self, root, transform=None, target_transform=None, extensions=(".wav",),
                 loader=None, sample_rate=None, allow_empty=False):
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"Couldn't find any class folder in {self.root}.")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {self.root}.")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        exts = tuple(e.lower() for e in extensions)
        self.samples = []
        for c in self.classes:
            found = [os.path.join(d, f)
                     for d, _, files in sorted(os.walk(os.path.join(self.root, c), followlinks=True))
                     for f in sorted(files) if f.lower().endswith(exts)]
            if not found and not allow_empty:
                raise FileNotFoundError(f"Found no valid file for the classes {c}. Supported "
                                        f"extensions are: {', '.join(exts)}")
            self.samples += [(p, self.class_to_idx[c]) for p in found]
        self.targets = [t for _, t in self.samples]
        self.transform, self.target_transform = transform, target_transform
        self.loader, self.sample_rate = loader, sample_rate

    def _load(self, path):
        if self.loader is not None:
            return self.loader(path)
        waveform, sr = load(path)
        if self.sample_rate is not None and sr != self.sample_rate:
            from .functional import resample
            waveform = resample(waveform, sr, self.sample_rate)
        return waveform

    def __getitem__(self, n):
        path, target = self.samples[n]
        x = self._load(path)
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return x, target

    def __len__(self):
        return len(self.samples)


# -- spoken digits by eSpeak NG ------------------------------------------------------------------
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# the English voices espeak-ng ships itself (the mbrola ones need extra packages)
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
ESPEAK_RATE = 22050


def espeak_available():
    return shutil.which("espeak-ng") is not None


def _require_espeak():
    if not espeak_available():
        raise RuntimeError("SpokenDigits needs the `espeak-ng` program to generate its clips, "
                           "and it is not on PATH. Install it with `apt-get install espeak-ng` "
                           "(Debian/Ubuntu package `espeak-ng`), or pass generate=False to read "
                           "clips generated earlier.")


def espeak_variants():
    """The voice variants espeak-ng knows (`espeak-ng --voices=variant`), e.g. 'f2', 'klatt'."""
    _require_espeak()
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1:]
    # the file column is '!v/<name>'; that name is what goes after '+' (one name has a space
    # in it, 'Mr serious', which a '-v' argument cannot carry: leave it out)
    names = {re.split(r"\s{2,}|\s*\(", line.split("!v/", 1)[1].strip())[0]
             for line in out if "!v/" in line}
    return sorted(n for n in names if " " not in n)


def _speaker_id(voice, variant, speed, pitch):
    return hashlib.sha1(f"{voice}+{variant}|{speed}|{pitch}".encode()).hexdigest()[:8]


def _which_set(speaker_id, validation_percentage, testing_percentage):
    """The split of a speaker from a hash of its id (Speech Commands' rule), so a speaker keeps
    its split however many speakers are generated."""
    pct = int(hashlib.sha1(speaker_id.encode()).hexdigest(), 16) % 10000 / 100.0
    if pct < validation_percentage:
        return "validation"
    if pct < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def _make_speaker(job):
    """Worker: synthesise the ten digits for one speaker; returns how many files it wrote."""
    voice, variant, speed, pitch, sid, folder, sample_rate = job
    todo = [(w, os.path.join(folder, w, f"{sid}_nohash_0.wav")) for w in DIGITS]
    todo = [(w, p) for w, p in todo if not os.path.exists(p)]
    if not todo:
        return 0
    from .functional import resample
    import framework as fw
    with tempfile.TemporaryDirectory() as tmp:
        for word, path in todo:
            raw = os.path.join(tmp, "out.wav")
            subprocess.run(["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p",
                            str(pitch), "-w", raw, word], check=True, capture_output=True)
            x, sr = load(raw)
            if sr != sample_rate:
                x = resample(x, sr, sample_rate)
            save(path, fw.clamp(x, -1.0, 1.0), sample_rate, bits_per_sample=16, encoding="PCM_S")
    return len(todo)


def _one_blas_thread():
    # several workers each running a multi-threaded BLAS oversubscribe the cores badly
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass


class SpokenDigits(SPEECHCOMMANDS):
    """Spoken digits "zero".."nine" synthesised by eSpeak NG. Synthetic speech, not recordings.

    Each speaker is a (accent, voice variant, speed in words/min, pitch 0-99) drawn from a
    generator seeded with `seed`; its id is a hash of those four, and it says every digit once.
    Files go to root/SpokenDigits/espeak_digits/<digit>/<speaker_id>_nohash_0.wav at
    `sample_rate` (16-bit PCM), with validation_list.txt / testing_list.txt holding about
    `validation_percentage` / `testing_percentage` of the speakers, so the test voices are never
    heard in training. generate=True makes missing files (in parallel, `num_workers` processes);
    existing ones are kept. Items are SPEECHCOMMANDS items; `label_index(label)` gives 0..9.
    """

    def __init__(self, root, subset=None, generate=True, num_speakers=100, seed=0,
                 sample_rate=16000, num_workers=None, accents=ACCENTS, variants=None,
                 speeds=(120, 200), pitches=(20, 80), validation_percentage=10.0,
                 testing_percentage=10.0, folder_in_archive="SpokenDigits", url="espeak_digits"):
        folder = os.path.join(os.fspath(root), folder_in_archive, url)
        self.sample_rate = sample_rate
        self.speakers = None
        if generate:
            _require_espeak()
            self.speakers = self._draw(num_speakers, seed, accents, variants or espeak_variants(),
                                       speeds, pitches)
            self.generated = self._generate(folder, num_workers)
            self._write_lists(folder, validation_percentage, testing_percentage)
        elif not os.path.isdir(folder):
            raise RuntimeError(f"The path {folder} doesn't exist: generate the clips with "
                               f"generate=True (needs espeak-ng)")
        super().__init__(root, url=url, folder_in_archive=folder_in_archive, subset=subset)
        if self.speakers is not None:  # exactly the speakers asked for, even if more are on disk
            keep = {s[4] for s in self.speakers}
            self._walker = [p for p in self._walker
                            if os.path.basename(p).split("_nohash_")[0] in keep]

    @staticmethod
    def label_index(label):
        return DIGITS.index(label)

    @staticmethod
    def _draw(n, seed, accents, variants, speeds, pitches):
        rng = np.random.default_rng(seed)
        out, seen = [], set()
        for _ in range(100 * n):
            if len(out) == n:
                break
            voice = accents[rng.integers(len(accents))]
            variant = variants[rng.integers(len(variants))]
            speed = int(rng.integers(speeds[0], speeds[1] + 1))
            pitch = int(rng.integers(pitches[0], pitches[1] + 1))
            sid = _speaker_id(voice, variant, speed, pitch)
            if sid not in seen:
                seen.add(sid)
                out.append((voice, variant, speed, pitch, sid))
        return out

    def _generate(self, folder, num_workers):
        for w in DIGITS:
            os.makedirs(os.path.join(folder, w), exist_ok=True)
        jobs = [s + (folder, self.sample_rate) for s in self.speakers]
        # keep a table of who is who, so results can be broken down by voice
        with open(os.path.join(folder, "speakers.tsv"), "a+") as f:
            f.seek(0)
            known = {line.split("\t")[0] for line in f}
            for voice, variant, speed, pitch, sid in self.speakers:
                if sid not in known:
                    f.write(f"{sid}\t{voice}\t{variant}\t{speed}\t{pitch}\n")
        pending = [j for j in jobs if not all(
            os.path.exists(os.path.join(folder, w, f"{j[4]}_nohash_0.wav")) for w in DIGITS)]
        if not pending:
            return 0
        workers = num_workers or os.cpu_count() or 1
        if workers == 1 or len(pending) == 1:
            return sum(_make_speaker(j) for j in pending)
        # forkserver: never fork a parent that may hold an OpenCL context
        with ProcessPoolExecutor(workers, mp_context=get_context("forkserver"),
                                 initializer=_one_blas_thread) as pool:
            return sum(pool.map(_make_speaker, pending, chunksize=4))

    def _write_lists(self, folder, val_pct, test_pct):
        lists = {"validation": [], "testing": []}
        for path in sorted(Path(folder).glob("*/*_nohash_*.wav")):
            split = _which_set(path.name.split("_nohash_")[0], val_pct, test_pct)
            if split in lists:
                lists[split].append(f"{path.parent.name}/{path.name}")
        for split, files in lists.items():
            tmp = os.path.join(folder, f".{split}_list.txt.tmp")
            with open(tmp, "w") as f:
                f.write("".join(line + "\n" for line in files))
            os.replace(tmp, os.path.join(folder, f"{split}_list.txt"))

    def speaker_info(self):
        """{speaker_id: (accent, variant, speed, pitch)} from speakers.tsv."""
        path = os.path.join(self._path, "speakers.tsv")
        if not os.path.exists(path):
            return {}
        with open(path) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        return {r[0]: (r[1], r[2], int(r[3]), int(r[4])) for r in rows}
