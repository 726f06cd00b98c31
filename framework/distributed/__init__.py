"""`fw.distributed` (torch.distributed) on MPI through mpi4py.

Launch with `fw run -n N script.py` (or any `mpiexec`); mpi4py and the MPI library come
with the `distributed` extra and are loaded by `init_process_group`, so this package
imports without them.
"""
from .process_group import (DistBackendError, DistError, ReduceOp, destroy_process_group,
                            get_backend, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized, is_mpi_available)
from .collectives import (Work, all_gather, all_gather_into_tensor, all_gather_object,
                          all_reduce, barrier, broadcast, broadcast_object_list, gather, irecv,
                          isend, recv, reduce, reduce_scatter, reduce_scatter_tensor, scatter,
                          send)
from .checkpoint_io import load_checkpoint, save_checkpoint

__all__ = ["DistBackendError", "DistError", "ReduceOp", "Work", "all_gather",
           "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier", "broadcast",
           "broadcast_object_list", "destroy_process_group", "gather", "get_backend", "get_rank",
           "get_world_size", "init_process_group", "irecv", "is_available", "is_initialized",
           "is_mpi_available", "isend", "load_checkpoint", "recv", "reduce", "reduce_scatter",
           "reduce_scatter_tensor", "save_checkpoint", "scatter", "send"]
