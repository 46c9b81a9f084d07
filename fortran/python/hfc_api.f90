!> The Fortran entry points wrapped for Python by f90wrap. Stateless: every call builds
!> its model from the arguments, so a run continued from a returned state is bit for bit
!> the run that never stopped. Arrays are assumed-shape and checked here.
module hfc_api
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERRMSG_LEN, hfc_set_error
  use hfc_grid, only: hfc_grid_t, hfc_grid_init, hfc_fill_halo
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_forcing, only: hfc_forcing_params_t
  use hfc_provider, only: hfc_flux_provider
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_python_provider, only: hfc_python_flux
  use hfc_model, only: hfc_model_t, hfc_time_config_t, hfc_model_init, hfc_model_set_state, &
                       hfc_model_advance
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

  !> Advance u (interior cells) from t to exactly t_end; on failure u is left unchanged. scheme is a classical scheme name, or
  !> 'python' for the Python callback provider with halo width `halo`. Forcing: modes as
  !> arrays (empty for none). Time control: dt > 0 fixed, else CFL number cfl.
  subroutine api_run(equation, scheme, halo, length, viscosity, velocity, &
                     amplitude, omega, phase, wavenumber, cfl, dt, max_steps, &
                     u, t, t_end, nsteps, stat, errmsg)
    character(len=*), intent(in) :: equation, scheme
    integer, intent(in) :: halo
    real(wp), intent(in) :: length, viscosity, velocity
    real(wp), intent(in) :: amplitude(:), omega(:), phase(:)
    integer, intent(in) :: wavenumber(:)
    real(wp), intent(in) :: cfl, dt
    integer(int64), intent(in) :: max_steps
    real(wp), intent(inout) :: u(:)
    real(wp), intent(in) :: t
    real(wp), intent(in) :: t_end
    integer(int64), intent(out) :: nsteps
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: classical
    type(hfc_python_flux) :: python
    type(hfc_forcing_params_t) :: forcing
    type(hfc_time_config_t) :: time
    type(hfc_model_t) :: m

    errmsg = ''
    nsteps = 0
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
      call hfc_model_init(m, size(u), length, eq, python, forcing, time, stat, errmsg)
    else
      call hfc_classical_init(classical, eq, scheme, stat, errmsg)
      if (stat /= HFC_OK) return
      call hfc_model_init(m, size(u), length, eq, classical, forcing, time, stat, errmsg)
    end if
    if (stat /= HFC_OK) return
    call hfc_model_set_state(m, u, t, stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_model_advance(m, t_end, stat, errmsg)
    nsteps = m%nsteps
    if (stat /= HFC_OK) return
    u = m%u(1:size(u))
  end subroutine api_run

end module hfc_api
