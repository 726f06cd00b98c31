"""fw_vision: data set readers on files written here in the exact on-disk layouts, transforms
checked against torchvision's formulas, models against torch, make_grid/save_image, the CLI,
and a model that learns on real data (sklearn digits)."""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import framework as fw
from framework import nn
from fw_vision import datasets, models, transforms as T, utils


# -- IDX / MNIST -------------------------------------------------------------------------------
_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr):
    arr = np.asarray(arr)
    head = bytes([0, 0, _CODES[arr.dtype.type], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, gz=False):
    data = idx_bytes(arr)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)


def write_mnist(folder, n_train=12, n_test=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        ext = ".gz" if gz else ""
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), x, gz)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), y, gz)
        out[prefix] = (x, y)
    return out


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_all_types(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    arr = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    p = tmp_path / "a.idx"
    write_idx(p, arr, gz)
    back = datasets.read_idx(p)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_torchvision_layout(tmp_path, cls, gz):
    ref = write_mnist(tmp_path / cls.__name__ / "raw", gz=gz)
    for train, key in ((True, "train"), (False, "t10k")):
        ds = cls(tmp_path, train=train)
        x, y = ref[key]
        assert len(ds) == len(x)
        assert ds.data.shape == (len(x), 28, 28) and ds.targets.dtype == fw.int64
        assert ds.data.dtype == fw.uint8  # as torchvision's
        np.testing.assert_array_equal(ds.data.numpy(), x)
        np.testing.assert_array_equal(ds.targets.numpy(), y)
        img, target = ds[3]
        assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
        assert type(target) is int and target == y[3]
        np.testing.assert_array_equal(np.asarray(img), x[3])
    assert len(ds.classes) == 10 and ds.class_to_idx[ds.classes[7]] == 7
    assert "Split: Test" in repr(ds) and f"Dataset {cls.__name__}" in repr(ds)


def test_mnist_classes_and_transforms(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    ds = datasets.MNIST(tmp_path, transform=T.ToTensor(), target_transform=lambda t: t + 100)
    x, t = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == fw.float32 and t >= 100
    assert datasets.MNIST.classes[0] == "0 - zero"
    assert datasets.FashionMNIST.classes[9] == "Ankle boot"


def test_mnist_folder_holding_files_directly(tmp_path):
    ref = write_mnist(tmp_path / "debian", gz=True)
    ds = datasets.FashionMNIST(tmp_path / "debian", train=False)
    np.testing.assert_array_equal(ds.data.numpy(), ref["t10k"][0])


def test_mnist_data_setter(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw")
    ds = datasets.MNIST(tmp_path)
    ds.data, ds.targets = ds.data[:4], ds.targets[:4]
    assert len(ds) == 4 and ds[3][1] == int(ds.targets[3])


def test_mnist_missing_files_and_download(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(tmp_path)
    with pytest.raises(RuntimeError, match="downloading is not available"):
        datasets.MNIST(tmp_path, download=True)
    write_mnist(tmp_path / "MNIST" / "raw")
    assert len(datasets.MNIST(tmp_path, download=True)) == 12  # files there: nothing to do


def test_idx_corrupt_files(tmp_path):
    good = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    cases = {"truncated": good[:-10], "trailing": good + b"x", "magic": b"<htm" + good[4:],
             "type": bytes([0, 0, 0x07, 3]) + good[4:], "header": good[:9], "short": b"\0\0"}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(ValueError, match="truncated: shape \\(4, 28, 28\\)"):
        datasets.read_idx(tmp_path / "truncated")
    with pytest.raises(ValueError, match="trailing bytes"):
        datasets.read_idx(tmp_path / "trailing")
    for name in ("magic", "type"):
        with pytest.raises(ValueError, match="bad magic number"):
            datasets.read_idx(tmp_path / name)
    with pytest.raises(ValueError, match="truncated IDX header"):
        datasets.read_idx(tmp_path / "header")
    with pytest.raises(ValueError, match="too short"):
        datasets.read_idx(tmp_path / "short")
    (tmp_path / "gz").write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        datasets.read_idx(tmp_path / "gz")


def test_mnist_wrong_contents(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    write_mnist(raw)
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(ValueError, match="12 images but .* 7 labels"):
        datasets.MNIST(tmp_path)
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros(12, np.float32))
    with pytest.raises(ValueError, match="expected uint8 labels"):
        datasets.MNIST(tmp_path)


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist():
    train, test = datasets.FashionMNIST(FASHION), datasets.FashionMNIST(FASHION, train=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert np.bincount(train.targets.numpy()).tolist() == [6000] * 10
    assert abs(train._images.mean() / 255 - 0.2860) < 1e-3


# -- CIFAR -------------------------------------------------------------------------------------
def cifar_batch(rng, n, label_keys):
    d = {"batch_label": "training batch", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         "filenames": [f"img_{i}.png" for i in range(n)]}
    for key, k in label_keys.items():
        d[key] = [int(v) for v in rng.integers(0, k, n)]
    return d


def dump(path, obj, protocol=4):
    # The real files are Python 2 pickles (protocol 2, byte strings as str). Python 3 writes
    # bytes under protocol 2 through `_codecs.encode`, a global the reader refuses, so the
    # tests use protocols 3/4: the same opcodes for dicts, lists and numpy arrays.
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def write_cifar10(root, n=20, protocol=4):
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = cifar_batch(rng, n, {"labels": 10})
        dump(folder / name, batches[name], protocol)
    dump(folder / "batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                                                    "dog", "frog", "horse", "ship", "truck"],
                                   "num_cases_per_batch": n, "num_vis": 3072})
    return batches


@pytest.mark.parametrize("protocol", [3, 4])
def test_cifar10_round_trip(tmp_path, protocol):
    batches = write_cifar10(tmp_path, protocol=protocol)
    train = datasets.CIFAR10(tmp_path)
    assert len(train) == 100 and train.data.shape == (100, 32, 32, 3)
    assert train.targets == sum((batches[f"data_batch_{i}"]["labels"] for i in range(1, 6)), [])
    row = batches["data_batch_2"]["data"][3]          # 1024 R, 1024 G, 1024 B
    img, target = train[20 + 3]
    assert img.mode == "RGB" and img.size == (32, 32) and target == batches["data_batch_2"]["labels"][3]
    px = np.asarray(img)
    for c in range(3):
        np.testing.assert_array_equal(px[:, :, c], row[c * 1024:(c + 1) * 1024].reshape(32, 32))
    test = datasets.CIFAR10(tmp_path, train=False)
    assert len(test) == 20 and test.classes[9] == "truck" and test.class_to_idx["cat"] == 3


def test_cifar100_fine_and_coarse(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    b = {s: cifar_batch(rng, 15, {"fine_labels": 100, "coarse_labels": 20}) for s in ("train", "test")}
    for s in b:
        dump(folder / s, b[s])
    dump(folder / "meta", {"fine_label_names": [f"f{i}" for i in range(100)],
                           "coarse_label_names": [f"c{i}" for i in range(20)]})
    ds = datasets.CIFAR100(tmp_path, train=False)
    assert ds.targets == b["test"]["fine_labels"] and ds.coarse_targets == b["test"]["coarse_labels"]
    assert len(ds.classes) == 100 and ds.coarse_classes[19] == "c19"
    assert ds[4][1] == b["test"]["fine_labels"][4]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["system", "eval", "numpy_other"])
def test_cifar_malicious_pickle_refused(tmp_path, payload):
    write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    if payload == "system":
        obj = {"data": _Evil(marker), "labels": []}
    elif payload == "eval":
        class E:
            def __reduce__(self):
                return (eval, (f"open({str(marker)!r}, 'w')",))
        obj = {"data": E(), "labels": []}
    else:   # numpy's own functions are not plain data either
        class N:
            def __reduce__(self):
                return (np.save, (str(marker), np.zeros(1)))
        obj = {"data": N(), "labels": []}
    dump(tmp_path / "cifar-10-batches-py" / "data_batch_3", obj)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        datasets.CIFAR10(tmp_path)
    assert not os.path.exists(marker) and not os.path.exists(str(marker) + ".npy")


def test_cifar_missing_and_corrupt(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found.*data_batch_1"):
        datasets.CIFAR10(tmp_path)
    with pytest.raises(RuntimeError, match="downloading is not available"):
        datasets.CIFAR10(tmp_path, download=True)
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt pickle"):
        datasets.CIFAR10(tmp_path)
    dump(path, {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})
    with pytest.raises(ValueError, match="uint8 \\(N, 3072\\)"):
        datasets.CIFAR10(tmp_path)


# -- folders -----------------------------------------------------------------------------------
def write_tree(root):
    rng = np.random.default_rng(0)
    files = {"dog/b.png": "L", "dog/a.JPG": "RGB", "dog/sub/c.bmp": "RGB", "cat/z.png": "RGB",
             "cat/notes.txt": None, "bird/x.ppm": "RGB"}
    for rel, mode in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            p.write_text("not an image")
        else:
            shape = (6, 5) if mode == "L" else (6, 5, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(p)
    (root / "empty").mkdir()
    (root / "stray.png").write_bytes(b"")            # files at the top level are ignored


def test_image_folder(tmp_path):
    write_tree(tmp_path)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        datasets.ImageFolder(tmp_path)
    ds = datasets.ImageFolder(tmp_path, allow_empty=True)
    assert ds.classes == ["bird", "cat", "dog", "empty"]
    assert ds.class_to_idx == {"bird": 0, "cat": 1, "dog": 2, "empty": 3}
    rel = [(os.path.relpath(p, tmp_path), t) for p, t in ds.samples]
    assert rel == [("bird/x.ppm", 0), ("cat/z.png", 1), ("dog/a.JPG", 2), ("dog/b.png", 2),
                   (os.path.join("dog", "sub", "c.bmp"), 2)]
    assert ds.imgs == ds.samples and ds.targets == [0, 1, 2, 2, 2]
    img, t = ds[3]
    assert img.mode == "RGB" and img.size == (5, 6) and t == 2      # "L" file loaded as RGB


def test_dataset_folder_options(tmp_path):
    write_tree(tmp_path)
    ds = datasets.DatasetFolder(tmp_path, loader=lambda p: os.path.basename(p), extensions=(".txt",),
                                allow_empty=True)
    assert [s for s in ds] == [("notes.txt", 1)]
    ds = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith(".png"), allow_empty=True)
    assert [os.path.basename(p) for p, _ in ds.samples] == ["z.png", "b.png"]
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        datasets.DatasetFolder(tmp_path, loader=print)
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path / "bird")


# -- Digits ------------------------------------------------------------------------------------
def test_digits():
    from sklearn.datasets import load_digits
    train, test = datasets.Digits(), datasets.Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 359
    img, t = train[0]
    assert img.mode == "L" and img.size == (8, 8) and 0 <= t <= 9
    ref = load_digits()
    # every image is one of sklearn's, scaled 0..16 -> 0..255
    scaled = np.rint(ref.images * 255 / 16).astype(np.uint8).reshape(1797, -1)
    rows = {r.tobytes(): i for i, r in enumerate(scaled)}
    idx = [rows[a.reshape(-1).tobytes()] for a in np.concatenate([train.data, test.data])]
    assert len(set(idx)) == 1797
    assert [int(ref.target[i]) for i in idx[:len(train)]] == train.targets
    np.testing.assert_array_equal(datasets.Digits().data, train.data)     # fixed split


# -- transforms --------------------------------------------------------------------------------
def rgb(h=6, w=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_to_tensor():
    a = rgb()
    t = T.ToTensor()(Image.fromarray(a))
    assert t.shape == (3, 6, 5) and t.dtype == fw.float32
    np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    g = T.ToTensor()(Image.fromarray(a[:, :, 0]))
    assert g.shape == (1, 6, 5)
    np.testing.assert_allclose(T.ToTensor()(a).numpy(), t.numpy())
    f = np.random.rand(4, 3).astype(np.float32)           # non-uint8 arrays are not scaled
    np.testing.assert_array_equal(T.ToTensor()(f).numpy(), f[None])
    b = T.ToTensor()(Image.fromarray(a[:, :, 0] > 127))   # mode "1": 0 or 1
    np.testing.assert_array_equal(b.numpy()[0], (a[:, :, 0] > 127).astype(np.float32))
    p = T.PILToTensor()(Image.fromarray(a))
    assert p.dtype == fw.uint8  # as torchvision's
    np.testing.assert_array_equal(p.numpy(), a.transpose(2, 0, 1))
    i16 = Image.fromarray(np.array([[1, 300], [2, 4000]], np.uint16))  # mode "I;16"
    assert T.ToTensor()(i16).dtype == fw.int16 and T.ToTensor()(i16).tolist() == [[[1, 300], [2, 4000]]]
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([1, 2])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_normalize():
    x = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    t = fw.tensor(x)
    out = T.Normalize(mean, std)(t)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    np.testing.assert_array_equal(t.numpy(), x)                    # not in place
    same = T.Normalize(mean, std, inplace=True)(t)
    assert same is t
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-6)
    batch = fw.tensor(np.stack([x, x]))
    np.testing.assert_allclose(T.Normalize(mean, std)(batch).numpy()[1], ref, rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(mean, std)(fw.zeros(3, 2, 2, dtype=fw.int64))
    with pytest.raises(ValueError, match="tensor image of size"):
        T.Normalize(mean, std)(fw.zeros(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize(mean, (1, 0, 1))(t)
    assert repr(T.Normalize((0.5,), (0.5,))) == "Normalize(mean=(0.5,), std=(0.5,))"


@pytest.mark.parametrize("hw,size,max_size,expect", [
    ((30, 40), 20, None, (20, 26)),          # shorter side h: w = int(20 * 40 / 30)
    ((40, 30), 20, None, (26, 20)),
    ((30, 40), [20], None, (20, 26)),
    ((30, 40), (12, 17), None, (12, 17)),
    ((30, 40), 20, 24, (18, 24)),            # long side capped: short = int(24 * 20 / 26)
    ((30, 30), 30, None, (30, 30)),
])
def test_resize_sizes(hw, size, max_size, expect):
    img = Image.fromarray(rgb(*hw))
    out = T.Resize(size, max_size=max_size)(img)
    assert (out.size[1], out.size[0]) == expect
    if expect != hw:   # bilinear through PIL, as torchvision's PIL path
        np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize(expect[::-1], Image.BILINEAR)))
    else:
        assert out is img
    t = T.Resize(size, max_size=max_size)(T.ToTensor()(img))
    assert tuple(t.shape) == (3,) + expect


def test_resize_errors_and_tensor_values():
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize((3, 4), max_size=10)(Image.fromarray(rgb()))
    x = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    out = T.Resize(4, interpolation=T.InterpolationMode.NEAREST)(fw.tensor(x)).numpy()
    ref = np.asarray(Image.fromarray(x[1]).resize((4, 4), Image.NEAREST))
    np.testing.assert_array_equal(out[1], ref)


@pytest.mark.parametrize("hw,size", [((10, 7), 4), ((9, 9), (3, 6)), ((5, 6), 5), ((7, 8), (2, 3))])
def test_center_crop_offsets(hw, size):
    a = rgb(*hw)
    th, tw = (size, size) if isinstance(size, int) else size
    top, left = int(round((hw[0] - th) / 2.0)), int(round((hw[1] - tw) / 2.0))
    ref = a[top:top + th, left:left + tw]
    np.testing.assert_array_equal(np.asarray(T.CenterCrop(size)(Image.fromarray(a))), ref)
    t = T.CenterCrop(size)(fw.tensor(a.transpose(2, 0, 1).astype(np.float32)))
    np.testing.assert_array_equal(t.numpy(), ref.transpose(2, 0, 1))


def test_center_crop_larger_pads():
    a = rgb(3, 4)
    out = np.asarray(T.CenterCrop((6, 7))(Image.fromarray(a)))
    ref = np.zeros((6, 7, 3), np.uint8)
    ref[1:4, 1:5] = a     # pad left (7-4)//2=1, top (6-3)//2=1, then nothing left to crop
    np.testing.assert_array_equal(out, ref)
    t = T.CenterCrop((6, 7))(fw.tensor(a.transpose(2, 0, 1).astype(np.float32)))
    np.testing.assert_array_equal(t.numpy(), ref.transpose(2, 0, 1))


def test_random_crop_reproducible_and_padding():
    a = rgb(8, 9)
    img = Image.fromarray(a)
    fw.manual_seed(3)
    first = [np.asarray(T.RandomCrop(4)(img)) for _ in range(5)]
    fw.manual_seed(3)
    again = [np.asarray(T.RandomCrop(4)(img)) for _ in range(5)]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert len({x.tobytes() for x in first}) > 1
    # the crop is a window of the image at the drawn offsets
    fw.manual_seed(5)
    i, j, h, w = T.RandomCrop.get_params(img, (4, 4))
    fw.manual_seed(5)
    np.testing.assert_array_equal(np.asarray(T.RandomCrop(4)(img)), a[i:i + 4, j:j + 4])
    out = np.asarray(T.RandomCrop(12, padding=2, fill=7)(img))   # 12x13 padded to exactly 12: fixed
    assert out.shape == (12, 12, 3)
    out = np.asarray(T.RandomCrop((10, 11), pad_if_needed=True, padding_mode="edge")(img))
    assert out.shape == (10, 11, 3)
    padded = np.asarray(T.Pad((1, 2), padding_mode="reflect")(img))
    np.testing.assert_array_equal(padded, np.pad(a, ((2, 2), (1, 1), (0, 0)), mode="reflect"))
    padded = np.asarray(T.Pad(2, fill=(1, 2, 3))(img))
    assert padded[0, 0].tolist() == [1, 2, 3] and padded.shape == (12, 13, 3)
    with pytest.raises(ValueError, match="Required crop size \\(10, 10\\) is larger"):
        T.RandomCrop(10)(img)
    t = fw.tensor(a.transpose(2, 0, 1).astype(np.float32))
    out = T.RandomCrop(4, padding=1)(t)
    assert out.shape == (3, 4, 4)


def test_flip_and_rotation():
    a = rgb()
    img = Image.fromarray(a)
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(p=1.0)(img)), a[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(p=1.0)(img)), a[::-1])
    t = fw.tensor(a.transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(), a.transpose(2, 0, 1)[:, :, ::-1])
    fw.manual_seed(0)
    flips = [T.RandomHorizontalFlip()(img) is img for _ in range(200)]
    assert 60 < sum(flips) < 140
    rot = np.asarray(T.RandomRotation((90, 90), expand=True)(img))   # counter-clockwise
    np.testing.assert_array_equal(rot, np.rot90(a))
    assert T.RandomRotation(30).degrees == [-30.0, 30.0]
    fw.manual_seed(1)
    angle = T.RandomRotation.get_params([-30.0, 30.0])
    fw.manual_seed(1)
    np.testing.assert_array_equal(np.asarray(T.RandomRotation(30, fill=9)(img)),
                                  np.asarray(img.rotate(angle, Image.NEAREST, fillcolor=(9, 9, 9))))
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-3)


def test_color_jitter_parameters():
    cj = T.ColorJitter(brightness=0.5, contrast=(0.2, 1.8), saturation=2, hue=0.1)
    assert cj.brightness == (0.5, 1.5) and cj.contrast == (0.2, 1.8)
    assert cj.saturation == (0.0, 3.0) and cj.hue == (-0.1, 0.1)
    assert T.ColorJitter().brightness is None and T.ColorJitter(hue=0).hue is None
    with pytest.raises(ValueError, match="must be non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.6)
    with pytest.raises(TypeError, match="single number or a list/tuple"):
        T.ColorJitter(contrast=[1, 2, 3])
    img = Image.fromarray(rgb())
    out = T.ColorJitter(brightness=(2.0, 2.0))(img)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(ImageEnhance.Brightness(img).enhance(2.0)))
    fw.manual_seed(4)
    x = np.asarray(cj(img))
    fw.manual_seed(4)
    np.testing.assert_array_equal(np.asarray(cj(img)), x)
    gray = Image.fromarray(np.full((4, 4, 3), 100, np.uint8))
    np.testing.assert_array_equal(np.asarray(T.adjust_hue(gray, 0.3)), np.asarray(gray))
    with pytest.raises(ValueError, match="hue_factor"):
        T.adjust_hue(img, 0.7)


def test_compose_lambda_grayscale():
    tf = T.Compose([T.Grayscale(), T.ToTensor(), T.Lambda(lambda t: t * 2)])
    out = tf(Image.fromarray(rgb()))
    ref = np.asarray(Image.fromarray(rgb()).convert("L")) / 255.0 * 2
    np.testing.assert_allclose(out.numpy()[0], ref, rtol=1e-6)
    assert repr(T.Compose([T.ToTensor(), T.CenterCrop(3)])) == \
        "Compose(\n    ToTensor()\n    CenterCrop(size=(3, 3))\n)"
    assert np.asarray(T.Grayscale(3)(Image.fromarray(rgb()))).shape == (6, 5, 3)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)


# -- models ------------------------------------------------------------------------------------
def nparams(m):
    return sum(p.numel() for p in m.parameters())


def test_model_parameter_counts_and_layout():
    r = models.resnet18()
    assert nparams(r) == 11689512                     # torchvision's resnet18
    assert nparams(models.resnet18(num_classes=10)) == 11181642
    assert nparams(models.resnet34()) == 21797672
    keys = set(r.state_dict())
    for k in ("conv1.weight", "bn1.running_var", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
              "layer4.1.bn2.bias", "fc.weight", "fc.bias"):
        assert k in keys
    assert "layer1.0.downsample.0.weight" not in keys
    assert tuple(r.conv1.weight.shape) == (64, 3, 7, 7)
    c = models.resnet18_cifar()
    assert tuple(c.conv1.weight.shape) == (64, 3, 3, 3) and nparams(c) == 11173962
    assert nparams(models.LeNet5()) == 61706
    with pytest.raises(ValueError, match="pretrained weights are not available"):
        models.resnet18(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="28x28 or 32x32"):
        models.LeNet5(input_size=64)


def test_model_output_shapes(device):
    fw.manual_seed(0)
    assert models.LeNet5().to(device)(fw.randn(2, 1, 28, 28, device=device)).shape == (2, 10)
    assert models.LeNet5(input_size=32, num_classes=5).to(device)(
        fw.randn(2, 1, 32, 32, device=device)).shape == (2, 5)
    assert models.MLP(64, (32, 16), 10, dropout=0.1).to(device)(
        fw.randn(3, 1, 8, 8, device=device)).shape == (3, 10)
    assert models.resnet18_cifar(num_classes=7).to(device)(fw.randn(2, 3, 32, 32, device=device)).shape == (2, 7)
    r = models.resnet18(num_classes=3).to(device).eval()
    assert r(fw.randn(1, 3, 40, 40, device=device)).shape == (1, 3)


def test_lenet_matches_torch():
    torch = pytest.importorskip("torch")
    fw.manual_seed(0)
    m = models.LeNet5()
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
    ours = [p for p in m.parameters()]
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), ours):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    xf = fw.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x).requires_grad_()
    out, tout = m(xf), tm(xt)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[0].grad.numpy(), tm[0].weight.grad.numpy(), rtol=1e-4, atol=1e-4)


# -- utils -------------------------------------------------------------------------------------
def test_make_grid():
    x = np.arange(5 * 1 * 2 * 3, dtype=np.float32).reshape(5, 1, 2, 3)
    g = utils.make_grid(fw.tensor(x), nrow=2, padding=1, pad_value=-1).numpy()
    # 2 per row, 3 rows: height 3*(2+1)+1, width 2*(3+1)+1; gray repeated to 3 channels
    assert g.shape == (3, 10, 9)
    for k in range(5):
        y, xx = divmod(k, 2)
        np.testing.assert_array_equal(g[:, 1 + 3 * y:3 + 3 * y, 1 + 4 * xx:4 + 4 * xx], np.repeat(x[k], 3, 0))
    assert (g[:, 7:9, 5:8] == -1).all()                       # the empty sixth cell
    n = utils.make_grid(fw.tensor(x), normalize=True, padding=0).numpy()
    np.testing.assert_allclose(n.min(), 0) and np.testing.assert_allclose(n.max(), 1)
    each = utils.make_grid(fw.tensor(x), normalize=True, scale_each=True, padding=0, nrow=5).numpy()
    np.testing.assert_allclose(each[0, :, 3:6], (x[1, 0] - x[1].min()) / (x[1].max() - x[1].min()), rtol=1e-6)
    r = utils.make_grid(fw.tensor(x), normalize=True, value_range=(0, 10), padding=0).numpy()
    assert r.max() == 1 and r[0, 0, 1] == pytest.approx(0.1)
    single = utils.make_grid(fw.tensor(x[:1]))
    assert single.shape == (3, 2, 3)
    assert utils.make_grid([fw.tensor(x[0]), fw.tensor(x[1])], padding=0).shape == (3, 2, 6)
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(fw.tensor(x), normalize=True, value_range=[0, 1])


def test_save_image(tmp_path):
    x = np.random.default_rng(0).random((4, 3, 5, 6)).astype(np.float32)
    p = tmp_path / "grid.png"
    utils.save_image(fw.tensor(x), p, nrow=2, padding=0)
    back = np.asarray(Image.open(p))
    assert back.shape == (10, 12, 3)
    ref = np.clip(x[3] * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(back[5:, 6:], ref)


# -- plugin / CLI ------------------------------------------------------------------------------
def test_cli_lists_vision_items():
    from click.testing import CliRunner
    from framework.cli import main
    runner = CliRunner()
    out = runner.invoke(main, ["datasets", "list"])
    assert out.exit_code == 0, out.output
    for name in ("MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "DatasetFolder", "Digits"):
        assert name in out.output
    out = runner.invoke(main, ["models", "list", "--json"])
    import json
    names = {r["name"].split(".")[-1]: r for r in json.loads(out.output)}
    assert {"LeNet5", "resnet18", "resnet18_cifar", "MLP"} <= set(names)
    assert names["resnet18"]["plugin"] == "vision"
    out = runner.invoke(main, ["transforms", "list"])
    for name in ("ToTensor", "Normalize", "RandomCrop", "ColorJitter"):
        assert name in out.output
    from framework.plugins import registry
    assert registry.registry("datasets")["MNIST"] is datasets.MNIST


# -- learning ----------------------------------------------------------------------------------
def test_mlp_learns_digits(device):
    from framework.utils.data import DataLoader, TensorDataset
    fw.manual_seed(0)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    train, test = datasets.Digits(transform=tf), datasets.Digits(train=False, transform=tf)

    def tensors(ds):
        xs, ys = zip(*(ds[i] for i in range(len(ds))))
        return fw.stack(xs), fw.tensor(ys)
    (xtr, ytr), (xte, yte) = tensors(train), tensors(test)
    model = models.MLP(64, (128,), 10).to(device)
    opt = fw.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True,
                        generator=fw.Generator().manual_seed(0))
    for _ in range(8):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb.to(device)), yb.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with fw.no_grad():
        acc = (model(xte.to(device)).argmax(1).cpu() == yte).float().mean().item()
    assert acc > 0.9, acc


def test_pil_integer_interpolation_is_kept_as_a_mode():
    from PIL import Image
    from fw_vision import transforms as T
    r = T.Resize(4, interpolation=Image.Resampling.BICUBIC)
    assert r.interpolation is T.InterpolationMode.BICUBIC and "bicubic" in repr(r)
    rot = T.RandomRotation(10, interpolation=0)
    assert "nearest" in repr(rot)
    assert T.Resize(4, interpolation=2)(Image.new("L", (8, 8))).size == (4, 4)
