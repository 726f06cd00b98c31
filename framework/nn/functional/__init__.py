"""Functional forms of the layers and losses (`torch.nn.functional`), often imported as F."""
from .linear import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from ...ops.shape import pad  # noqa: F401,E402 - torch.nn.functional.pad is the same op
