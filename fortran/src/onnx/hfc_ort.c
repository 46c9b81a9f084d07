/* A thin shim over the ONNX Runtime C API for the Fortran module hfc_onnx.
 *
 * The onnxruntime wheel ships its shared library but no headers, so the library is opened
 * at run time with dlopen and its one exported entry point, OrtGetApiBase, gives the OrtApi
 * table. That table is a struct of function pointers in a fixed, append-only order (ONNX
 * Runtime's stable ABI), so it is read here as an array and indexed by slot. The slot
 * numbers come from the public header include/onnxruntime/core/session/onnxruntime_c_api.h;
 * every slot used below is exercised by the tests (tests/test_native.py, test_onnx_binding.py).
 *
 * A session is general: any number of named inputs and outputs of any rank, float or
 * double, their signature (names, element types, dimensions, -1 where symbolic) and the
 * model's custom metadata read once when the session is created. Runs bind the caller's
 * buffers in place (no copies).
 *
 * All functions return 0 on success, or non-zero with a NUL-terminated message in `err`.
 * Nothing here prints or exits. The opened library, its API table and the one ONNX Runtime
 * environment are process-wide (the environment is created with the first session and
 * released with the last); sessions are separate handles.
 */
#define _GNU_SOURCE   /* dladdr */
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
#define HFC_ORT_MAX_RANK 8

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
  S_GetDimensions = 62,
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
  S_ModelMetadataGetCustomMetadataMapKeys = 123,
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

/* One input or output of a session. */
typedef struct {
  char *name;
  int type, rank;
  int64_t dims[HFC_ORT_MAX_RANK];   /* -1 where symbolic */
} hfc_ort_arg;

/* The session handle given to Fortran. */
typedef struct {
  OrtObj *session, *memory;
  int inputs, outputs, entries;
  hfc_ort_arg *args;                /* inputs, then outputs */
  char **keys, **values;            /* custom metadata, `entries` pairs */
  double run_seconds;               /* time spent inside OrtApi::Run, for the overhead benchmark */
  int64_t runs;
  int64_t serial;                   /* which load this session is: 1, 2, ... over the process */
} hfc_ort_session;

static void *const *api = NULL;       /* the OrtApi table, once opened */
static OrtObj *env = NULL;            /* the one environment of the process */
static int env_sessions = 0;          /* sessions using it */
static int64_t sessions_made = 0;     /* serial numbers of sessions */
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
 * library found when libhfc was built if it still exists, else "libonnxruntime.so.1" from
 * the dynamic loader's search path (LD_LIBRARY_PATH, the system folders). Opening again is
 * a no-op. */
int hfc_ort_open(const char *path, char *err, int errlen) {
  if (api != NULL) return 0;
  const char *chosen = (path && path[0]) ? path : getenv("HFC_ONNXRUNTIME_LIB");
  if (!chosen || !chosen[0]) {
    FILE *built = HFC_ORT_DEFAULT_LIB[0] ? fopen(HFC_ORT_DEFAULT_LIB, "rb") : NULL;
    chosen = built ? HFC_ORT_DEFAULT_LIB : "libonnxruntime.so.1";
    if (built) fclose(built);
  }
  void *lib = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(err, (size_t)errlen, "cannot open the ONNX Runtime library: %s (set HFC_ONNXRUNTIME_LIB to the path "
             "of libonnxruntime.so; the onnxruntime wheel has it in onnxruntime/capi/)", dlerror());
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
  Dl_info where;
  snprintf(library_path, sizeof library_path, "%s",
           dladdr((void *)get_base, &where) && where.dli_fname ? where.dli_fname : chosen);
  snprintf(library_version, sizeof library_version, "%s", base->GetVersionString());
  return 0;
}

/* Where the library was found and its version (empty strings before hfc_ort_open). */
void hfc_ort_info(char *path, int pathlen, char *version, int versionlen) {
  if (pathlen > 0) snprintf(path, (size_t)pathlen, "%s", library_path);
  if (versionlen > 0) snprintf(version, (size_t)versionlen, "%s", library_version);
}

/* The process's environment, created on first use. ONNX Runtime's telemetry worker (one
 * thread per process otherwise, even with one intra-op thread) is turned off unless the
 * caller has set ORT_DISABLE_TELEMETRY. */
static int acquire_env(char *err, int errlen) {
  if (env == NULL) {
    setenv("ORT_DISABLE_TELEMETRY", "1", 0);
    if (check(FN(S_CreateEnv, OrtStatus *, int, const char *, OrtObj **)(ORT_LOGGING_LEVEL_ERROR, "hfc", &env),
              err, errlen, "environment"))
      return 1;
  }
  env_sessions += 1;
  return 0;
}

static void release_env(void) {
  env_sessions -= 1;
  if (env_sessions == 0 && env != NULL) {
    FN(S_ReleaseEnv, void, OrtObj *)(env);
    env = NULL;
  }
}

void hfc_ort_free(hfc_ort_session *s) {
  if (s == NULL || api == NULL) return;
  if (s->memory) FN(S_ReleaseMemoryInfo, void, OrtObj *)(s->memory);
  if (s->session) {
    FN(S_ReleaseSession, void, OrtObj *)(s->session);
    release_env();
  }
  for (int i = 0; s->args && i < s->inputs + s->outputs; ++i) free(s->args[i].name);
  for (int i = 0; i < s->entries; ++i) {
    free(s->keys[i]);
    free(s->values[i]);
  }
  free(s->args);
  free(s->keys);
  free(s->values);
  free(s);
}

/* Copy a string ONNX Runtime allocated with the default allocator, then free it there. */
static char *take_string(OrtObj *allocator, char *value) {
  char *copy = strdup(value ? value : "");
  if (value) FN(S_AllocatorFree, OrtStatus *, OrtObj *, void *)(allocator, value);
  return copy;
}

/* Name, element type and dimensions of input (output = 0) or output (output = 1) `index`. */
static int read_argument(hfc_ort_session *s, OrtObj *allocator, int output, int index, hfc_ort_arg *arg,
                         char *err, int errlen) {
  OrtObj *info = NULL;
  const OrtObj *tensor = NULL;
  char *name = NULL;
  size_t rank = 0;
  int name_slot = output ? S_SessionGetOutputName : S_SessionGetInputName;
  int type_slot = output ? S_SessionGetOutputTypeInfo : S_SessionGetInputTypeInfo;
  if (check(FN(name_slot, OrtStatus *, const OrtObj *, size_t, OrtObj *, char **)(s->session, (size_t)index,
            allocator, &name), err, errlen, "argument name"))
    return 1;
  arg->name = take_string(allocator, name);
  if (check(FN(type_slot, OrtStatus *, OrtObj *, size_t, OrtObj **)(s->session, (size_t)index, &info),
            err, errlen, "type info"))
    return 1;
  int rc = check(FN(S_CastTypeInfoToTensorInfo, OrtStatus *, const OrtObj *, const OrtObj **)(info, &tensor),
                 err, errlen, "tensor info");
  if (!rc && tensor == NULL) {
    snprintf(err, (size_t)errlen, "the model's %s '%s' is not a tensor", output ? "output" : "input", arg->name);
    rc = 1;
  }
  if (!rc) rc = check(FN(S_GetTensorElementType, OrtStatus *, const OrtObj *, int *)(tensor, &arg->type),
                      err, errlen, "element type");
  if (!rc) rc = check(FN(S_GetDimensionsCount, OrtStatus *, const OrtObj *, size_t *)(tensor, &rank), err, errlen, "rank");
  if (!rc && rank > HFC_ORT_MAX_RANK) {
    snprintf(err, (size_t)errlen, "the model's %s '%s' has rank %zu (at most %d supported)", output ? "output" : "input",
             arg->name, rank, HFC_ORT_MAX_RANK);
    rc = 1;
  }
  arg->rank = (int)rank;
  if (!rc) rc = check(FN(S_GetDimensions, OrtStatus *, const OrtObj *, int64_t *, size_t)(tensor, arg->dims, rank),
                      err, errlen, "dimensions");
  FN(S_ReleaseTypeInfo, void, OrtObj *)(info);
  return rc;
}

/* Every custom metadata pair (metadata_props), copied once. */
static int read_metadata(hfc_ort_session *s, OrtObj *allocator, char *err, int errlen) {
  OrtObj *metadata = NULL;
  char **keys = NULL;
  int64_t count = 0;
  if (check(FN(S_SessionGetModelMetadata, OrtStatus *, const OrtObj *, OrtObj **)(s->session, &metadata), err, errlen,
            "metadata"))
    return 1;
  int rc = check(FN(S_ModelMetadataGetCustomMetadataMapKeys, OrtStatus *, const OrtObj *, OrtObj *, char ***, int64_t *)(
                     metadata, allocator, &keys, &count), err, errlen, "metadata keys");
  if (!rc && count > 0) {
    s->keys = calloc((size_t)count, sizeof(char *));
    s->values = calloc((size_t)count, sizeof(char *));
    for (int64_t i = 0; i < count; ++i) {
      char *value = NULL;
      if (!rc) rc = check(FN(S_ModelMetadataLookupCustomMetadataMap, OrtStatus *, const OrtObj *, OrtObj *, const char *,
                             char **)(metadata, allocator, keys[i], &value), err, errlen, "metadata");
      if (!rc) {
        s->keys[s->entries] = strdup(keys[i]);
        s->values[s->entries] = take_string(allocator, value);
        s->entries += 1;
      }
      FN(S_AllocatorFree, OrtStatus *, OrtObj *, void *)(allocator, keys[i]);
    }
  }
  if (keys) FN(S_AllocatorFree, OrtStatus *, OrtObj *, void *)(allocator, keys);
  FN(S_ReleaseModelMetadata, void, OrtObj *)(metadata);
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
 * thread, sequential execution; device < 0 is the CPU, k >= 0 the CUDA device k. Reads the
 * signature and the custom metadata. */
int hfc_ort_create(const void *bytes, int64_t nbytes, int threads, int device, hfc_ort_session **handle,
                   char *err, int errlen) {
  *handle = NULL;
  if (api == NULL && hfc_ort_open(NULL, err, errlen)) return 1;
  if (acquire_env(err, errlen)) return 1;
  hfc_ort_session *s = calloc(1, sizeof *s);
  OrtObj *options = NULL, *allocator = NULL;
  size_t count = 0;
  int rc = check(FN(S_CreateSessionOptions, OrtStatus *, OrtObj **)(&options), err, errlen, "session options");
  if (!rc) rc = check(FN(S_SetIntraOpNumThreads, OrtStatus *, OrtObj *, int)(options, threads), err, errlen, "threads");
  if (!rc) rc = check(FN(S_SetInterOpNumThreads, OrtStatus *, OrtObj *, int)(options, 1), err, errlen, "threads");
  if (!rc) rc = check(FN(S_SetSessionExecutionMode, OrtStatus *, OrtObj *, int)(options, ORT_SEQUENTIAL), err, errlen, "execution mode");
  if (!rc) rc = check(FN(S_SetSessionGraphOptimizationLevel, OrtStatus *, OrtObj *, int)(options, ORT_ENABLE_ALL),
                      err, errlen, "optimization level");
  if (!rc && device >= 0) rc = append_cuda(options, device, err, errlen);
  if (!rc)
    rc = check(FN(S_CreateSessionFromArray, OrtStatus *, const OrtObj *, const void *, size_t, const OrtObj *, OrtObj **)(
                   env, bytes, (size_t)nbytes, options, &s->session), err, errlen, "ONNX Runtime cannot load the model");
  if (options) FN(S_ReleaseSessionOptions, void, OrtObj *)(options);
  if (s->session == NULL) {   /* the environment is released with the last session only */
    release_env();
    free(s);
    return 1;
  }
  if (!rc) rc = check(FN(S_SessionGetInputCount, OrtStatus *, const OrtObj *, size_t *)(s->session, &count), err, errlen, "inputs");
  s->inputs = (int)count;
  if (!rc) rc = check(FN(S_SessionGetOutputCount, OrtStatus *, const OrtObj *, size_t *)(s->session, &count), err, errlen, "outputs");
  s->outputs = (int)count;
  if (!rc && (s->inputs < 1 || s->outputs < 1)) {
    set_error(err, errlen, "the model has no input or no output", NULL);
    rc = 1;
  }
  if (!rc) rc = check(FN(S_GetAllocatorWithDefaultOptions, OrtStatus *, OrtObj **)(&allocator), err, errlen, "allocator");
  if (!rc) s->args = calloc((size_t)(s->inputs + s->outputs), sizeof(hfc_ort_arg));
  for (int i = 0; !rc && i < s->inputs + s->outputs; ++i) {
    int output = i >= s->inputs;
    rc = read_argument(s, allocator, output, output ? i - s->inputs : i, &s->args[i], err, errlen);
  }
  if (!rc) rc = read_metadata(s, allocator, err, errlen);
  if (!rc) rc = check(FN(S_CreateCpuMemoryInfo, OrtStatus *, int, int, OrtObj **)(OrtDeviceAllocator, OrtMemTypeDefault, &s->memory),
                      err, errlen, "memory info");
  if (rc) {
    hfc_ort_free(s);
    return 1;
  }
  s->serial = ++sessions_made;
  *handle = s;
  return 0;
}

/* Numbers of inputs, outputs and custom metadata entries, and the session's serial number
 * (distinct for every session the process creates: a provider made for one load can tell
 * when its model object was freed and loaded again). */
void hfc_ort_counts(const hfc_ort_session *s, int *inputs, int *outputs, int *entries, int64_t *serial) {
  *inputs = s->inputs;
  *outputs = s->outputs;
  *entries = s->entries;
  *serial = s->serial;
}

/* Input (output = 0) or output (output = 1) `index` (0-based): name (truncated to namelen),
 * element type, rank and dims (at most HFC_ORT_MAX_RANK, -1 where symbolic). */
void hfc_ort_argument(const hfc_ort_session *s, int output, int index, char *name, int namelen, int *type,
                      int *rank, int64_t *dims) {
  const hfc_ort_arg *arg = &s->args[(output ? s->inputs : 0) + index];
  snprintf(name, (size_t)namelen, "%s", arg->name);
  *type = arg->type;
  *rank = arg->rank;
  memcpy(dims, arg->dims, sizeof(int64_t) * (size_t)arg->rank);
}

/* Metadata entry `index` (0-based): key and value, truncated to their buffers. */
void hfc_ort_metadata_entry(const hfc_ort_session *s, int index, char *key, int keylen, char *value, int valuelen) {
  snprintf(key, (size_t)keylen, "%s", s->keys[index]);
  snprintf(value, (size_t)valuelen, "%s", s->values[index]);
}

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

/* Run the model on caller-owned buffers: data[i] for argument i (inputs, then the first
 * `outputs` of its outputs, in the graph's order), of the argument's element type, with
 * shape shapes[i * MAX_RANK ..] (the argument's rank entries). ONNX Runtime reads and
 * writes the caller's memory; outputs not asked for are not copied out. */
int hfc_ort_run(hfc_ort_session *s, int outputs, void *const *data, const int64_t *shapes, char *err, int errlen) {
  enum { MAX_ARGS = 64 };
  OrtObj *values[MAX_ARGS] = {NULL};
  const char *names[MAX_ARGS];
  int total = s->inputs + outputs, rc = 0;
  typedef OrtStatus *(*create_fn)(const OrtObj *, void *, size_t, const int64_t *, size_t, int, OrtObj **);
  if (total > MAX_ARGS) {
    snprintf(err, (size_t)errlen, "the model has %d inputs and outputs (at most %d supported)", total, MAX_ARGS);
    return 1;
  }
  for (int i = 0; !rc && i < total; ++i) {
    const hfc_ort_arg *arg = &s->args[i];
    const int64_t *shape = shapes + (size_t)i * HFC_ORT_MAX_RANK;
    size_t count = 1, size = arg->type == HFC_ORT_DOUBLE ? sizeof(double) : sizeof(float);
    for (int d = 0; d < arg->rank; ++d) count *= (size_t)shape[d];
    names[i] = arg->name;
    rc = check(((create_fn)api[S_CreateTensorWithDataAsOrtValue])(s->memory, data[i], size * count, shape,
                   (size_t)arg->rank, arg->type, &values[i]), err, errlen, arg->name);
  }
  if (!rc) {
    double start = now();
    rc = check(FN(S_Run, OrtStatus *, OrtObj *, const OrtObj *, const char *const *, const OrtObj *const *, size_t,
                  const char *const *, size_t, OrtObj **)(s->session, NULL, names, (const OrtObj *const *)values,
                                                          (size_t)s->inputs, names + s->inputs, (size_t)outputs,
                                                          values + s->inputs), err, errlen, "model run");
    s->run_seconds += now() - start;
    s->runs += 1;
  }
  for (int i = 0; i < total; ++i)
    if (values[i]) FN(S_ReleaseValue, void, OrtObj *)(values[i]);
  return rc;
}
