!> The Fortran entry points wrapped for Python by f90wrap. Every run builds its host model
!> from the arguments, so a run continued from a returned state is bit for bit the run that
!> never stopped; the only state kept between calls is the ONNX models loaded for the
!> Fortran-native path, by id (hfc_model_registry). Arrays are assumed-shape and checked here.
module hfc_api
  use, intrinsic :: iso_fortran_env, only: int8, int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERRMSG_LEN, hfc_set_error
  use hfc_grid, only: hfc_grid_t, hfc_grid_init, hfc_grid_init_parallel, hfc_fill_halo
  use hfc_parallel, only: HFC_NO_COMM, hfc_decompose
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_forcing, only: hfc_forcing_params_t
  use hfc_provider, only: hfc_flux_provider
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_python_provider, only: hfc_python_flux
  use hfc_onnx, only: hfc_onnx_config_t, hfc_onnx_load_bytes, hfc_onnx_free, hfc_onnx_metadata, &
                      hfc_onnx_face_fluxes, hfc_onnx_runtime_info, hfc_onnx_open_runtime, hfc_onnx_timers
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init
  use hfc_model_registry, only: registry, registry_free_slot, registry_valid, registry_check
  use hfc_model, only: hfc_model_t, hfc_time_config_t, hfc_guard_config_t, hfc_model_init, &
                       hfc_model_set_state, hfc_model_advance
  implicit none

contains

  !> Face fluxes of a classical scheme for a batch of halo-padded states:
  !> u(n + 2g, nbatch) -> flux(n + 1, nbatch); g is the scheme's halo width (halo_width()).
  subroutine api_face_fluxes(equation, scheme, length, viscosity, velocity, u, flux, stat, errmsg)
    character(len=*), intent(in) :: equation, scheme
    real(wp), intent(in) :: length, viscosity, velocity
    real(wp), intent(in) :: u(:, :)
    real(wp), intent(inout) :: flux(:, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: p
    type(hfc_grid_t) :: grid
    integer :: b, n, g

    errmsg = ''
    call hfc_equation_init(eq, equation, viscosity, velocity, stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_classical_init(p, eq, scheme, stat, errmsg)
    if (stat /= HFC_OK) return
    g = p%halo_width()
    n = size(u, 1) - 2 * g
    if (size(flux, 1) /= n + 1 .or. size(flux, 2) /= size(u, 2)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'face_fluxes: flux must have shape (n + 1, nbatch)')
      return
    end if
    call hfc_grid_init(grid, n, g, length, stat, errmsg)
    if (stat /= HFC_OK) return
    do b = 1, size(u, 2)
      call p%face_fluxes(grid, u(:, b), 0.0_wp, flux(:, b), stat, errmsg)
      if (stat /= HFC_OK) return
    end do
  end subroutine api_face_fluxes

  !> Halo width of a classical scheme.
  subroutine api_halo_width(scheme, g, stat, errmsg)
    character(len=*), intent(in) :: scheme
    integer, intent(out) :: g
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: p
    errmsg = ''
    g = 0
    call hfc_classical_init(p, eq, scheme, stat, errmsg)
    if (stat == HFC_OK) g = p%halo_width()
  end subroutine api_halo_width

  !> Load an ONNX model for the Fortran-native path from its bytes (read and checked by the
  !> caller); returns its id (> 0) and halo width. library: the ONNX Runtime library ('' for
  !> the default); device -1 is the CPU, k >= 0 the CUDA device k.
  subroutine api_onnx_load(bytes, library, threads, device, id, halo, stat, errmsg)
    integer(int8), intent(in) :: bytes(:)
    character(len=*), intent(in) :: library
    integer, intent(in) :: threads, device
    integer, intent(out) :: id, halo
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_onnx_config_t) :: config

    errmsg = ''
    halo = -1
    id = registry_free_slot()
    if (id == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: too many models loaded at once; free some first')
      return
    end if
    config%threads = threads
    config%device = device
    config%library = library
    call hfc_onnx_load_bytes(registry(id), bytes, config, stat, errmsg)
    if (stat /= HFC_OK) then
      id = 0
      return
    end if
    halo = registry(id)%halo
  end subroutine api_onnx_load

  subroutine api_onnx_free(id)
    integer, intent(in) :: id
    if (registry_valid(id)) call hfc_onnx_free(registry(id))
  end subroutine api_onnx_free

  !> A metadata value of a loaded model.
  subroutine api_onnx_metadata(id, key, value, stat, errmsg)
    integer, intent(in) :: id
    character(len=*), intent(in) :: key
    character(len=1024), intent(out) :: value
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    errmsg = ''
    value = ''
    if (.not. registry_check(id, stat, errmsg)) return
    call hfc_onnx_metadata(registry(id), key, value, stat, errmsg)
  end subroutine api_onnx_metadata

  !> Face fluxes flux(n + 1, nbatch) of a loaded model from u(n + 2g, nbatch).
  subroutine api_onnx_face_fluxes(id, u, flux, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: u(:, :)
    real(wp), intent(inout) :: flux(:, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    errmsg = ''
    if (.not. registry_check(id, stat, errmsg)) return
    call hfc_onnx_face_fluxes(registry(id), u, flux, stat, errmsg)
  end subroutine api_onnx_face_fluxes

  !> Benchmark of the Fortran-native provider: `reps` calls of the learned provider's
  !> face_fluxes on the halo-filled states u(n + 2g, nbatch) (each column one call when
  !> nbatch = 1; the whole batch per call otherwise). Returns the wall seconds of all calls
  !> and the seconds spent inside ONNX Runtime's Run.
  subroutine api_onnx_bench(id, u, reps, seconds, run_seconds, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: u(:, :)
    integer, intent(in) :: reps
    real(wp), intent(out) :: seconds, run_seconds
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_learned_flux) :: p
    type(hfc_grid_t) :: grid
    real(wp), allocatable :: flux(:, :)
    integer(int64) :: start, finish, rate, runs
    integer :: i, n, g

    errmsg = ''
    seconds = 0.0_wp
    run_seconds = 0.0_wp
    if (.not. registry_check(id, stat, errmsg)) return
    p%model => registry(id)
    g = p%halo_width()
    n = size(u, 1) - 2 * g
    call hfc_grid_init(grid, n, g, real(n, wp), stat, errmsg)
    if (stat /= HFC_OK) return
    allocate(flux(n + 1, size(u, 2)))
    call hfc_onnx_timers(registry(id), run_seconds, runs, .true.)
    call system_clock(start, rate)
    do i = 1, reps
      if (size(u, 2) == 1) then
        call p%face_fluxes(grid, u(:, 1), 0.0_wp, flux(:, 1), stat, errmsg)
      else
        call hfc_onnx_face_fluxes(registry(id), u, flux, stat, errmsg)
      end if
      if (stat /= HFC_OK) return
    end do
    call system_clock(finish)
    seconds = real(finish - start, wp) / real(rate, wp)
    call hfc_onnx_timers(registry(id), run_seconds, runs, .true.)
  end subroutine api_onnx_bench

  !> Open ONNX Runtime (library '' for the default) and say where it is and its version.
  subroutine api_onnx_runtime(library, path, version, stat, errmsg)
    character(len=*), intent(in) :: library
    character(len=1024), intent(out) :: path
    character(len=64), intent(out) :: version
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    errmsg = ''
    call hfc_onnx_open_runtime(library, stat, errmsg)
    call hfc_onnx_runtime_info(path, version)
  end subroutine api_onnx_runtime

  !> This rank's block of n_global cells over the communicator comm (-1: serial): its
  !> number of cells and the global index of its first cell minus one.
  subroutine api_decompose(comm, n_global, g, n, offset, stat, errmsg)
    integer, intent(in) :: comm, n_global, g
    integer, intent(out) :: n, offset
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    errmsg = ''
    if (comm == HFC_NO_COMM) then
      n = n_global
      offset = 0
      stat = HFC_OK
      return
    end if
    call hfc_decompose(comm, n_global, g, n, offset, stat, errmsg)
  end subroutine api_decompose

  !> Fill the halos of this rank's block u(n + 2g) of a periodic grid of n_global cells
  !> (collective over comm): the library's halo exchange, for tests.
  subroutine api_fill_halo(comm, n_global, g, u, stat, errmsg)
    integer, intent(in) :: comm, n_global, g
    real(wp), intent(inout) :: u(:)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: grid
    errmsg = ''
    call hfc_grid_init_parallel(grid, n_global, g, 1.0_wp, comm, stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_fill_halo(grid, u, stat, errmsg)
  end subroutine api_fill_halo

  !> Advance u (interior cells) from t to exactly t_end; on failure u is left unchanged.
  !> Under MPI (comm /= -1) u is this rank's block of a grid of n_global cells (see
  !> api_decompose) and the call is collective; serially n_global is size(u).
  !> scheme is a classical scheme name, 'python' for the Python callback provider with halo
  !> width `halo`, or 'learned' for the loaded ONNX model `model` run from Fortran. Forcing:
  !> modes as arrays (empty for none). Time control: dt > 0 fixed, else CFL number cfl.
  !> on_nonfinite: 1 abort, 2 WENO5 fallback at non-finite faces (counted in fallback_faces).
  subroutine api_run(equation, scheme, halo, model, comm, n_global, length, viscosity, velocity, &
                     amplitude, omega, phase, wavenumber, cfl, dt, max_steps, on_nonfinite, &
                     u, t, t_end, nsteps, fallback_faces, halo_seconds, stat, errmsg)
    character(len=*), intent(in) :: equation, scheme
    integer, intent(in) :: halo, model, comm, n_global
    real(wp), intent(in) :: length, viscosity, velocity
    real(wp), intent(in) :: amplitude(:), omega(:), phase(:)
    integer, intent(in) :: wavenumber(:)
    real(wp), intent(in) :: cfl, dt
    integer(int64), intent(in) :: max_steps
    integer, intent(in) :: on_nonfinite
    real(wp), intent(inout) :: u(:)
    real(wp), intent(in) :: t
    real(wp), intent(in) :: t_end
    integer(int64), intent(out) :: nsteps, fallback_faces
    real(wp), intent(out) :: halo_seconds
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: classical
    type(hfc_python_flux) :: python
    type(hfc_learned_flux) :: learned
    type(hfc_forcing_params_t) :: forcing
    type(hfc_time_config_t) :: time
    type(hfc_guard_config_t) :: guard
    type(hfc_model_t) :: m
    integer :: n

    errmsg = ''
    nsteps = 0
    n = merge(size(u), n_global, comm == HFC_NO_COMM)
    fallback_faces = 0
    guard%on_nonfinite = on_nonfinite
    call hfc_equation_init(eq, equation, viscosity, velocity, stat, errmsg)
    if (stat /= HFC_OK) return
    forcing%amplitude = amplitude
    forcing%omega = omega
    forcing%phase = phase
    forcing%wavenumber = wavenumber
    time%cfl = cfl
    time%dt = dt
    if (max_steps > 0) time%max_steps = max_steps
    if (trim(scheme) == 'python') then
      if (halo < 0) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'run: the python provider needs a halo width >= 0')
        return
      end if
      python%g = halo
      call hfc_model_init(m, n, length, eq, python, forcing, time, stat, errmsg, guard, comm)
    else if (trim(scheme) == 'learned') then
      if (.not. registry_check(model, stat, errmsg)) return
      call hfc_learned_init(learned, registry(model), eq, n, length, stat, errmsg)
      if (stat /= HFC_OK) return
      call hfc_model_init(m, n, length, eq, learned, forcing, time, stat, errmsg, guard, comm)
    else
      call hfc_classical_init(classical, eq, scheme, stat, errmsg)
      if (stat /= HFC_OK) return
      call hfc_model_init(m, n, length, eq, classical, forcing, time, stat, errmsg, guard, comm)
    end if
    if (stat /= HFC_OK) return
    call hfc_model_set_state(m, u, t, stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_model_advance(m, t_end, stat, errmsg)
    nsteps = m%nsteps
    fallback_faces = m%fallback_faces
    halo_seconds = m%halo_seconds
    if (stat /= HFC_OK) return
    u = m%u(1:size(u))
  end subroutine api_run

end module hfc_api
