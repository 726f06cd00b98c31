"""`fw.onnx`: importable so that programs naming `torch.onnx` load; the exporter itself is
planned and not here yet."""

__all__ = ["export", "is_in_onnx_export"]


def export(model, args=(), f=None, *unused_args, **unused_kwargs):
    raise NotImplementedError("fw.onnx.export is not available yet: ONNX export is planned; "
                              "save the weights with fw.save for now")


def is_in_onnx_export():
    return False
