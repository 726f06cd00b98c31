"""Entry point of the vision plugin (group `fw.plugins`). Imports nothing heavy until a hook
runs."""
from framework.plugins import hookimpl, register_each

_DATASETS = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "DatasetFolder", "ImageFolder", "Digits"]
_TRANSFORMS = ["Compose", "ToTensor", "PILToTensor", "Normalize", "Resize", "CenterCrop", "Pad",
               "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
               "ColorJitter", "Lambda", "Grayscale"]
_MODELS = ["LeNet5", "ResNet", "resnet18", "resnet34", "resnet18_cifar", "MLP"]


@hookimpl
def fw_register_datasets(register):
    from . import datasets
    register_each(register, datasets, _DATASETS, "vision")


@hookimpl
def fw_register_transforms(register):
    from . import transforms
    register_each(register, transforms, _TRANSFORMS, "vision")


@hookimpl
def fw_register_models(register):
    from . import models
    register_each(register, models, _MODELS, "vision")


@hookimpl
def fw_plugin_info():
    return {"description": "vision datasets (MNIST, FashionMNIST, CIFAR, ImageFolder, Digits), "
                           "transforms, models (LeNet5, ResNet) and utils, torchvision-style",
            "import": "from fw_vision import datasets, transforms, models, utils"}
