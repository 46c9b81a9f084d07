/* A thin shim over the ONNX Runtime C API for the Fortran module hfc_onnx.
 *
 * The onnxruntime wheel ships its shared library but no headers, so the library is opened
 * at run time with dlopen and its one exported entry point, OrtGetApiBase, gives the OrtApi
 * table. That table is a struct of function pointers in a fixed, append-only order (ONNX
 * Runtime's stable ABI), so it is read here as an array and indexed by slot. The slot
 * numbers come from the public header include/onnxruntime/core/session/onnxruntime_c_api.h;
 * every slot used below is exercised by the tests (tests/test_native.py).
 *
 * All functions return 0 on success, or non-zero with a NUL-terminated message in `err`.
 * Nothing here prints or exits. The opened library and its API table are process-wide, as
 * the dynamic loader makes them anyway; sessions are separate handles.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef HFC_ORT_DEFAULT_LIB
#define HFC_ORT_DEFAULT_LIB ""
#endif

/* The oldest API version whose table holds every slot used here (ONNX Runtime 1.18). */
#define HFC_ORT_API_VERSION 18

/* Slots of struct OrtApi, counted from 0. */
enum {
  S_GetErrorMessage = 2,
  S_CreateEnv = 3,
  S_CreateSessionFromArray = 8,
  S_Run = 9,
  S_CreateSessionOptions = 10,
  S_SetSessionExecutionMode = 13,
  S_SetSessionGraphOptimizationLevel = 23,
  S_SetIntraOpNumThreads = 24,
  S_SetInterOpNumThreads = 25,
  S_SessionGetInputCount = 30,
  S_SessionGetOutputCount = 31,
  S_SessionGetInputTypeInfo = 33,
  S_SessionGetOutputTypeInfo = 34,
  S_SessionGetInputName = 36,
  S_SessionGetOutputName = 37,
  S_CreateTensorWithDataAsOrtValue = 49,
  S_CastTypeInfoToTensorInfo = 55,
  S_GetTensorElementType = 60,
  S_GetDimensionsCount = 61,
  S_CreateCpuMemoryInfo = 69,
  S_AllocatorFree = 76,
  S_GetAllocatorWithDefaultOptions = 78,
  S_ReleaseEnv = 92,
  S_ReleaseStatus = 93,
  S_ReleaseMemoryInfo = 94,
  S_ReleaseSession = 95,
  S_ReleaseValue = 96,
  S_ReleaseTypeInfo = 98,
  S_ReleaseSessionOptions = 100,
  S_SessionGetModelMetadata = 111,
  S_ModelMetadataLookupCustomMetadataMap = 116,
  S_ReleaseModelMetadata = 118,
  S_GetAvailableProviders = 125,
  S_ReleaseAvailableProviders = 126,
  S_SessionOptionsAppendExecutionProvider_CUDA_V2 = 204,
  S_CreateCUDAProviderOptions = 205,
  S_UpdateCUDAProviderOptions = 206,
  S_ReleaseCUDAProviderOptions = 208,
};

enum { ORT_LOGGING_LEVEL_ERROR = 3, ORT_SEQUENTIAL = 0, ORT_ENABLE_ALL = 99,
       OrtDeviceAllocator = 0, OrtMemTypeDefault = 0 };
enum { HFC_ORT_FLOAT = 1, HFC_ORT_DOUBLE = 11 };   /* ONNXTensorElementDataType */

typedef void OrtStatus;   /* every ONNX Runtime object is opaque here */
typedef void OrtObj;
typedef struct {
  const void *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} OrtApiBase;

/* The session handle given to Fortran. */
typedef struct {
  OrtObj *env, *session, *memory;
  char *input_name, *output_name;
  int input_type, output_type, input_rank, output_rank, inputs, outputs;
  double run_seconds;   /* time spent inside OrtApi::Run, for the overhead benchmark */
  int64_t runs;
} hfc_ort_session;

static void *const *api = NULL;       /* the OrtApi table, once opened */
static char library_path[4096] = "";
static char library_version[64] = "";

#define FN(slot, ret, ...) ((ret(*)(__VA_ARGS__))api[slot])

static void set_error(char *err, int errlen, const char *prefix, const char *detail) {
  if (errlen > 0) snprintf(err, (size_t)errlen, "%s%s", prefix, detail ? detail : "");
}

/* Turn an OrtStatus into a return code and message (and release it). */
static int check(OrtStatus *status, char *err, int errlen, const char *what) {
  if (status == NULL) return 0;
  const char *message = FN(S_GetErrorMessage, const char *, OrtStatus *)(status);
  if (errlen > 0) snprintf(err, (size_t)errlen, "%s: %s", what, message);
  FN(S_ReleaseStatus, void, OrtStatus *)(status);
  return 1;
}

/* Open the ONNX Runtime library: `path` if non-empty, else $HFC_ONNXRUNTIME_LIB, else the
 * library found when libhfc was built. Opening again is a no-op. */
int hfc_ort_open(const char *path, char *err, int errlen) {
  if (api != NULL) return 0;
  const char *chosen = (path && path[0]) ? path : getenv("HFC_ONNXRUNTIME_LIB");
  if (!chosen || !chosen[0]) chosen = HFC_ORT_DEFAULT_LIB;
  if (!chosen[0]) {
    set_error(err, errlen, "no ONNX Runtime library known: set HFC_ONNXRUNTIME_LIB to the path of "
              "libonnxruntime.so (the onnxruntime wheel has it in onnxruntime/capi/)", NULL);
    return 1;
  }
  void *lib = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    set_error(err, errlen, "cannot open the ONNX Runtime library: ", dlerror());
    return 1;
  }
  const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
  if (!get_base) {
    set_error(err, errlen, "not an ONNX Runtime library (no OrtGetApiBase): ", chosen);
    dlclose(lib);
    return 1;
  }
  const OrtApiBase *base = get_base();
  const void *table = base->GetApi(HFC_ORT_API_VERSION);
  if (!table) {
    snprintf(err, (size_t)errlen, "ONNX Runtime %s at %s is too old (need 1.%d or newer)",
             base->GetVersionString(), chosen, HFC_ORT_API_VERSION);
    dlclose(lib);
    return 1;
  }
  api = (void *const *)table;
  snprintf(library_path, sizeof library_path, "%s", chosen);
  snprintf(library_version, sizeof library_version, "%s", base->GetVersionString());
  return 0;
}

/* Where the library was found and its version (empty strings before hfc_ort_open). */
void hfc_ort_info(char *path, int pathlen, char *version, int versionlen) {
  if (pathlen > 0) snprintf(path, (size_t)pathlen, "%s", library_path);
  if (versionlen > 0) snprintf(version, (size_t)versionlen, "%s", library_version);
}

void hfc_ort_free(hfc_ort_session *s) {
  if (s == NULL || api == NULL) return;
  if (s->memory) FN(S_ReleaseMemoryInfo, void, OrtObj *)(s->memory);
  if (s->session) FN(S_ReleaseSession, void, OrtObj *)(s->session);
  if (s->env) FN(S_ReleaseEnv, void, OrtObj *)(s->env);
  free(s->input_name);
  free(s->output_name);
  free(s);
}

/* Copy a string ONNX Runtime allocated with its default allocator, then free it. */
static char *take_string(char *value) {
  OrtObj *allocator = NULL;
  char *copy = strdup(value ? value : "");
  if (FN(S_GetAllocatorWithDefaultOptions, OrtStatus *, OrtObj **)(&allocator) == NULL)
    FN(S_AllocatorFree, OrtStatus *, OrtObj *, void *)(allocator, value);
  return copy;
}

/* Element type and rank of input (output = 0) or output (output = 1) 0. */
static int argument_type(hfc_ort_session *s, int output, int *type, int *rank, char *err, int errlen) {
  OrtObj *info = NULL;
  const OrtObj *tensor = NULL;
  size_t dims = 0;
  int slot = output ? S_SessionGetOutputTypeInfo : S_SessionGetInputTypeInfo;
  if (check(FN(slot, OrtStatus *, OrtObj *, size_t, OrtObj **)(s->session, 0, &info), err, errlen, "type info"))
    return 1;
  int rc = check(FN(S_CastTypeInfoToTensorInfo, OrtStatus *, const OrtObj *, const OrtObj **)(info, &tensor),
                 err, errlen, "tensor info");
  if (!rc && tensor == NULL) {
    set_error(err, errlen, "the model's input and output must be tensors", NULL);
    rc = 1;
  }
  if (!rc) rc = check(FN(S_GetTensorElementType, OrtStatus *, const OrtObj *, int *)(tensor, type), err, errlen, "element type");
  if (!rc) rc = check(FN(S_GetDimensionsCount, OrtStatus *, const OrtObj *, size_t *)(tensor, &dims), err, errlen, "rank");
  *rank = (int)dims;
  FN(S_ReleaseTypeInfo, void, OrtObj *)(info);
  return rc;
}

/* True when this onnxruntime build has the CUDA execution provider. */
static int has_cuda(void) {
  char **names = NULL;
  int count = 0, found = 0;
  if (FN(S_GetAvailableProviders, OrtStatus *, char ***, int *)(&names, &count) != NULL) return 0;
  for (int i = 0; i < count; ++i) found |= strcmp(names[i], "CUDAExecutionProvider") == 0;
  FN(S_ReleaseAvailableProviders, OrtStatus *, char **, int)(names, count);
  return found;
}

static int append_cuda(OrtObj *options, int device, char *err, int errlen) {
  if (!has_cuda()) {
    snprintf(err, (size_t)errlen, "device cuda:%d asked for, but this ONNX Runtime (%s, %s) has no CUDA "
             "execution provider; use onnxruntime-gpu's library or the CPU", device, library_version, library_path);
    return 1;
  }
  OrtObj *cuda = NULL;
  char id[16];
  snprintf(id, sizeof id, "%d", device);
  const char *keys[] = {"device_id"}, *values[] = {id};
  if (check(FN(S_CreateCUDAProviderOptions, OrtStatus *, OrtObj **)(&cuda), err, errlen, "CUDA options")) return 1;
  int rc = check(FN(S_UpdateCUDAProviderOptions, OrtStatus *, OrtObj *, const char *const *, const char *const *, size_t)(
                     cuda, keys, values, 1), err, errlen, "CUDA options");
  if (!rc)
    rc = check(FN(S_SessionOptionsAppendExecutionProvider_CUDA_V2, OrtStatus *, OrtObj *, const OrtObj *)(options, cuda),
               err, errlen, "CUDA execution provider");
  FN(S_ReleaseCUDAProviderOptions, void, OrtObj *)(cuda);
  return rc;
}

/* A session from the bytes of an ONNX model: `threads` intra-op threads, one inter-op
 * thread, sequential execution; device < 0 is the CPU, k >= 0 the CUDA device k. */
int hfc_ort_create(const void *bytes, int64_t nbytes, int threads, int device, hfc_ort_session **handle,
                   char *err, int errlen) {
  *handle = NULL;
  if (api == NULL && hfc_ort_open(NULL, err, errlen)) return 1;
  hfc_ort_session *s = calloc(1, sizeof *s);
  OrtObj *options = NULL;
  char *name = NULL;
  size_t count = 0;
  int rc = check(FN(S_CreateEnv, OrtStatus *, int, const char *, OrtObj **)(ORT_LOGGING_LEVEL_ERROR, "hfc", &s->env),
                 err, errlen, "environment");
  if (!rc) rc = check(FN(S_CreateSessionOptions, OrtStatus *, OrtObj **)(&options), err, errlen, "session options");
  if (!rc) rc = check(FN(S_SetIntraOpNumThreads, OrtStatus *, OrtObj *, int)(options, threads), err, errlen, "threads");
  if (!rc) rc = check(FN(S_SetInterOpNumThreads, OrtStatus *, OrtObj *, int)(options, 1), err, errlen, "threads");
  if (!rc) rc = check(FN(S_SetSessionExecutionMode, OrtStatus *, OrtObj *, int)(options, ORT_SEQUENTIAL), err, errlen, "execution mode");
  if (!rc) rc = check(FN(S_SetSessionGraphOptimizationLevel, OrtStatus *, OrtObj *, int)(options, ORT_ENABLE_ALL),
                      err, errlen, "optimization level");
  if (!rc && device >= 0) rc = append_cuda(options, device, err, errlen);
  if (!rc)
    rc = check(FN(S_CreateSessionFromArray, OrtStatus *, const OrtObj *, const void *, size_t, const OrtObj *, OrtObj **)(
                   s->env, bytes, (size_t)nbytes, options, &s->session), err, errlen, "ONNX Runtime cannot load the model");
  if (options) FN(S_ReleaseSessionOptions, void, OrtObj *)(options);
  if (!rc) rc = check(FN(S_SessionGetInputCount, OrtStatus *, const OrtObj *, size_t *)(s->session, &count), err, errlen, "inputs");
  s->inputs = (int)count;
  if (!rc) rc = check(FN(S_SessionGetOutputCount, OrtStatus *, const OrtObj *, size_t *)(s->session, &count), err, errlen, "outputs");
  s->outputs = (int)count;
  if (!rc && (s->inputs < 1 || s->outputs < 1)) {
    set_error(err, errlen, "the model has no input or no output", NULL);
    rc = 1;
  }
  OrtObj *allocator = NULL;
  if (!rc) rc = check(FN(S_GetAllocatorWithDefaultOptions, OrtStatus *, OrtObj **)(&allocator), err, errlen, "allocator");
  if (!rc) rc = check(FN(S_SessionGetInputName, OrtStatus *, const OrtObj *, size_t, OrtObj *, char **)(
                          s->session, 0, allocator, &name), err, errlen, "input name");
  if (!rc) s->input_name = take_string(name);
  if (!rc) rc = check(FN(S_SessionGetOutputName, OrtStatus *, const OrtObj *, size_t, OrtObj *, char **)(
                          s->session, 0, allocator, &name), err, errlen, "output name");
  if (!rc) s->output_name = take_string(name);
  if (!rc) rc = argument_type(s, 0, &s->input_type, &s->input_rank, err, errlen);
  if (!rc) rc = argument_type(s, 1, &s->output_type, &s->output_rank, err, errlen);
  if (!rc) rc = check(FN(S_CreateCpuMemoryInfo, OrtStatus *, int, int, OrtObj **)(OrtDeviceAllocator, OrtMemTypeDefault, &s->memory),
                      err, errlen, "memory info");
  if (rc) {
    hfc_ort_free(s);
    return 1;
  }
  *handle = s;
  return 0;
}

/* Signature: counts, names (truncated to namelen), element types and ranks of the first
 * input and output. */
void hfc_ort_signature(const hfc_ort_session *s, int *inputs, int *outputs, char *input_name, char *output_name,
                       int namelen, int *input_type, int *input_rank, int *output_type, int *output_rank) {
  *inputs = s->inputs;
  *outputs = s->outputs;
  snprintf(input_name, (size_t)namelen, "%s", s->input_name);
  snprintf(output_name, (size_t)namelen, "%s", s->output_name);
  *input_type = s->input_type;
  *input_rank = s->input_rank;
  *output_type = s->output_type;
  *output_rank = s->output_rank;
}

/* A custom metadata value (metadata_props); *found = 0 when the key is absent. */
int hfc_ort_metadata(const hfc_ort_session *s, const char *key, char *value, int valuelen, int *found,
                     char *err, int errlen) {
  OrtObj *metadata = NULL, *allocator = NULL;
  char *raw = NULL;
  *found = 0;
  value[0] = '\0';
  if (check(FN(S_GetAllocatorWithDefaultOptions, OrtStatus *, OrtObj **)(&allocator), err, errlen, "allocator")) return 1;
  if (check(FN(S_SessionGetModelMetadata, OrtStatus *, const OrtObj *, OrtObj **)(s->session, &metadata), err, errlen, "metadata"))
    return 1;
  int rc = check(FN(S_ModelMetadataLookupCustomMetadataMap, OrtStatus *, const OrtObj *, OrtObj *, const char *, char **)(
                     metadata, allocator, key, &raw), err, errlen, "metadata");
  if (!rc && raw != NULL) {
    *found = 1;
    snprintf(value, (size_t)valuelen, "%s", raw);
    FN(S_AllocatorFree, OrtStatus *, OrtObj *, void *)(allocator, raw);
  }
  FN(S_ReleaseModelMetadata, void, OrtObj *)(metadata);
  return rc;
}

/* Run the model on input[batch][1][cells] into output[batch][1][faces], both caller-owned
 * (no copies: ONNX Runtime reads and writes the caller's memory). */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds spent inside ONNX Runtime's Run and the number of runs since the last reset. */
void hfc_ort_timers(hfc_ort_session *s, double *run_seconds, int64_t *runs, int reset) {
  *run_seconds = s->run_seconds;
  *runs = s->runs;
  if (reset) {
    s->run_seconds = 0.0;
    s->runs = 0;
  }
}

int hfc_ort_run(hfc_ort_session *s, void *input, void *output, int64_t batch, int64_t cells, int64_t faces,
                char *err, int errlen) {
  const int64_t in_shape[3] = {batch, 1, cells}, out_shape[3] = {batch, 1, faces};
  size_t size = s->input_type == HFC_ORT_DOUBLE ? sizeof(double) : sizeof(float);
  OrtObj *in = NULL, *out = NULL;
  typedef OrtStatus *(*create_fn)(const OrtObj *, void *, size_t, const int64_t *, size_t, int, OrtObj **);
  int rc = check(((create_fn)api[S_CreateTensorWithDataAsOrtValue])(s->memory, input, size * (size_t)(batch * cells),
                     in_shape, 3, s->input_type, &in), err, errlen, "input tensor");
  if (!rc) rc = check(((create_fn)api[S_CreateTensorWithDataAsOrtValue])(s->memory, output, size * (size_t)(batch * faces),
                          out_shape, 3, s->output_type, &out), err, errlen, "output tensor");
  if (!rc) {
    const char *in_names[] = {s->input_name}, *out_names[] = {s->output_name};
    double start = now();
    rc = check(FN(S_Run, OrtStatus *, OrtObj *, const OrtObj *, const char *const *, const OrtObj *const *, size_t,
                  const char *const *, size_t, OrtObj **)(s->session, NULL, in_names, (const OrtObj *const *)&in, 1,
                                                            out_names, 1, &out), err, errlen, "model run");
    s->run_seconds += now() - start;
    s->runs += 1;
  }
  if (in) FN(S_ReleaseValue, void, OrtObj *)(in);
  if (out) FN(S_ReleaseValue, void, OrtObj *)(out);
  return rc;
}
