"""Entry point of the audio plugin (group `fw.plugins`). Imports nothing heavy until a hook
runs."""
from framework.plugins import NameClash, hookimpl

_DATASETS = ["SPEECHCOMMANDS", "YESNO", "AudioFolder", "SpokenDigits"]
_TRANSFORMS = ["Spectrogram", "MelScale", "MelSpectrogram", "MFCC", "AmplitudeToDB", "Resample",
               "FrequencyMasking", "TimeMasking"]
_MODELS = ["M5", "MelCNN"]


def _register_all(register, module, names):
    for name in names:
        obj = getattr(module, name)
        try:
            register(name, obj)
        except NameClash:
            # a name another plugin took first: keep ours reachable under a prefix
            register(f"audio.{name}", obj)


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    _register_all(register, datasets, _DATASETS)


@hookimpl
def fw_register_transforms(register):
    from . import transforms
    _register_all(register, transforms, _TRANSFORMS)


@hookimpl
def fw_register_models(register):
    from . import models
    _register_all(register, models, _MODELS)


@hookimpl
def fw_plugin_info():
    return {"description": "audio I/O (WAV), torchaudio-style transforms (Spectrogram, "
                           "MelSpectrogram, MFCC, Resample, ...), datasets (SPEECHCOMMANDS, "
                           "YESNO, AudioFolder, SpokenDigits by espeak-ng), models (M5, MelCNN)",
            "import": "import fw_audio; from fw_audio import transforms, datasets, models"}
