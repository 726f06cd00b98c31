"""fw's OpenCL backend: hand-written .cl kernels run through PyOpenCL (device "opencl")."""
