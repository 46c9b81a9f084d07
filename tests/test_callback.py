"""The Python-callback flux provider: the Fortran time loop calls a Python function for
the face fluxes at every Runge-Kutta stage."""
import numpy as np
import pytest

from coupler.errors import NonFiniteStateError, ProviderError
from coupler.host import Host, HostConfig, PythonFlux, TimeConfig, face_fluxes
from training import fluxes as ref
from coupler.problems.forcing import random_forcing

CONFIG = HostConfig("burgers", 64)
TIME = TimeConfig(cfl=0.4)


def initial_state():
    x = CONFIG.cell_centres()
    return 0.5 + np.sin(x) + 0.25 * np.cos(2 * x + 1)


def test_callback_with_builtin_flux_reproduces_builtin_trajectory_bitwise():
    """A callback returning the built-in WENO5 flux (computed by the same Fortran code)
    gives the same bits as the built-in provider: the loop, halo, CFL steps and forcing
    are shared, only the route of the fluxes differs."""
    forcing = random_forcing(2)
    builtin = Host(CONFIG, "weno5", forcing, TIME)
    callback = Host(CONFIG, PythonFlux(lambda u, t: face_fluxes(CONFIG, "weno5", u), halo=3), forcing, TIME)
    u0 = initial_state()
    for t0, t1 in [(0.0, 0.5), (0.5, 2.0)]:
        a, steps_a = builtin.advance(u0, t0, t1)
        b, steps_b = callback.advance(u0, t0, t1)
        assert steps_a == steps_b > 5
        np.testing.assert_array_equal(a, b)
        u0 = a


def test_callback_with_numpy_reference_agrees_to_roundoff():
    """An independent NumPy WENO5 through the callback stays within 1e-11 of the built-in
    run over 2 time units (the fluxes differ by ulps; Burgers does not amplify that much
    before shocks form)."""
    forcing = random_forcing(2)
    numpy_flux = PythonFlux(lambda u, t: ref.face_fluxes(u, "burgers", "weno5", CONFIG.dx, CONFIG.viscosity), 3)
    a, _ = Host(CONFIG, "weno5", forcing, TIME).advance(initial_state(), 0.0, 2.0)
    b, _ = Host(CONFIG, numpy_flux, forcing, TIME).advance(initial_state(), 0.0, 2.0)
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-11)


def test_callback_sees_halo_filled_state_and_time():
    seen = []

    def flux(u, t):
        seen.append((u.copy(), t))
        return np.zeros(CONFIG.n + 1)

    u0 = initial_state()
    Host(CONFIG, PythonFlux(flux, halo=2), time=TimeConfig(dt=0.1)).advance(u0, 1.0, 1.1)
    assert [t for _, t in seen] == pytest.approx([1.0, 1.1, 1.05])       # SSP-RK3 stage times
    u, _ = seen[0]
    assert u.shape == (CONFIG.n + 4,)
    np.testing.assert_array_equal(u[2:-2], u0)
    np.testing.assert_array_equal(u[:2], u0[-2:])
    np.testing.assert_array_equal(u[-2:], u0[:2])


def test_known_constant_flux_leaves_state_unchanged():
    u0 = initial_state()
    u, steps = Host(CONFIG, PythonFlux(lambda u, t: np.full(CONFIG.n + 1, 3.0), 1),
                    time=TimeConfig(dt=0.05)).advance(u0, 0.0, 1.0)
    assert steps == 20
    # divergence-free flux: only the rounding of the RK convex combinations remains
    np.testing.assert_allclose(u, u0, rtol=8 * np.finfo(float).eps, atol=0)


def test_exception_in_callback_becomes_provider_error():
    def broken(u, t):
        raise KeyError("no such model")

    with pytest.raises(ProviderError, match="no such model") as info:
        Host(CONFIG, PythonFlux(broken, 3), time=TIME).advance(initial_state(), 0.0, 1.0)
    assert isinstance(info.value.__cause__, KeyError)


def test_nonfinite_callback_flux_is_detected():
    def nan_flux(u, t):
        f = np.zeros(CONFIG.n + 1)
        f[5] = np.nan
        return f

    with pytest.raises(NonFiniteStateError, match="non-finite"):
        Host(CONFIG, PythonFlux(nan_flux, 3), time=TIME).advance(initial_state(), 0.0, 1.0)


def test_wrong_flux_shape_is_a_provider_error():
    with pytest.raises(ProviderError):
        Host(CONFIG, PythonFlux(lambda u, t: np.zeros(7), 3), time=TIME).advance(initial_state(), 0.0, 1.0)


def test_an_exception_escaping_the_callable_is_kept_not_lost():
    """A signal's exception can be raised by Python's handler before the adapter's own try
    block; the C hook keeps it for the host to re-raise (as the signal, not a failure)."""
    import ctypes

    from coupler import host as host_module
    from coupler.errors import Terminated

    def interrupted(*args):
        raise Terminated(15)

    call = ctypes.PyDLL(host_module._ext.__file__).hfc_python_flux_call
    pointer = ctypes.POINTER(ctypes.c_double)
    call.argtypes = [ctypes.c_int, pointer, ctypes.c_double, ctypes.c_double, ctypes.c_int, pointer, ctypes.c_int,
                     pointer, ctypes.c_int, pointer]
    call.restype = ctypes.c_int
    u, flux = np.zeros(4), np.zeros(5)
    previous = host_module._set_python_flux(interrupted)
    try:
        status = call(4, u.ctypes.data_as(pointer), 0.0, 0.1, 5, flux.ctypes.data_as(pointer), 0,
                      u.ctypes.data_as(pointer), 0, u.ctypes.data_as(pointer))
    finally:
        host_module._set_python_flux(previous)
    assert status == 1
    escaped = host_module._take_python_flux_error()
    assert isinstance(escaped, Terminated)
    assert escaped.__traceback__ is not None and escaped.__traceback__.tb_frame.f_code.co_name == "interrupted"
    assert host_module._take_python_flux_error() is None          # taken once
