/* The Fortran -> Python call of the Python-callback flux provider (hfc_python_provider.f90).
 *
 * Python registers one callable with hfc_set_python_flux (through ctypes.PyDLL, so the GIL
 * is held); the Fortran provider calls hfc_python_flux_call at every stage, which hands the
 * callable zero-copy memoryviews of the halo-filled state (read-only), of the flux array
 * it must fill (writable) and of the auxiliary fields (read-only, na fields of nu values
 * one after the other), and the stage time and step. Every reference taken here is released here:
 * nothing accumulates per call (f2py's own callback mechanism kept its argument tuple,
 * about 400 bytes per call). The callable returns 0 on success; anything else, or an
 * exception it did not catch, is a failure (status 1; the exception is cleared).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define HFC_EXPORT __attribute__((visibility("default")))

static PyObject *callback = NULL;   /* the registered callable (a reference held), or NULL */

/* Register `function` (None to clear); returns the previous one (a new reference, or None). */
HFC_EXPORT PyObject *hfc_set_python_flux(PyObject *function) {
  PyObject *previous = callback ? callback : Py_None;
  if (!callback) Py_INCREF(Py_None);
  callback = (function == Py_None) ? NULL : function;
  Py_XINCREF(callback);
  return previous;
}

/* Called from Fortran: function(u_view, t, dt, flux_view, aux_view) -> int status. */
HFC_EXPORT int hfc_python_flux_call(int nu, const double *u, double t, double dt, int nf, double *flux, int na,
                                    const double *aux) {
  if (callback == NULL) return 1;
  PyGILState_STATE gil = PyGILState_Ensure();
  int status = 1;
  PyObject *u_view = PyMemoryView_FromMemory((char *)u, (Py_ssize_t)nu * (Py_ssize_t)sizeof(double), PyBUF_READ);
  PyObject *flux_view = PyMemoryView_FromMemory((char *)flux, (Py_ssize_t)nf * (Py_ssize_t)sizeof(double),
                                                PyBUF_WRITE);
  PyObject *aux_view = PyMemoryView_FromMemory((char *)aux, (Py_ssize_t)na * (Py_ssize_t)nu *
                                               (Py_ssize_t)sizeof(double), PyBUF_READ);
  if (u_view && flux_view && aux_view) {
    PyObject *result = PyObject_CallFunction(callback, "OddOO", u_view, t, dt, flux_view, aux_view);
    if (result) {
      long value = PyLong_AsLong(result);
      status = (value == -1 && PyErr_Occurred()) ? 1 : (int)value;
      Py_DECREF(result);
    }
  }
  if (PyErr_Occurred()) PyErr_Clear();
  Py_XDECREF(u_view);
  Py_XDECREF(flux_view);
  Py_XDECREF(aux_view);
  PyGILState_Release(gil);
  return status;
}
