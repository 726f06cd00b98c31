"""fw's audio plugin, in torchaudio's style:

    import fw_audio
    waveform, sample_rate = fw_audio.load("clip.wav")
    from fw_audio import transforms, datasets, models, functional
"""
from . import functional, transforms
from .wav import AudioMetaData, info, load, save

__version__ = "0.1.0"
__all__ = ["load", "save", "info", "AudioMetaData", "functional", "transforms", "datasets",
           "models"]


def __getattr__(name):
    # datasets and models load on first use, so `import fw_audio` stays light
    if name in ("datasets", "models"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fw_audio' has no attribute '{name}'")
