"""Shared helper for the nn tests: run the same function in torch and fw, compare values and
gradients of every input that requires grad."""
import numpy as np
import torch

import framework as fw
import framework.nn  # noqa: F401  (fw.nn, fw.nn.functional)


def compare(fn, arrays, grads=(0,), device="cpu", rtol=1e-4, atol=1e-5):
    """fn(lib, F, *tensors) in torch and in fw on `device`; values and input gradients match.
    The output's gradient is a fixed ramp so every element's gradient is checked."""
    results = []
    for lib, F in ((torch, torch.nn.functional), (fw, fw.nn.functional)):
        kw = {"device": device} if lib is fw else {}
        xs = [lib.tensor(a, requires_grad=(i in grads), **kw) for i, a in enumerate(arrays)]
        out = fn(lib, F, *xs)
        got = [out.detach().cpu().numpy()]
        if grads:
            go = np.linspace(-1, 1, max(out.numel(), 1))[:out.numel()].reshape(tuple(out.shape))
            out.backward(lib.tensor(go.astype(np.asarray(arrays[grads[0]]).dtype), **kw))
            got += [xs[i].grad.cpu().numpy() if xs[i].grad is not None else None for i in grads]
        results.append(got)
    want, have = results
    assert want[0].shape == have[0].shape, (want[0].shape, have[0].shape)
    for w, h in zip(want, have):
        if w is None:
            assert h is None or not np.any(h)
            continue
        np.testing.assert_allclose(h, w, rtol=rtol, atol=atol)
