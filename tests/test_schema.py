"""The one metadata schema of exported models (coupler.schema): written by the exporter,
read by both runtimes, and held equal to the Fortran record (hfc_model_meta.f90): the same
required keys, the same refusals, the same host checks."""
import onnx
import pytest

from coupler.errors import ConfigError
from coupler.host import HostConfig, metadata_keys, onnx_check
from coupler.learned import FortranLearnedFlux, LearnedFlux, RuntimeConfig
from coupler.schema import REQUIRED, ModelError, ModelMetadata

FORTRAN = RuntimeConfig(backend="fortran")


def test_fortran_requires_the_keys_python_requires():
    assert metadata_keys() == REQUIRED


def test_exported_metadata_round_trips(onnx32):
    props = {p.key: p.value for p in onnx.load(onnx32).metadata_props}
    meta = ModelMetadata.from_props(props)
    assert meta.to_props() == props
    assert (meta.equation, meta.halo, meta.inputs, meta.dtype) == ("burgers", 7, ("u",), "float32")
    assert meta.outputs == ("flux", "stencils")


def _edited(onnx32, folder, name, edit):
    proto = onnx.load(onnx32)
    props = {p.key: p.value for p in proto.metadata_props}
    edit(props)
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    path = folder / f"{name}.onnx"
    onnx.save(proto, path)
    return path


@pytest.mark.parametrize("key", REQUIRED)
def test_every_required_key_is_required_by_both_runtimes(onnx32, tmp_path, key):
    path = _edited(onnx32, tmp_path, f"no_{key}", lambda props: props.pop(key))
    with pytest.raises(ModelError, match=key):
        LearnedFlux(path)
    with pytest.raises(ModelError, match=key):
        FortranLearnedFlux(path, FORTRAN)


@pytest.mark.parametrize("key, value, python, fortran", [
    ("hfc_schema_version", "9", "schema version 9 is not supported", "schema version '9' is not supported"),
    ("halo", "-1", "out of range", "metadata halo '-1' is not a width >= 0"),
    ("dx", "wide", "dx = 'wide' is not a float", "metadata dx = 'wide' is not a finite number"),
    ("space_dimensions", "0", "out of range", "space_dimensions '0' is not a positive integer"),
    ("halo", "7 cells", "halo = '7 cells' is not a int", "metadata halo '7 cells' is not a width >= 0"),
    ("dx", "0.1 m", "dx = '0.1 m' is not a float", "metadata dx = '0.1 m' is not a finite number"),
    ("viscosity", "nan", "viscosity = nan is not finite", "metadata viscosity = 'nan' is not a finite number"),
])
def test_bad_values_are_refused_by_both_runtimes(onnx32, tmp_path, key, value, python, fortran):
    path = _edited(onnx32, tmp_path, key, lambda props: props.__setitem__(key, value))
    with pytest.raises(ModelError, match=python):
        LearnedFlux(path)
    with pytest.raises(ModelError, match=fortran):
        FortranLearnedFlux(path, FORTRAN)


@pytest.mark.parametrize("host, message", [
    (HostConfig("burgers", 32), "metadata dx"),
    (HostConfig("burgers", 64, viscosity=0.02), "metadata viscosity"),
    (HostConfig("advection", 64), "metadata equation = burgers"),
])
def test_standalone_check_refuses_what_the_python_check_refuses(onnx32, host, message):
    """'Is this model valid for my grid?' without building a provider: the Fortran check
    (hfc_model_check) and the Python one refuse the same hosts, naming the field."""
    native = FortranLearnedFlux(onnx32, FORTRAN)
    with pytest.raises(ConfigError, match=message):
        onnx_check(native.id, host)
    with pytest.raises(ConfigError, match=message):
        native.check_host(host)
    onnx_check(native.id, HostConfig("burgers", 64))           # the model's own grid passes both
    native.check_host(HostConfig("burgers", 64))


@pytest.mark.parametrize("declared, method, cfl, message", [
    ({}, "ssprk3", 0.9, None),                       # a time-derivative model: any explicit method ...
    ({}, "euler", 0.5, None),
    ({}, "ssprk3", 1.5, "up to 1"),                  # ... up to the classical Courant number
    ({}, "ssprk3", None, None),                      # a fixed dt is the user's to choose
    ({"time_stepping": "euler", "courant": "0.5"}, "euler", 0.5, None),
    ({"time_stepping": "euler", "courant": "0.5"}, "euler", 0.3, None),
    ({"time_stepping": "euler", "courant": "0.5"}, "ssprk3", 0.5, "euler"),
    ({"time_stepping": "euler", "courant": "0.5"}, "euler", 0.6, "0.5"),
    ({"time_stepping": "ssprk3", "courant": "4.0"}, "ssprk3", 4.0, None),   # a long-step model, beyond 1
])
def test_both_runtimes_refuse_a_time_stepping_the_model_was_not_trained_for(onnx32, tmp_path, declared, method, cfl,
                                                                             message):
    """Models trained through a host method at a Courant number (hfc train --integrator
    --courant) declare both; Python (ModelMetadata.check_time) and Fortran
    (hfc_meta_check_time) refuse another method or a larger Courant number alike."""
    from coupler.host import TimeConfig

    path = _edited(onnx32, tmp_path, "stepping", lambda props: props.update(declared))
    time = TimeConfig(cfl=cfl or 0.5, dt=0.01 if cfl is None else None, method=method)
    for runtime in (LearnedFlux(path), FortranLearnedFlux(path, FORTRAN)):
        if message is None:
            runtime.check_host(HostConfig("burgers", 64), time)
        else:
            with pytest.raises(ConfigError, match=message):
                runtime.check_host(HostConfig("burgers", 64), time)
    if message is not None:          # the Fortran rule on its own, too
        from coupler.host import onnx_check_time

        native = FortranLearnedFlux(path, FORTRAN)
        with pytest.raises(ConfigError, match="time_stepping|courant"):
            onnx_check_time(native.id, time)
        native.close()


def test_a_full_model_registry_refuses_in_one_line(onnx32):
    """Loading more models than the registry holds (64) is a clear error, not a crash (it
    once wrote past the registry), and freeing one makes room again."""
    from coupler.errors import HfcError

    loaded = []
    with pytest.raises(HfcError, match="too many models loaded at once"):
        for _ in range(100):
            loaded.append(FortranLearnedFlux(onnx32, FORTRAN))
    assert 0 < len(loaded) <= 64          # 64 slots, less any other test's model not yet collected
    loaded.pop().close()
    loaded.append(FortranLearnedFlux(onnx32, FORTRAN))
    for model in loaded:
        model.close()


def test_a_damaged_courant_is_refused_by_name(onnx32, tmp_path):
    """Python refuses it when checking the time stepping, Fortran already when loading."""
    from coupler.host import TimeConfig

    path = _edited(onnx32, tmp_path, "courant", lambda props: props.update(courant="fast"))
    with pytest.raises(ModelError, match="metadata courant"):
        LearnedFlux(path).check_host(HostConfig("burgers", 64), TimeConfig())
    for bad in ("inf", "0"):
        with pytest.raises(ModelError, match="metadata courant"):
            LearnedFlux(_edited(onnx32, tmp_path, "courant-" + bad, lambda props: props.update(courant=bad)))
    with pytest.raises(ModelError, match="metadata courant"):
        FortranLearnedFlux(path, FORTRAN)
