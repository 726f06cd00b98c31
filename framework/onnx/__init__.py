"""`fw.onnx`: importable so that programs naming `torch.onnx` load; the exporter itself is
planned (issue 19 names it as a separate piece of work) and is not here yet."""

__all__ = ["export", "is_in_onnx_export"]


def export(model, args=(), f=None, *unused_args, **unused_kwargs):
    raise NotImplementedError("fw.onnx.export is not implemented yet: ONNX export is planned "
                              "(issue 19, a separate piece of work from torch.onnx's "
                              "importability); save weights with fw.save for now")


def is_in_onnx_export():
    return False
