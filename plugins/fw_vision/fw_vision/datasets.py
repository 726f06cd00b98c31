"""Vision data sets with torchvision's API, read from files already on disk (no downloads).

MNIST / FashionMNIST (IDX files, gzipped or not), CIFAR10 / CIFAR100 (python pickles, read
with an unpickler that refuses every global except numpy's array reconstructors),
DatasetFolder / ImageFolder, Digits (scikit-learn's 8x8 digits, shipped in its wheel) and
FakeData (random images made on demand).
"""
import gzip
import os
import pickle
import struct

import numpy as np

import framework as fw
from framework.utils.data import Dataset

__all__ = ["VisionDataset", "read_idx", "load_pickle", "UnsafePickleError", "MNIST",
           "FashionMNIST", "CIFAR10", "CIFAR100", "DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader",
           "has_file_allowed_extension", "is_image_file", "find_classes", "make_dataset",
           "Digits", "FakeData"]


class VisionDataset(Dataset):
    """Base class: root, transform, target_transform and torchvision's repr."""
    _repr_indent = 4

    def __init__(self, root=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(str(root)) if root is not None else None
        self.transform, self.target_transform = transform, target_transform

    def _apply(self, img, target):
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"Root location: {self.root}")
        lines += [l for l in self.extra_repr().splitlines() if l]
        for name, t in (("Transform", self.transform), ("Target transform", self.target_transform)):
            if t is not None:
                body = repr(t).splitlines()
                lines += [f"{name}: {body[0]}"] + [" " * (len(name) + 2) + l for l in body[1:]]
        pad = " " * self._repr_indent
        return "\n".join([f"Dataset {type(self).__name__}"] + [pad + l for l in lines])


class _Split(VisionDataset):
    """The train or test split of an image set held in memory: `data`, uint8 images
    (N, H, W) or (N, H, W, C) as NumPy, and their `targets`."""

    def __init__(self, root, train, transform, target_transform):
        super().__init__(root, transform, target_transform)
        self.train = train

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        from PIL import Image
        return self._apply(Image.fromarray(self.data[index]), self.targets[index])

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


def _no_download(name, where):
    raise RuntimeError(f"{name}: downloading is not available in fw (no network access is "
                       f"assumed). Put the files in {where} or pass as root a folder that "
                       f"holds them, and leave download=False.")


# -- IDX ---------------------------------------------------------------------------------------
# type code -> big-endian NumPy dtype (the "SN3 pascalvincent" format of LeCun's MNIST files)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":        # gzip magic: decompress whatever the file is named
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from e


def read_idx(path):
    """Read an IDX file (plain or gzipped) into a NumPy array in native byte order.

    Raises ValueError naming the file when the magic number, the type code or the size is
    wrong (a truncated download, an HTML error page saved under the file's name, ...).
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(raw)} bytes, too short for the magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{raw[:4].hex()} "
                         f"(expected 0x0000TTNN with type TT in "
                         f"{', '.join(f'{t:02x}' for t in _IDX_TYPES)})")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, "
                         f"the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "has trailing bytes"
        raise ValueError(f"{path}: IDX file {what}: shape {tuple(shape)} of {dtype.name} needs "
                         f"{need} data bytes, found {have}")
    arr = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def _numpy(x):
    return x.numpy() if isinstance(x, fw.Tensor) else x


class MNIST(_Split):
    """MNIST handwritten digits from IDX files: `root/MNIST/raw/` or a folder holding them.

    Looks for `{train,t10k}-{images-idx3,labels-idx1}-ubyte` (each may end in `.gz`) in
    `root/<ClassName>/raw`, then in `root` itself (e.g. Debian's /usr/share/datasets/fashion-mnist).
    `data` is a uint8 fw tensor (N, H, W), `targets` int64, as in torchvision.
    """
    resources = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, train, transform, target_transform)
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        files = self._find(names)
        if files is None:
            if download:
                _no_download(type(self).__name__, self.raw_folder)
            raise RuntimeError(f"Dataset not found: {type(self).__name__} needs {names[0]} and "
                               f"{names[1]} (optionally .gz) in {self.raw_folder} or in {self.root}. "
                               f"Downloading is not available; copy the files there.")
        images, labels = read_idx(files[0]), read_idx(files[1])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{files[0]}: expected uint8 images of shape (N, H, W), got "
                             f"{images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(f"{files[1]}: expected uint8 labels of shape (N,), got "
                             f"{labels.dtype} {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{files[0]} has {len(images)} images but {files[1]} has "
                             f"{len(labels)} labels")
        self._images, self._labels = images, labels.astype(np.int64)
        self._data = self._targets = None
        self.files = files

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _find(self, names):
        for folder in (self.raw_folder, self.root):
            found = []
            for n in names:
                path = next((p for p in (os.path.join(folder, n), os.path.join(folder, n + ".gz"))
                             if os.path.isfile(p)), None)
                found.append(path)
            if all(found):
                return found
        return None

    # `data`/`targets` are fw tensors as in torchvision; the NumPy copies serve __len__ and
    # __getitem__ (building a PIL image from a tensor row per sample would be slow).
    @property
    def data(self):
        if self._data is None:
            self._data = fw.tensor(self._images)
        return self._data

    @data.setter
    def data(self, value):
        self._images = np.asarray(_numpy(value)).astype(np.uint8)
        self._data = None

    @property
    def targets(self):
        if self._targets is None:
            self._targets = fw.from_numpy(self._labels)
        return self._targets

    @targets.setter
    def targets(self, value):
        self._labels = np.asarray(_numpy(value)).astype(np.int64)
        self._targets = None

    def __len__(self):
        return len(self._images)

    def __getitem__(self, index):
        from PIL import Image
        img = Image.fromarray(self._images[index])      # 2-D uint8 -> mode "L"
        return self._apply(img, int(self._labels[index]))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (IDX files in the MNIST layout), 10 clothing classes.

    On Debian: `apt-get install dataset-fashion-mnist`, then
    `FashionMNIST("/usr/share/datasets/fashion-mnist")`.
    """
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


# -- CIFAR -------------------------------------------------------------------------------------
def _numpy_reconstructors():
    """The only globals a CIFAR batch may name: numpy's array/dtype reconstruction."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:                                   # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global (a function or class) that a data file has no business naming."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain data only. A pickle can name any importable callable (os.system, ...)
    and have it called while loading; refuse every global except numpy's reconstructors."""

    def __init__(self, f, path):
        super().__init__(f, encoding="latin1")
        self.path, self.allowed = path, _numpy_reconstructors()

    def find_class(self, module, name):
        obj = self.allowed.get((module, name))
        if obj is None:
            raise UnsafePickleError(
                f"{self.path}: refusing to load global '{module}.{name}': a CIFAR batch holds only "
                f"dicts, lists, strings, numbers and numpy arrays (the file may be malicious)")
        return obj


def load_pickle(path):
    """Load a CIFAR-style pickle without executing any code it names."""
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, path).load()
        except UnsafePickleError:
            raise
        except Exception as e:                              # truncated/garbage files
            raise ValueError(f"{path}: corrupt pickle ({type(e).__name__}: {e})") from e


class CIFAR10(_Split):
    """CIFAR-10 from the python batches in `root/cifar-10-batches-py/` (no downloads)."""
    base_folder = "cifar-10-batches-py"
    train_list = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    test_list = ["test_batch"]
    meta = {"filename": "batches.meta", "key": "label_names"}
    label_key = "labels"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, train, transform, target_transform)
        folder = os.path.join(self.root, self.base_folder)
        names = (self.train_list if train else self.test_list) + [self.meta["filename"]]
        missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
        if missing:
            if download:
                _no_download(type(self).__name__, folder)
            raise RuntimeError(f"Dataset not found: {type(self).__name__} needs {', '.join(missing)} "
                               f"in {folder}. Downloading is not available; copy the files there.")
        data, labels, extra = [], [], {}
        for name in names[:-1]:
            path = os.path.join(folder, name)
            entry = load_pickle(path)
            if not isinstance(entry, dict) or "data" not in entry or self.label_key not in entry:
                raise ValueError(f"{path}: not a CIFAR batch (expected a dict with 'data' and "
                                 f"'{self.label_key}')")
            d = np.asarray(entry["data"])
            if d.dtype != np.uint8 or d.ndim != 2 or d.shape[1] != 3072 or len(entry[self.label_key]) != len(d):
                raise ValueError(f"{path}: expected 'data' uint8 (N, 3072) and N labels, got "
                                 f"{d.dtype} {d.shape} and {len(entry[self.label_key])} labels")
            data.append(d)
            labels.extend(int(v) for v in entry[self.label_key])
            self._extra_labels(entry, extra)
        # rows are 1024 R, 1024 G, 1024 B values, each a row-major 32x32 plane -> NHWC
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        self.targets = labels
        for k, v in extra.items():
            setattr(self, k, v)
        meta = load_pickle(os.path.join(folder, self.meta["filename"]))
        self._load_meta(meta)

    def _extra_labels(self, entry, extra):
        pass

    def _load_meta(self, meta):
        self.classes = [str(c) for c in meta[self.meta["key"]]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


class CIFAR100(CIFAR10):
    """CIFAR-100 from `root/cifar-100-python/{train,test,meta}`. `targets`/`classes` are the
    100 fine labels (as torchvision); `coarse_targets`/`coarse_classes` the 20 superclasses."""
    base_folder = "cifar-100-python"
    train_list = ["train"]
    test_list = ["test"]
    meta = {"filename": "meta", "key": "fine_label_names"}
    label_key = "fine_labels"

    def _extra_labels(self, entry, extra):
        if "coarse_labels" in entry:
            extra.setdefault("coarse_targets", []).extend(int(v) for v in entry["coarse_labels"])

    def _load_meta(self, meta):
        super()._load_meta(meta)
        self.coarse_classes = [str(c) for c in meta.get("coarse_label_names", [])]


# -- folders -----------------------------------------------------------------------------------
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename, extensions):
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename):
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory):
    """Sorted names of the sub-folders of `directory`, and their indices."""
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {c: i for i, c in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None, allow_empty=False):
    """[(path, class_index)] of the files under each class folder, in sorted walk order."""
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    instances, found = [], set()
    for target_class in sorted(class_to_idx):
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    instances.append((path, class_to_idx[target_class]))
                    found.add(target_class)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            msg += f"Supported extensions are: {extensions if isinstance(extensions, str) else ', '.join(extensions)}"
        raise FileNotFoundError(msg)
    return instances


class DatasetFolder(VisionDataset):
    """Samples laid out as `root/<class>/**/<file>`, read with `loader(path)`."""

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty=False):
        super().__init__(root, transform, target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file,
                                         allow_empty=allow_empty)
        self.loader, self.extensions = loader, extensions
        self.classes, self.class_to_idx = classes, class_to_idx
        self.targets = [s[1] for s in self.samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory):
        return find_classes(directory)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return self._apply(self.loader(path), target)


def pil_loader(path):
    from PIL import Image
    with open(path, "rb") as f:          # open the file ourselves so it is closed promptly
        return Image.open(f).convert("RGB")


default_loader = pil_loader


class ImageFolder(DatasetFolder):
    """Images laid out as `root/<class>/**/<image>` (torchvision's extensions), loaded as RGB."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty=False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform=transform, target_transform=target_transform,
                         is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples


# -- scikit-learn digits -----------------------------------------------------------------------
class Digits(_Split):
    """scikit-learn's 1,797 handwritten digits (UCI optdigits), 8x8, ships with scikit-learn.

    Images are PIL "L", the 0..16 values scaled to 0..255. A fixed permutation (`seed`) splits
    them: `test_fraction` goes to train=False, the rest to train=True. `root` is ignored.
    """
    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, test_fraction=0.2, seed=0):
        super().__init__(root, train, transform, target_transform)
        from sklearn.datasets import load_digits
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        d = load_digits()
        images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)
        order = np.random.default_rng(seed).permutation(len(images))
        n_test = int(round(len(images) * test_fraction))
        pick = order[n_test:] if train else order[:n_test]
        self.data = images[pick]                              # (N, 8, 8) uint8 NumPy
        self.targets = [int(t) for t in d.target[pick]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


class FakeData(VisionDataset):
    """`size` random images as PIL images with random labels, as torchvision's FakeData: item i
    is drawn from a generator seeded with `i + random_offset`, so it is the same on every read
    (fw's generator, so not torchvision's pixels). The standard-normal image of `image_size`
    (C, H, W) becomes bytes as torchvision's ToPILImage makes them from a float tensor:
    `int(x * 255)` wrapped to 0..255."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform, target_transform)
        self.size, self.num_classes = size, num_classes
        self.image_size, self.random_offset = tuple(image_size), random_offset

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        from PIL import Image
        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index {index} is out of range for size {self.size}")
        index %= self.size
        g = fw.Generator()
        g.manual_seed(index + self.random_offset)
        img = fw.randn(*self.image_size, generator=g).numpy()
        target = int(fw.randint(0, self.num_classes, (1,), generator=g).item())
        pixels = ((img * 255).astype(np.int64) % 256).astype(np.uint8).transpose(1, 2, 0)
        return self._apply(Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels), target)
