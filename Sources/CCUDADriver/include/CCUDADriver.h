#ifndef C_CUDA_DRIVER_H
#define C_CUDA_DRIVER_H

// The small part of the CUDA driver API and NVRTC that Parla uses, declared by hand so that nothing
// from CUDA is needed at build time. The libraries are loaded at run time with dlopen, and each
// function is looked up by name (the _v2 names where cuda.h maps the plain ones to them).
// Types and values follow cuda.h and nvrtc.h of CUDA 12/13.

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct _nvrtcProgram *nvrtcProgram;
typedef int nvrtcResult;

// Result codes are named in Swift (`CUDAResult`); the attribute and flag values used are below.
enum {
    PARLA_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    PARLA_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    PARLA_CU_STREAM_NON_BLOCKING = 1,
    PARLA_CU_EVENT_DEFAULT = 0,
    PARLA_CU_EVENT_BLOCKING_SYNC = 1,
    PARLA_CU_EVENT_DISABLE_TIMING = 2,
};

typedef CUresult (*PFN_cuInit)(unsigned int flags);
typedef CUresult (*PFN_cuDriverGetVersion)(int *version);
typedef CUresult (*PFN_cuDeviceGetCount)(int *count);
typedef CUresult (*PFN_cuDeviceGet)(CUdevice *device, int ordinal);
typedef CUresult (*PFN_cuDeviceGetName)(char *name, int length, CUdevice device);
typedef CUresult (*PFN_cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
typedef CUresult (*PFN_cuDeviceTotalMem)(size_t *bytes, CUdevice device);
typedef CUresult (*PFN_cuDeviceCanAccessPeer)(int *canAccess, CUdevice device, CUdevice peer);
typedef CUresult (*PFN_cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
typedef CUresult (*PFN_cuCtxSetCurrent)(CUcontext context);
typedef CUresult (*PFN_cuCtxSynchronize)(void);
typedef CUresult (*PFN_cuCtxEnablePeerAccess)(CUcontext peer, unsigned int flags);
typedef CUresult (*PFN_cuMemGetInfo)(size_t *free, size_t *total);
typedef CUresult (*PFN_cuMemAlloc)(CUdeviceptr *pointer, size_t bytes);
typedef CUresult (*PFN_cuMemFree)(CUdeviceptr pointer);
typedef CUresult (*PFN_cuMemAllocHost)(void **pointer, size_t bytes);
typedef CUresult (*PFN_cuMemFreeHost)(void *pointer);
typedef CUresult (*PFN_cuMemcpyAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuMemcpyPeerAsync)(CUdeviceptr dst, CUcontext dstContext, CUdeviceptr src,
                                          CUcontext srcContext, size_t bytes, CUstream stream);
typedef CUresult (*PFN_cuStreamCreate)(CUstream *stream, unsigned int flags);
typedef CUresult (*PFN_cuStreamSynchronize)(CUstream stream);
typedef CUresult (*PFN_cuStreamWaitEvent)(CUstream stream, CUevent event, unsigned int flags);
typedef CUresult (*PFN_cuEventCreate)(CUevent *event, unsigned int flags);
typedef CUresult (*PFN_cuEventRecord)(CUevent event, CUstream stream);
typedef CUresult (*PFN_cuEventSynchronize)(CUevent event);
typedef CUresult (*PFN_cuEventQuery)(CUevent event);
typedef CUresult (*PFN_cuEventDestroy)(CUevent event);
typedef CUresult (*PFN_cuModuleLoadData)(CUmodule *module, const void *image);
typedef CUresult (*PFN_cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
typedef CUresult (*PFN_cuLaunchKernel)(CUfunction function, unsigned int gridX, unsigned int gridY,
                                       unsigned int gridZ, unsigned int blockX, unsigned int blockY,
                                       unsigned int blockZ, unsigned int sharedBytes, CUstream stream,
                                       void **parameters, void **extra);
typedef CUresult (*PFN_cuGetErrorString)(CUresult error, const char **text);

typedef nvrtcResult (*PFN_nvrtcVersion)(int *major, int *minor);
typedef nvrtcResult (*PFN_nvrtcCreateProgram)(nvrtcProgram *program, const char *source, const char *name,
                                              int headerCount, const char *const *headers,
                                              const char *const *includeNames);
typedef nvrtcResult (*PFN_nvrtcCompileProgram)(nvrtcProgram program, int optionCount, const char *const *options);
typedef nvrtcResult (*PFN_nvrtcGetPTXSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*PFN_nvrtcGetPTX)(nvrtcProgram program, char *ptx);
typedef nvrtcResult (*PFN_nvrtcGetProgramLogSize)(nvrtcProgram program, size_t *size);
typedef nvrtcResult (*PFN_nvrtcGetProgramLog)(nvrtcProgram program, char *log);
typedef nvrtcResult (*PFN_nvrtcDestroyProgram)(nvrtcProgram *program);
typedef const char *(*PFN_nvrtcGetErrorString)(nvrtcResult result);

#endif
