// Header-only target: the declarations are in include/CCUDADriver.h.
