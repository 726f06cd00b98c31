"""`fw.onnx` (torch.onnx's names): export an fw model to ONNX, load an ONNX model as an
fw module. onnx and onnxruntime come with the `onnx` extra (`pip install 'fw-framework[onnx]'`);
they are imported on first use, so `import framework` never needs them. See docs/onnx.md."""
from .exporter import UnsupportedOperatorError, export

__all__ = ["export", "load", "is_in_onnx_export", "UnsupportedOperatorError",
           "UnsupportedOnnxOperatorError"]


def is_in_onnx_export():
    from ..capture import is_capturing
    return is_capturing()


def load(f):
    """An nn.Module that runs the ONNX model `f` (a path, bytes, a file object or a
    ModelProto); its initializers are its parameters and buffers."""
    from .importer import load as _load
    return _load(f)


def __getattr__(name):
    if name == "UnsupportedOnnxOperatorError":
        from .importer import UnsupportedOnnxOperatorError
        return UnsupportedOnnxOperatorError
    raise AttributeError(f"module 'framework.onnx' has no attribute {name!r}")
