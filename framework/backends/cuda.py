"""`fw.backends.cuda`: CUDA's switches as a PyTorch build without CUDA holds them."""


class _Matmul:
    """`fw.backends.cuda.matmul.allow_tf32` and friends: flags that change nothing in fw."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return "<fw.backends.cuda.matmul>"


matmul = _Matmul()


def is_built():
    return False
