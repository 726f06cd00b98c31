"""Image transforms with torchvision's definitions (the classic `transforms` API).

They take PIL images; ToTensor/PILToTensor turn them into fw tensors (CHW), and Normalize,
crops, flips and Resize also take fw tensors. Random transforms draw from fw's default
generator, so `fw.manual_seed` makes a pipeline reproducible. The functional forms
(`to_tensor`, `resize`, `center_crop`, ...) are module-level functions here.
"""
import numbers
from enum import Enum

import numpy as np

import framework as fw

__all__ = ["InterpolationMode", "Compose", "ToTensor", "PILToTensor", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "ColorJitter", "Lambda", "Grayscale", "Pad",
           "to_tensor", "pil_to_tensor", "normalize", "resize", "crop", "center_crop", "pad",
           "hflip", "vflip", "rotate", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "rgb_to_grayscale"]


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# PIL's integer resampling constants, which torchvision also accepts, as modes.
_FROM_PIL = {0: InterpolationMode.NEAREST, 1: InterpolationMode.LANCZOS,
             2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
             4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING}


def _as_mode(interpolation):
    """An InterpolationMode for a mode or a PIL integer constant (what transforms keep)."""
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        if interpolation not in _FROM_PIL:
            raise ValueError(f"unknown PIL resampling constant {interpolation}")
        return _FROM_PIL[interpolation]
    return interpolation


def _pil_mode(interpolation):
    from PIL import Image
    if isinstance(interpolation, int):          # a PIL constant, accepted by torchvision too
        return interpolation
    R = Image.Resampling
    table = {InterpolationMode.NEAREST: R.NEAREST, InterpolationMode.NEAREST_EXACT: R.NEAREST,
             InterpolationMode.BILINEAR: R.BILINEAR, InterpolationMode.BICUBIC: R.BICUBIC,
             InterpolationMode.BOX: R.BOX, InterpolationMode.HAMMING: R.HAMMING,
             InterpolationMode.LANCZOS: R.LANCZOS}
    if interpolation not in table:
        raise TypeError(f"interpolation should be an InterpolationMode, got {interpolation!r}")
    return table[interpolation]


def _is_pil(img):
    from PIL import Image
    return isinstance(img, Image.Image)


def _check_image(img):
    if not (_is_pil(img) or isinstance(img, fw.Tensor)):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _size_hw(img):
    return (img.size[1], img.size[0]) if _is_pil(img) else tuple(img.shape[-2:])


def _setup_size(size, error_msg="Please provide only two dimensions (h, w) for size."):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return tuple(size)


def _tensor_like(arr, ref):
    return fw.tensor(arr, dtype=ref.dtype, device=ref.device)


# -- functional --------------------------------------------------------------------------------
def to_tensor(pic):
    """PIL image or HWC ndarray -> CHW fw tensor; uint8 (and mode "1") scaled to [0, 1]."""
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
    elif _is_pil(pic):
        types = {"I": np.int32, "I;16": np.int16, "F": np.float32}  # torchvision's types
        arr = np.array(pic, types.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], -1).transpose(2, 0, 1)
        arr = np.ascontiguousarray(arr)
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if arr.dtype == np.uint8:
        return fw.from_numpy(arr.astype(np.float32) / np.float32(255))
    if arr.dtype == np.bool_:
        return fw.from_numpy(arr)
    return fw.tensor(arr)


def pil_to_tensor(pic):
    """PIL image -> CHW fw tensor without scaling, in the image's type (uint8 for 8-bit modes;
    16-bit ones, uint16 in PIL, widen to int32: fw has no uint16)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.asarray(pic)
    arr = arr.reshape(pic.size[1], pic.size[0], -1).transpose(2, 0, 1)
    return fw.tensor(np.ascontiguousarray(arr))


def normalize(tensor, mean, std, inplace=False):
    if not isinstance(tensor, fw.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.dtype.is_floating_point:
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.dim() < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(tensor.shape)}")
    m = np.asarray(mean, dtype=tensor.dtype.np).reshape(-1)
    s = np.asarray(std, dtype=tensor.dtype.np).reshape(-1)
    if (s == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         f"to division by zero.")
    m = fw.tensor(m.reshape(-1, 1, 1), device=tensor.device)
    s = fw.tensor(s.reshape(-1, 1, 1), device=tensor.device)
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s


def _resized_size(h, w, size, max_size):
    """torchvision's rule: an int (or [int]) matches the shorter side, keeping aspect."""
    if isinstance(size, (list, tuple)) and len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1")
        return int(size[0]), int(size[1])
    requested = size if isinstance(size, int) else size[0]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = requested, int(requested * long / short)
    if max_size is not None:
        if max_size <= requested:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize with PIL (fw tensors: each channel as a float32 PIL image, so PIL's filters,
    which always antialias when shrinking)."""
    _check_image(img)
    if not (isinstance(size, int) or (isinstance(size, (list, tuple)) and len(size) in (1, 2))):
        raise TypeError(f"Size should be int or sequence of length 1 or 2. Got {size!r}")
    h, w = _size_hw(img)
    oh, ow = _resized_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    mode = _pil_mode(interpolation)
    if _is_pil(img):
        return img.resize((ow, oh), mode)
    from PIL import Image
    a = img.detach().cpu().numpy().astype(np.float32)
    flat = a.reshape(-1, h, w)
    out = np.stack([np.asarray(Image.fromarray(c).resize((ow, oh), mode)) for c in flat])
    if not img.dtype.is_floating_point:
        out = np.clip(np.rint(out), a.min(), a.max())
    return _tensor_like(out.reshape(a.shape[:-2] + (oh, ow)), img)


def _parse_fill(fill, img):
    bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill[0]
        elif len(fill) != bands:
            raise ValueError(f"The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {bands})")
        else:
            return tuple(fill) if img.mode != "F" else float(fill[0])
    if bands > 1:
        return tuple([fill] * bands)
    return fill if img.mode == "F" else int(fill)


def _pad_amounts(padding):
    if isinstance(padding, numbers.Number):
        padding = [int(padding)]
    if not isinstance(padding, (list, tuple)) or len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding) if isinstance(padding, (list, tuple)) else padding} element tuple")
    if len(padding) == 1:
        return (padding[0],) * 4
    if len(padding) == 2:                        # (left/right, top/bottom)
        return padding[0], padding[1], padding[0], padding[1]
    return tuple(padding)                        # (left, top, right, bottom)


def pad(img, padding, fill=0, padding_mode="constant"):
    _check_image(img)
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _pad_amounts(padding)
    if _is_pil(img):
        from PIL import Image
        if min(left, top, right, bottom) < 0:        # negative padding crops, as in torchvision
            w, h = img.size
            img = img.crop((max(-left, 0), max(-top, 0), w - max(-right, 0), h - max(-bottom, 0)))
            left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
        if padding_mode == "constant":
            out = Image.new(img.mode, (img.size[0] + left + right, img.size[1] + top + bottom),
                            _parse_fill(fill, img))
            out.paste(img, (left, top))
            return out
        a = np.asarray(img)
        widths = ((top, bottom), (left, right)) + (((0, 0),) if a.ndim == 3 else ())
        return Image.fromarray(np.pad(a, widths, mode=padding_mode))
    a = img.detach().cpu().numpy()
    widths = ((0, 0),) * (a.ndim - 2) + ((top, bottom), (left, right))
    a = a[tuple(slice(max(-b, 0), a.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(widths))]
    widths = tuple((max(b, 0), max(e, 0)) for b, e in widths)
    if padding_mode == "constant":
        if not isinstance(fill, numbers.Number):
            raise TypeError("fill for a tensor image must be a number")
        return _tensor_like(np.pad(a, widths, constant_values=fill), img)
    return _tensor_like(np.pad(a, widths, mode=padding_mode), img)


def crop(img, top, left, height, width):
    """Crop; areas outside the image are zero-filled (as torchvision)."""
    _check_image(img)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    h, w = img.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        pads = (max(-left, 0), max(-top, 0), max(right - w, 0), max(bottom - h, 0))
        img = pad(img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)], pads)
        return img
    return img[..., top:bottom, left:right]


def center_crop(img, output_size):
    _check_image(img)
    th, tw = _setup_size(output_size)
    h, w = _size_hw(img)
    if th > h or tw > w:
        padding = [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                   (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0]
        img = pad(img, padding, fill=0)
        h, w = _size_hw(img)
        if (th, tw) == (h, w):
            return img
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def hflip(img):
    _check_image(img)
    if _is_pil(img):
        from PIL import Image
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.flip(-1)


def vflip(img):
    _check_image(img)
    if _is_pil(img):
        from PIL import Image
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return img.flip(-2)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Counter-clockwise rotation by `angle` degrees about `center` (PIL images)."""
    if not _is_pil(img):
        raise TypeError(f"rotate supports PIL images in fw_vision, got {type(img)}")
    return img.rotate(angle, _pil_mode(interpolation), expand, center, fillcolor=_parse_fill(fill, img))


def _require_pil(img, what):
    if not _is_pil(img):
        raise TypeError(f"{what} supports PIL images in fw_vision, got {type(img)}")


def _enhance(img, factor, name, enhancer):
    """torchvision's adjust_<name> on a PIL image: PIL's ImageEnhance.<enhancer>."""
    _require_pil(img, f"adjust_{name}")
    if factor < 0:
        raise ValueError(f"{name}_factor ({factor}) is not non-negative.")
    from PIL import ImageEnhance
    return getattr(ImageEnhance, enhancer)(img).enhance(factor)


def adjust_brightness(img, brightness_factor):
    return _enhance(img, brightness_factor, "brightness", "Brightness")


def adjust_contrast(img, contrast_factor):
    return _enhance(img, contrast_factor, "contrast", "Contrast")


def adjust_saturation(img, saturation_factor):
    return _enhance(img, saturation_factor, "saturation", "Color")


def adjust_hue(img, hue_factor):
    """Shift the hue channel (HSV, 0..255 wrapping) by hue_factor * 255."""
    _require_pil(img, "adjust_hue")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    from PIL import Image
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = (np.array(h, dtype=np.int64) + int(hue_factor * 255)) % 256  # uint8 wrap-around
    h = Image.fromarray(np_h.astype(np.uint8))
    return Image.merge("HSV", (h, s, v)).convert(mode)


def rgb_to_grayscale(img, num_output_channels=1):
    _require_pil(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    from PIL import Image
    g = img.convert("L")
    if num_output_channels == 3:
        a = np.asarray(g)
        g = Image.fromarray(np.dstack([a, a, a]))
    return g


# -- transform classes -------------------------------------------------------------------------
class Compose:
    """Apply transforms one after the other."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return "\n".join([f"{type(self).__name__}("] + [f"    {t}" for t in self.transforms] + [")"])


class ToTensor:
    """PIL image / HWC ndarray -> float CHW fw tensor in [0, 1] (uint8 inputs are scaled)."""

    def __call__(self, pic):
        return to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class PILToTensor:
    """PIL image -> CHW fw tensor, values unscaled (uint8 for 8-bit images)."""

    def __call__(self, pic):
        return pil_to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """(x - mean[c]) / std[c] per channel of a float (..., C, H, W) tensor."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Resize:
    """Resize to (h, w), or an int: the shorter side to `size`, keeping the aspect ratio."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if not isinstance(size, (int, list, tuple)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _as_mode(interpolation)

    def __call__(self, img):
        return resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop:
    """Crop the centre (top = round((h - th) / 2)); pads with zeros when the crop is larger."""

    def __init__(self, size):
        self.size = _setup_size(size)

    def __call__(self, img):
        return center_crop(img, self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


class Pad:
    """Pad an image on each side by `padding` pixels (constant, edge, reflect or symmetric)."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        _pad_amounts(padding)
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


def _randint(low, high):
    return int(fw.randint(low, high, (1,)).item())


def _uniform(low, high):
    return float(fw.empty(1).uniform_(float(low), float(high)).item())


class RandomCrop:
    """Crop at a random place, after optional padding (and padding up to `size` if asked)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _setup_size(size)
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img, output_size):
        h, w = _size_hw(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img):
        _check_image(img)
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        h, w = _size_hw(img)
        if self.pad_if_needed and w < self.size[1]:
            img = pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return crop(img, *self.get_params(img, self.size))

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Flip an image left to right with probability `p`."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return hflip(img) if fw.rand(1).item() < self.p else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Flip an image upside down with probability `p`."""

    def __call__(self, img):
        return vflip(img) if fw.rand(1).item() < self.p else img


class RandomRotation:
    """Rotate by an angle drawn uniformly from `degrees` (a number d means (-d, d))."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = [-degrees, degrees]
        elif not isinstance(degrees, (list, tuple)) or len(degrees) != 2:
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = [float(d) for d in degrees]
        if center is not None and (not isinstance(center, (list, tuple)) or len(center) != 2):
            raise ValueError("If center is a sequence, it must be of len 2.")
        self.expand, self.center, self.fill = expand, center, fill
        self.interpolation = _as_mode(interpolation)

    @staticmethod
    def get_params(degrees):
        return _uniform(degrees[0], degrees[1])

    def __call__(self, img):
        return rotate(img, self.get_params(self.degrees), self.interpolation, self.expand,
                      self.center, self.fill)

    def __repr__(self):
        return (f"{type(self).__name__}(degrees={self.degrees}, interpolation={self.interpolation.value}, "
                f"expand={self.expand}, fill={self.fill})")


class ColorJitter:
    """Random brightness/contrast/saturation (factor ranges around 1) and hue (around 0),
    applied in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        if value[0] == value[1] == center:
            return None
        return tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        order = [int(i) for i in fw.randperm(4).tolist()]
        draw = [None if r is None else _uniform(r[0], r[1]) for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def __call__(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        fns = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
        for i in order:
            factor = (b, c, s, h)[i]
            if factor is not None:
                img = fns[i](img, factor)
        return img

    def __repr__(self):
        return (f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Grayscale:
    """Convert an image to grayscale with 1 or 3 output channels."""

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self):
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"
