!> The host model: grid, equation, forcing and a flux provider advanced in time with the
!> three-stage SSP Runge-Kutta method of Shu & Osher (1988), fixed step or CFL-limited,
!> landing exactly on the requested end time.
module hfc_model
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error
  use hfc_grid, only: hfc_grid_t, hfc_grid_init_parallel, hfc_fill_halo
  use hfc_parallel, only: HFC_NO_COMM, hfc_agree, hfc_global_max, hfc_wtime
  use hfc_equation, only: hfc_equation_t, hfc_stable_dt_for_speed, hfc_max_wave_speed
  use hfc_forcing, only: hfc_forcing_t, hfc_forcing_params_t, hfc_forcing_init, hfc_forcing_eval
  use hfc_provider, only: hfc_flux_provider
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  implicit none
  private

  integer, parameter, public :: HFC_ON_NONFINITE_ABORT = 1      !< fail with HFC_ERR_NONFINITE
  integer, parameter, public :: HFC_ON_NONFINITE_FALLBACK = 2   !< WENO5 at the affected faces

  !> What to do when a provider returns non-finite fluxes. A non-finite state always fails:
  !> no flux can repair it, and nothing is written from it.
  type, public :: hfc_guard_config_t
    integer :: on_nonfinite = HFC_ON_NONFINITE_ABORT
  end type hfc_guard_config_t

  !> Time-step control: a fixed step dt > 0, or else the CFL-limited step (Courant number cfl).
  type, public :: hfc_time_config_t
    real(wp) :: cfl = 0.5_wp
    real(wp) :: dt = 0.0_wp
    integer(int64) :: max_steps = huge(1_int64)   !< refuse to take more steps per advance
  end type hfc_time_config_t

  type, public :: hfc_model_t
    type(hfc_grid_t) :: grid
    type(hfc_equation_t) :: eq
    type(hfc_forcing_t) :: forcing
    type(hfc_time_config_t) :: time
    class(hfc_flux_provider), allocatable :: provider
    type(hfc_guard_config_t) :: guard
    type(hfc_classical_flux) :: fallback   !< WENO5, for guard fallback
    integer(int64) :: fallback_faces = 0   !< faces whose flux came from the fallback
    real(wp) :: halo_seconds = 0.0_wp      !< wall time in halo fills (the MPI exchange when decomposed)
    real(wp), allocatable :: u(:)        !< state u(1-g:n+g); interior 1..n
    real(wp) :: t = 0.0_wp
    integer(int64) :: nsteps = 0         !< steps taken since init
    real(wp), allocatable :: u1(:), u2(:), dudt(:), flux(:), src(:), flux_fallback(:)
  end type hfc_model_t

  public :: hfc_model_init, hfc_model_set_state, hfc_model_rhs, hfc_model_step, hfc_model_advance

contains

  !> Set up a model of n cells on [0, length). The halo width is the provider's. The guard
  !> (optional, default abort) says what to do with non-finite fluxes. With an MPI
  !> communicator `comm`, n is the global number of cells and this rank gets its block
  !> (m%grid%n cells); every routine of the model is then collective over comm.
  subroutine hfc_model_init(m, n, length, eq, provider, forcing, time, stat, errmsg, guard, comm)
    type(hfc_model_t), intent(out) :: m
    integer, intent(in) :: n
    real(wp), intent(in) :: length
    type(hfc_equation_t), intent(in) :: eq
    class(hfc_flux_provider), intent(in) :: provider
    type(hfc_forcing_params_t), intent(in) :: forcing
    type(hfc_time_config_t), intent(in) :: time
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_guard_config_t), intent(in), optional :: guard
    integer, intent(in), optional :: comm
    integer :: g, nl, communicator

    communicator = HFC_NO_COMM
    if (present(comm)) communicator = comm
    g = provider%halo_width()
    call hfc_grid_init_parallel(m%grid, n, g, length, communicator, stat, errmsg)
    if (stat /= HFC_OK) return
    nl = m%grid%n
    if (.not. (time%dt > 0.0_wp) .and. .not. (time%cfl > 0.0_wp .and. time%cfl <= 10.0_wp)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: need a fixed dt > 0 or a CFL number in (0, 10]')
      return
    end if
    call hfc_forcing_init(m%forcing, m%grid, forcing, stat, errmsg)
    if (stat /= HFC_OK) return
    m%eq = eq
    m%time = time
    if (present(guard)) m%guard = guard
    if (m%guard%on_nonfinite == HFC_ON_NONFINITE_FALLBACK) then
      call hfc_classical_init(m%fallback, eq, 'weno5', stat, errmsg)
      if (stat /= HFC_OK) return
      if (g < m%fallback%halo_width()) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'guard: the WENO5 fallback needs a provider halo of at least 3')
        return
      end if
      allocate(m%flux_fallback(nl + 1))
    else if (m%guard%on_nonfinite /= HFC_ON_NONFINITE_ABORT) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'guard: unknown policy for non-finite fluxes')
      return
    end if
    allocate(m%provider, source=provider)
    allocate(m%u(1 - g:nl + g), m%u1(1 - g:nl + g), m%u2(1 - g:nl + g))
    allocate(m%dudt(nl), m%flux(nl + 1), m%src(nl))
    m%u = 0.0_wp
    m%u1 = 0.0_wp
    m%u2 = 0.0_wp
  end subroutine hfc_model_init

  subroutine hfc_model_set_state(m, u, t, stat, errmsg)
    type(hfc_model_t), intent(inout) :: m
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: t
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    stat = HFC_OK
    if (size(u) /= m%grid%n) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'set_state: state length differs from the grid')
      call hfc_agree(m%grid%comm, stat, errmsg)
      return
    end if
    if (.not. all(abs(u) <= huge(1.0_wp)) .or. .not. abs(t) <= huge(t)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'set_state: state or time is not finite')
    end if
    call hfc_agree(m%grid%comm, stat, errmsg)
    if (stat /= HFC_OK) return
    m%u(1:m%grid%n) = u
    m%t = t
  end subroutine hfc_model_set_state

  !> Semi-discrete right-hand side: fills the halo of v, then
  !> dudt_i = -(F_{i+1/2} - F_{i-1/2}) / dx + S_i(t).
  subroutine hfc_model_rhs(m, v, t, stat, errmsg)
    type(hfc_model_t), intent(inout) :: m
    real(wp), intent(inout) :: v(1 - m%grid%g:)
    real(wp), intent(in) :: t
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n
    real(wp) :: start

    n = m%grid%n
    start = hfc_wtime()
    call hfc_fill_halo(m%grid, v, stat, errmsg)
    m%halo_seconds = m%halo_seconds + (hfc_wtime() - start)
    if (stat /= HFC_OK) return
    call m%provider%face_fluxes(m%grid, v, t, m%flux, stat, errmsg)
    if (stat == HFC_ERR_NONFINITE .and. m%guard%on_nonfinite == HFC_ON_NONFINITE_FALLBACK) &
      call fallback_fluxes(m, v, t, stat, errmsg)
    call hfc_agree(m%grid%comm, stat, errmsg)   ! one rank's failure stops all, here
    if (stat /= HFC_OK) return
    m%dudt = -(m%flux(2:n + 1) - m%flux(1:n)) / m%grid%dx
    if (m%forcing%n_modes > 0) then
      call hfc_forcing_eval(m%forcing, t, m%src)
      m%dudt = m%dudt + m%src
    end if
  end subroutine hfc_model_rhs

  !> Replace the non-finite face fluxes by WENO5's on the same halo-filled state, and count
  !> them. Fails when the state itself is not finite (then no flux is trustworthy).
  subroutine fallback_fluxes(m, v, t, stat, errmsg)
    type(hfc_model_t), intent(inout) :: m
    real(wp), intent(in) :: v(1 - m%grid%g:)
    real(wp), intent(in) :: t
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    logical :: bad(size(m%flux))

    if (.not. all(abs(v) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'guard: the state is not finite; no fallback can repair it')
      return
    end if
    call m%fallback%face_fluxes(m%grid, v, t, m%flux_fallback, stat, errmsg)
    if (stat /= HFC_OK) return
    bad = .not. (abs(m%flux) <= huge(1.0_wp))
    where (bad) m%flux = m%flux_fallback
    ! faces 2..n+1: each face of the domain once (face 1 is the previous block's, or the
    ! periodic image of face n+1), so the count does not depend on the decomposition
    m%fallback_faces = m%fallback_faces + count(bad(2:))
  end subroutine fallback_fluxes

  !> One SSP-RK3 step of size dt (Shu-Osher form; stages at t, t + dt, t + dt/2).
  subroutine hfc_model_step(m, dt, stat, errmsg)
    type(hfc_model_t), intent(inout) :: m
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n

    n = m%grid%n
    call hfc_model_rhs(m, m%u, m%t, stat, errmsg)
    if (stat /= HFC_OK) return
    m%u1(1:n) = m%u(1:n) + dt * m%dudt
    call hfc_model_rhs(m, m%u1, m%t + dt, stat, errmsg)
    if (stat /= HFC_OK) return
    m%u2(1:n) = 0.75_wp * m%u(1:n) + 0.25_wp * (m%u1(1:n) + dt * m%dudt)
    call hfc_model_rhs(m, m%u2, m%t + 0.5_wp * dt, stat, errmsg)
    if (stat /= HFC_OK) return
    m%u(1:n) = (1.0_wp / 3.0_wp) * m%u(1:n) + (2.0_wp / 3.0_wp) * (m%u2(1:n) + dt * m%dudt)
    m%nsteps = m%nsteps + 1
  end subroutine hfc_model_step

  !> Advance to exactly t_end. The step is the fixed dt or the CFL step, shortened to land
  !> on t_end (a step within 1e-9 dt of t_end is stretched to it, so no sliver steps).
  !> Fails with HFC_ERR_NONFINITE in the step where the state stops being finite.
  subroutine hfc_model_advance(m, t_end, stat, errmsg)
    type(hfc_model_t), intent(inout) :: m
    real(wp), intent(in) :: t_end
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp) :: dt
    integer(int64) :: taken
    logical :: last
    character(len=32) :: when

    stat = HFC_OK
    if (.not. abs(t_end) <= huge(t_end) .or. t_end < m%t) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: end time must be finite and not before the current time')
      return
    end if
    taken = 0
    do while (m%t < t_end)
      if (taken >= m%time%max_steps) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: step limit reached before the end time')
        return
      end if
      if (m%time%dt > 0.0_wp) then
        dt = m%time%dt
      else
        dt = hfc_stable_dt_for_speed(m%eq, m%grid, &
               hfc_global_max(m%grid%comm, hfc_max_wave_speed(m%eq, m%u(1:m%grid%n))), m%time%cfl)
      end if
      last = t_end - m%t <= dt * (1.0_wp + 1.0e-9_wp)
      if (last) dt = t_end - m%t
      call hfc_model_step(m, dt, stat, errmsg)
      if (stat /= HFC_OK) return
      taken = taken + 1
      if (last) then
        m%t = t_end
      else
        m%t = m%t + dt
      end if
      if (.not. all(abs(m%u(1:m%grid%n)) <= huge(1.0_wp))) then
        write(when, '(es12.5)') m%t
        call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'advance: the state became non-finite at t =' // trim(when))
      end if
      call hfc_agree(m%grid%comm, stat, errmsg)
      if (stat /= HFC_OK) return
    end do
  end subroutine hfc_model_advance

end module hfc_model
