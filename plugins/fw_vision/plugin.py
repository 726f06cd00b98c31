"""Entry point of the vision plugin (group `fw.plugins`). Imports nothing heavy until a hook
runs."""
from framework.plugins import NameClash, hookimpl

_DATASETS = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "DatasetFolder", "ImageFolder", "Digits"]
_TRANSFORMS = ["Compose", "ToTensor", "PILToTensor", "Normalize", "Resize", "CenterCrop", "Pad",
               "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
               "ColorJitter", "Lambda", "Grayscale"]
_MODELS = ["LeNet5", "ResNet", "resnet18", "resnet34", "resnet18_cifar", "MLP"]


def _register_all(register, module, names):
    for name in names:
        obj = getattr(module, name)
        try:
            register(name, obj)
        except NameClash:
            # a generic name (Compose, MLP, ...) another plugin took first: keep ours reachable
            register(f"vision.{name}", obj)


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
    return {"description": "vision datasets (MNIST, FashionMNIST, CIFAR, ImageFolder, Digits), "
                           "transforms, models (LeNet5, ResNet) and utils, torchvision-style",
            "import": "from fw_vision import datasets, transforms, models, utils"}
