"""Entry point of the audio plugin (group `fw.plugins`). Imports nothing heavy until a hook
runs."""
from framework.plugins import hookimpl, register_each

_DATASETS = ["SPEECHCOMMANDS", "YESNO", "AudioFolder", "SpokenDigits"]
_TRANSFORMS = ["Spectrogram", "MelScale", "MelSpectrogram", "MFCC", "AmplitudeToDB", "Resample",
               "FrequencyMasking", "TimeMasking"]
_MODELS = ["M5", "MelCNN"]


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    register_each(register, datasets, _DATASETS, "audio")


@hookimpl
def fw_register_transforms(register):
    from . import transforms
    register_each(register, transforms, _TRANSFORMS, "audio")


@hookimpl
def fw_register_models(register):
    from . import models
    register_each(register, models, _MODELS, "audio")


@hookimpl
def fw_plugin_info():
    return {"description": "audio I/O (WAV), torchaudio-style transforms (Spectrogram, "
                           "MelSpectrogram, MFCC, Resample, ...), datasets (SPEECHCOMMANDS, "
                           "YESNO, AudioFolder, SpokenDigits by espeak-ng), models (M5, MelCNN)",
            "import": "import fw_audio; from fw_audio import transforms, datasets, models"}
