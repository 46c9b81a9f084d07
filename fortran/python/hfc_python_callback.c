/* The Fortran -> Python call of the Python-callback flux provider (hfc_python_provider.f90).
 *
 * Python registers one callable with hfc_set_python_flux (through ctypes.PyDLL, so the GIL
 * is held); the Fortran provider calls hfc_python_flux_call at every stage, which hands the
 * callable zero-copy memoryviews of the halo-filled state (read-only), of the flux array
 * it must fill (writable) and of the auxiliary fields (read-only, na fields of nu values
 * one after the other), and the stage time and step. Every reference taken here is released here:
 * nothing accumulates per call (f2py's own callback mechanism kept its argument tuple,
 * about 400 bytes per call). The callable returns 0 on success; anything else, or an
 * exception it did not catch, is a failure (status 1). Such an exception (a signal's, raised
 * by Python's handler before the callable's own try block) is kept, not lost: Python takes
 * it back with hfc_take_python_flux_error once Fortran has returned.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define HFC_EXPORT __attribute__((visibility("default")))

static PyObject *callback = NULL;   /* the registered callable (a reference held), or NULL */
static PyObject *escaped = NULL;    /* the last exception the callable let out (a reference), or NULL */

/* The exception the callable last let out (a new reference), or None; forgets it. */
HFC_EXPORT PyObject *hfc_take_python_flux_error(void) {
  PyObject *error = escaped ? escaped : Py_None;
  if (!escaped) Py_INCREF(Py_None);
  escaped = NULL;
  return error;
}

/* Register `function` (None to clear); returns the previous one (a new reference, or None). */
HFC_EXPORT PyObject *hfc_set_python_flux(PyObject *function) {
  PyObject *previous = callback ? callback : Py_None;
  if (!callback) Py_INCREF(Py_None);
  callback = (function == Py_None) ? NULL : function;
  Py_XINCREF(callback);
  return previous;
}

/* Called from Fortran: function(u_view, t, dt, flux_view, aux_view, range_view) -> int status;
 * range_view holds nr numbers about the whole domain (the state's minimum and maximum, or none). */
HFC_EXPORT int hfc_python_flux_call(int nu, const double *u, double t, double dt, int nf, double *flux, int na,
                                    const double *aux, int nr, const double *range) {
  if (callback == NULL) return 1;
  PyGILState_STATE gil = PyGILState_Ensure();
  int status = 1;
  PyObject *u_view = PyMemoryView_FromMemory((char *)u, (Py_ssize_t)nu * (Py_ssize_t)sizeof(double), PyBUF_READ);
  PyObject *flux_view = PyMemoryView_FromMemory((char *)flux, (Py_ssize_t)nf * (Py_ssize_t)sizeof(double),
                                                PyBUF_WRITE);
  PyObject *aux_view = PyMemoryView_FromMemory((char *)aux, (Py_ssize_t)na * (Py_ssize_t)nu *
                                               (Py_ssize_t)sizeof(double), PyBUF_READ);
  PyObject *range_view = PyMemoryView_FromMemory((char *)range, (Py_ssize_t)nr * (Py_ssize_t)sizeof(double),
                                                 PyBUF_READ);
  if (u_view && flux_view && aux_view && range_view) {
    PyObject *result = PyObject_CallFunction(callback, "OddOOO", u_view, t, dt, flux_view, aux_view, range_view);
    if (result) {
      long value = PyLong_AsLong(result);
      status = (value == -1 && PyErr_Occurred()) ? 1 : (int)value;
      Py_DECREF(result);
    }
  }
  if (PyErr_Occurred()) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value && traceback) PyException_SetTraceback(value, traceback);   /* re-raised with its frames */
    Py_XDECREF(escaped);
    escaped = value;            /* the reference Fetch gave */
    Py_XDECREF(type);
    Py_XDECREF(traceback);
  }
  Py_XDECREF(u_view);
  Py_XDECREF(flux_view);
  Py_XDECREF(aux_view);
  Py_XDECREF(range_view);
  PyGILState_Release(gil);
  return status;
}
