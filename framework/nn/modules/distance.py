"""PyTorch's path for CosineSimilarity and PairwiseDistance (`torch.nn.modules.distance`)."""
from .loss import CosineSimilarity, PairwiseDistance

__all__ = ["CosineSimilarity", "PairwiseDistance"]
for _c in (CosineSimilarity, PairwiseDistance):
    _c.__module__ = __name__
