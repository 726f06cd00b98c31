"""The optional dependencies of fw.onnx, imported on first use with an error naming the extra."""


def require(name="onnx"):
    """Import and return `onnx` (or `onnxruntime`), or raise ImportError naming fw's extra."""
    try:
        return __import__(name)
    except ImportError as e:
        raise ImportError(f"fw.onnx needs the '{name}' package, which is not installed: "
                          f"install fw's onnx extra with `pip install 'fw-framework[onnx]'` "
                          f"(it brings onnx and onnxruntime)") from e
