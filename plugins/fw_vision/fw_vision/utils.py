"""make_grid and save_image with torchvision's arguments."""
import math

import numpy as np

import framework as fw

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor):
    """(B, C, H, W) float NumPy array, 1-channel images repeated to 3 (torchvision's rule)."""
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, fw.Tensor) for t in tensor):
            raise TypeError("tensor or list of tensors expected, got a list holding other objects")
        tensor = fw.stack(list(tensor), 0)
    if not isinstance(tensor, fw.Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    a = tensor.detach().cpu().numpy()
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = np.concatenate([a] * 3, 0)
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid expects 2-D, 3-D or 4-D tensors, got {a.ndim}-D")
    if a.shape[1] == 1:
        a = np.concatenate([a] * 3, 1)
    return a


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a batch of images (B, C, H, W) into one (C, H', W') image, `nrow` per row."""
    device = tensor[0].device if isinstance(tensor, (list, tuple)) and tensor else getattr(tensor, "device", None)
    a = _as_batch(tensor)
    dtype = a.dtype
    if normalize:
        a = a.astype(np.float64 if dtype == np.float64 else np.float32)
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")

        def norm(x):
            low, high = value_range if value_range is not None else (float(x.min()), float(x.max()))
            np.clip(x, low, high, out=x)
            x -= low
            x /= max(high - low, 1e-5)
        if scale_each:
            for x in a:
                norm(x)
        else:
            norm(a)
    if a.shape[0] == 1:
        return fw.tensor(a[0], device=device)
    nmaps = a.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(nmaps / xmaps))
    h, w = a.shape[2] + padding, a.shape[3] + padding
    grid = np.full((a.shape[1], h * ymaps + padding, w * xmaps + padding), pad_value, a.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * h + padding:(y + 1) * h, x * w + padding:(x + 1) * w] = a[k]
    return fw.tensor(grid, device=device)


def save_image(tensor, fp, format=None, **kwargs):
    """Write a tensor (or batch, tiled by make_grid with **kwargs) in [0, 1] as an image file."""
    from PIL import Image
    grid = make_grid(tensor, **kwargs).cpu().numpy().astype(np.float64)
    # torchvision: mul(255).add_(0.5).clamp_(0, 255) then truncate to uint8
    arr = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(arr)).save(fp, format=format)
