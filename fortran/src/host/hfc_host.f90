!> The host: a handle that owns one finite-volume model (this rank's block of the grid, the
!> equation, the flux provider, the sources, the time stepper and the guard), created once,
!> then advanced, queried and freed:
!>
!>   hfc_host_create -> [hfc_host_add_source | hfc_host_set_flow] -> hfc_host_set_state
!>     -> hfc_host_advance | hfc_host_step (any number of times)
!>     -> hfc_host_get_state, hfc_host_diagnostics, hfc_host_stable_dt
!>     -> hfc_host_free (or the finalizer)
!>
!> All checks (grid against provider, halo widths, decomposition) run once, at create.
!> Every routine returns a status and a message (blank on success); any call on a host that
!> was never created, or whose creation failed, returns HFC_ERR_ARGUMENT and does nothing.
!> With an MPI decomposition create, add_source, set_state, advance, step and stable_dt are collective
!> over its communicator (the ranks agree on failure); get_state, diagnostics and grid are
!> local. After a failed step the host holds the state and time of that step (for a look
!> at what went wrong); set a state before advancing again.
module hfc_host
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, HFC_ERR_INTERRUPTED, hfc_set_error, hfc_clear, hfc_str, &
                       hfc_all_finite
  use hfc_grid, only: hfc_grid_t, hfc_get_interior, hfc_set_interior
  use hfc_signal, only: hfc_stop_requested
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_equation, only: hfc_equation_t, HFC_EQ_ADVECTION2D
  use hfc_flow, only: hfc_flow_t
  use hfc_provider, only: hfc_flux_provider
  use hfc_source, only: hfc_source_t
  use hfc_stepper, only: hfc_stepper_t, hfc_stepper_create, HFC_SSPRK3, HFC_FORWARD_EULER, HFC_IMEX_EULER
  use hfc_linear_solver, only: hfc_solver_config_t
  use hfc_implicit_diffusion, only: hfc_implicit_diffusion_init
  use hfc_fv_rhs, only: hfc_fv_rhs_t, hfc_guard_config_t, hfc_fv_rhs_add_source, hfc_fv_rhs_set_flow, HFC_ON_NONFINITE_ABORT, &
                        HFC_ON_NONFINITE_FALLBACK
  implicit none
  private

  public :: HFC_SSPRK3, HFC_FORWARD_EULER, HFC_IMEX_EULER, HFC_ON_NONFINITE_ABORT, HFC_ON_NONFINITE_FALLBACK, hfc_guard_config_t

  !> Time-step control: a fixed step dt > 0, or else the equation's stable step at Courant
  !> number cfl (hfc_equation's rule; 2D advection: the flow's, hfc_flow); the method; and
  !> a budget of steps per advance call.
  !> The budget is also the floor of the step: an advance stops, before the step, when at
  !> the current step the rest of the way to its end time would need more steps than are
  !> left. So a run whose state blows up while staying finite (the fallback guard repairing
  !> every face) ends as soon as its CFL step, dx / max wave speed, falls below
  !> (time left) / (steps left): the wave speed may grow to cfl dx max_steps / (time left)
  !> and no further, instead of the run crawling on with ever shorter steps.
  !> With method HFC_IMEX_EULER (1D) the host solves a diffusion `diffusivity` implicitly by
  !> `solver` (K iterations of Jacobi, steepest descent, CG or GMRES(m); hfc_linear_solver)
  !> after each explicit Euler step of the provider's fluxes: give the provider the law
  !> without that diffusion. The CFL step is then the explicit law's.
  type, public :: hfc_time_config_t
    real(wp) :: cfl = 0.5_wp
    real(wp) :: dt = 0.0_wp
    integer :: method = HFC_SSPRK3
    integer(int64) :: max_steps = huge(1_int64)
    real(wp) :: diffusivity = 0.0_wp
    type(hfc_solver_config_t) :: solver
  end type hfc_time_config_t

  !> What a host reports about its run so far.
  type, public :: hfc_diagnostics_t
    real(wp) :: t = 0.0_wp
    integer(int64) :: steps = 0              !< steps taken since create
    integer(int64) :: fallback_faces = 0     !< faces whose flux came from the guard's fallback
    real(wp) :: halo_seconds = 0.0_wp        !< wall time in halo fills (the MPI exchange when decomposed)
    integer :: n = 0                         !< this rank's interior cells (along x; hfc_host_grid has all)
    integer :: offset = 0                    !< global index of this rank's first cell, minus one (along x)
    integer :: halo = 0                      !< halo width of the host's state
    integer :: ranks = 1
  end type hfc_diagnostics_t

  !> A host handle: create with hfc_host_create, then use the routines below; do not copy it.
  type, public :: hfc_host_t
    logical :: ready = .false.
    type(hfc_equation_t) :: eq
    type(hfc_time_config_t) :: time
    type(hfc_fv_rhs_t) :: rhs                       !< grid, decomposition, provider, sources, guard
    class(hfc_stepper_t), allocatable :: stepper
    real(wp), allocatable :: u(:)                   !< state with halo (hfc_grid layout)
    real(wp) :: t = 0.0_wp
    integer(int64) :: steps = 0
  contains
    final :: host_finalize
  end type hfc_host_t

  public :: hfc_host_create, hfc_host_add_source, hfc_host_set_state, hfc_host_get_state, hfc_host_step, &
            hfc_host_advance, hfc_host_diagnostics, hfc_host_grid, hfc_host_free, hfc_host_set_flow, hfc_host_stable_dt

contains

  !> Create a host for `global` (the whole domain, from hfc_grid_init) solving eq with the
  !> given provider and time control. decomp: how the domain is split (default serial;
  !> hfc_mpi_ring(comm) for MPI, then this rank gets its block). guard: what to do with
  !> non-finite fluxes (default abort; fallback uses the classical `fallback` provider at
  !> the affected faces, which is then required). The state's halo is the widest the
  !> providers read. The provider and fallback are copied into the host.
  subroutine hfc_host_create(h, global, eq, provider, time, stat, errmsg, decomp, guard, fallback)
    type(hfc_host_t), intent(out) :: h
    type(hfc_grid_t), intent(in) :: global
    type(hfc_equation_t), intent(in) :: eq
    class(hfc_flux_provider), intent(in) :: provider
    type(hfc_time_config_t), intent(in) :: time
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    class(hfc_decomposition_t), intent(in), optional :: decomp
    type(hfc_guard_config_t), intent(in), optional :: guard
    class(hfc_flux_provider), intent(in), optional :: fallback
    integer :: g

    call hfc_clear(stat, errmsg)
    call hfc_host_free(h)          ! a handle reused from an earlier host starts afresh (gfortran 12 does
                                   ! not reset every component of an intent(out) finalizable actual)
    if (present(decomp)) then
      allocate(h%rhs%decomp, source=decomp)
    else
      allocate(h%rhs%decomp)
    end if
    if (present(guard)) h%rhs%guard = guard
    g = provider%halo_width()
    select case (h%rhs%guard%on_nonfinite)
    case (HFC_ON_NONFINITE_ABORT)
    case (HFC_ON_NONFINITE_FALLBACK)
      if (.not. present(fallback)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'guard: the fallback policy needs a fallback provider')
      else
        allocate(h%rhs%fallback, source=fallback)
        g = max(g, fallback%halo_width())
      end if
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'guard: unknown policy for non-finite fluxes')
    end select
    if (stat == HFC_OK .and. .not. (time%dt >= 0.0_wp .and. time%dt <= huge(time%dt))) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: dt must be 0 (a step from the CFL number) or ' // &
        'positive and finite, got ' // hfc_str(time%dt))
    if (stat == HFC_OK .and. .not. (time%dt > 0.0_wp) .and. .not. (time%cfl > 0.0_wp .and. time%cfl <= 10.0_wp)) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: need a fixed dt > 0 or a CFL number in (0, 10], ' // &
        'got cfl = ' // hfc_str(time%cfl))
    if (stat == HFC_OK .and. time%max_steps < 1) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: max_steps must be >= 1')
    if (stat == HFC_OK .and. eq%kind == 0) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'host: the equation is not initialised (hfc_equation_init)')
    if (stat == HFC_OK .and. eq%ndim /= global%ndim) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'host: ' // trim(eq%name) // ' is a law in ' // &
        hfc_str(eq%ndim) // 'D, the grid has ' // hfc_str(global%ndim) // ' dimensions')
    if (stat == HFC_OK) call h%rhs%decomp%split(global, g, h%rhs%grid, stat, errmsg)
    if (stat == HFC_OK) call provider%check_grid(h%rhs%grid, stat, errmsg)
    if (stat == HFC_OK .and. present(fallback)) call fallback%check_grid(h%rhs%grid, stat, errmsg)
    if (stat == HFC_OK) call hfc_stepper_create(h%stepper, time%method, h%rhs%grid%cells(), stat, errmsg)
    if (stat == HFC_OK .and. time%method == HFC_IMEX_EULER) then
      allocate(h%rhs%implicit)
      call hfc_implicit_diffusion_init(h%rhs%implicit, time%diffusivity, time%solver, h%rhs%grid, h%rhs%decomp, &
                                       stat, errmsg)
    end if
    call h%rhs%decomp%agree(stat, errmsg)
    if (stat == HFC_OK) call h%rhs%decomp%same(configuration(), stat, errmsg)
    if (stat /= HFC_OK) return
    allocate(h%rhs%provider, source=provider)
    allocate(h%rhs%aux(0))
    allocate(h%rhs%flux(h%rhs%grid%faces()), source=0.0_wp)
    if (allocated(h%rhs%fallback)) allocate(h%rhs%flux_fallback(h%rhs%grid%faces()))
    allocate(h%u(h%rhs%grid%cells()), source=0.0_wp)
    h%eq = eq
    h%time = time
    h%ready = .true.

  contains

    !> What every rank must share: the domain, the equation, the schemes, the time control.
    function configuration() result(text)
      character(len=:), allocatable :: text
      character(len=2048) :: buffer
      write(buffer, '(*(g0, 1x))') global%ndim, global%n_global(1:global%ndim), global%length(1:global%ndim), &
        trim(eq%name), eq%kind, eq%quadratic, eq%velocity, eq%viscosity, eq%terms, eq%order, eq%coefficient, &
        provider%name(), provider%halo_width(), h%rhs%guard%on_nonfinite, time%cfl, time%dt, time%method, &
        time%max_steps, time%diffusivity, time%solver%method, time%solver%iterations, time%solver%restart
      text = trim(buffer)
      if (present(fallback)) text = text // ' ' // fallback%name()
    end function configuration
  end subroutine hfc_host_create

  !> Add a source term (e.g. hfc_forcing_t), copied into the host and bound to its block.
  subroutine hfc_host_add_source(h, source, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    class(hfc_source_t), intent(in) :: source
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    call hfc_fv_rhs_add_source(h%rhs, source, stat, errmsg)
  end subroutine hfc_host_add_source

  !> The face velocities of 2D advection (copied into the host, bound to its block).
  !> Collective.
  subroutine hfc_host_set_flow(h, flow, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    type(hfc_flow_t), intent(in) :: flow
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    if (h%eq%kind /= HFC_EQ_ADVECTION2D) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'set_flow: ' // trim(h%eq%name) // ' has no velocity field')
      return
    end if
    call hfc_fv_rhs_set_flow(h%rhs, flow, stat, errmsg)
  end subroutine hfc_host_set_flow

  !> Set the state: u holds this rank's interior cells, x fastest (hfc_host_grid gives the block).
  subroutine hfc_host_set_state(h, u, t, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: t
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    if (size(u) /= interior_cells(h)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'set_state: the state has ' // hfc_str(size(u)) // &
        ' cells, this block of the grid has ' // hfc_str(interior_cells(h)))
    else if (.not. hfc_all_finite(u) .or. .not. abs(t) <= huge(t)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'set_state: state or time is not finite')
    end if
    call h%rhs%decomp%agree(stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_set_interior(h%rhs%grid, u, h%u)
    h%t = t
  end subroutine hfc_host_set_state

  !> The interior cells of this rank's block and the time.
  subroutine hfc_host_get_state(h, u, t, stat, errmsg)
    type(hfc_host_t), intent(in) :: h
    real(wp), intent(out) :: u(:)
    real(wp), intent(out) :: t
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    t = 0.0_wp
    if (.not. created(h, stat, errmsg)) return
    if (size(u) /= interior_cells(h)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'get_state: the array has ' // hfc_str(size(u)) // &
        ' cells, this block of the grid has ' // hfc_str(interior_cells(h)))
      return
    end if
    call hfc_get_interior(h%rhs%grid, h%u, u)
    t = h%t
  end subroutine hfc_host_get_state

  !> One step of size dt (the stepper's method), then the state is checked: a non-finite
  !> state fails with HFC_ERR_NONFINITE. The time advances by dt.
  subroutine hfc_host_step(h, dt, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    if (.not. (dt > 0.0_wp .and. dt <= huge(dt))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'step: dt must be positive and finite')
      return
    end if
    if (.not. flow_covers(h, h%t + dt, stat, errmsg)) return
    call take_step(h, dt, h%t + dt, stat, errmsg)
  end subroutine hfc_host_step

  !> The step the next advance takes from the current state (before shortening it to land
  !> on an end time): the fixed dt, or the time-step rule at cfl (2D advection: the flow's
  !> peak Courant rule; else the equation's at the state's largest wave speed, over all
  !> ranks). Collective.
  subroutine hfc_host_stable_dt(h, dt, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    real(wp), intent(out) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    dt = 0.0_wp
    if (created(h, stat, errmsg)) dt = next_dt(h)
  end subroutine hfc_host_stable_dt

  real(wp) function next_dt(h) result(dt)
    type(hfc_host_t), intent(inout) :: h
    integer :: g, n
    g = h%rhs%grid%g
    n = h%rhs%grid%n(1)
    if (h%time%dt > 0.0_wp) then
      dt = h%time%dt
    else if (allocated(h%rhs%flow)) then
      dt = h%rhs%flow%stable_dt(h%time%cfl)
    else
      dt = h%eq%stable_dt(h%rhs%grid%dx(1), h%rhs%decomp%global_max(h%eq%max_wave_speed(h%u(g + 1:g + n))), &
                          h%time%cfl)
    end if
  end function next_dt

  !> Whether the host's velocities are defined from its time to t_end (velocity frames end).
  logical function flow_covers(h, t_end, stat, errmsg) result(ok)
    type(hfc_host_t), intent(in) :: h
    real(wp), intent(in) :: t_end
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
    ok = .true.
    if (.not. allocated(h%rhs%flow)) return
    ok = h%rhs%flow%covers(h%t, t_end)
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'the velocity frames cover t in [' // &
      hfc_str(h%rhs%flow%times(1)) // ', ' // hfc_str(h%rhs%flow%times(size(h%rhs%flow%times))) // &
      '], asked for [' // hfc_str(h%t) // ', ' // hfc_str(t_end) // ']')
  end function flow_covers

  !> Advance to exactly t_end. The step is the fixed dt or the CFL step, shortened to land
  !> on t_end (a step within 1e-9 dt of t_end is stretched to it, so no sliver steps).
  !> Fails with HFC_ERR_NONFINITE in the step where the fluxes or the state stop being finite.
  subroutine hfc_host_advance(h, t_end, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    real(wp), intent(in) :: t_end
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp) :: dt
    integer(int64) :: taken, left
    logical :: last, over

    if (.not. created(h, stat, errmsg)) return
    if (.not. abs(t_end) <= huge(t_end) .or. t_end < h%t) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: end time must be finite and not before the current time')
      return
    end if
    if (h%eq%kind == HFC_EQ_ADVECTION2D .and. .not. allocated(h%rhs%flow)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: advection2d needs its velocity field ' // &
        '(hfc_host_set_flow)')
      return
    end if
    if (.not. flow_covers(h, t_end, stat, errmsg)) return
    taken = 0
    do while (h%t < t_end)
      dt = next_dt(h)
      left = h%time%max_steps - taken
      over = left < 1                  ! (no short-circuit in Fortran: never divide by zero steps)
      if (.not. over) over = dt < (t_end - h%t) / real(left, wp) * (1.0_wp - 1.0e-9_wp)
      if (over) then                   ! the same on every rank: dt is global
        if (h%time%dt > 0.0_wp) then
          call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: ' // hfc_str(t_end - h%t) // &
            ' time units at the fixed step ' // hfc_str(dt) // ' need more than the ' // &
            hfc_str(left) // ' steps left of max_steps')
        else if (h%steps == 0) then    ! before the first step: the configuration, not a blow-up
          call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'advance: the CFL step of the initial state is ' // &
            hfc_str(dt) // ': the ' // hfc_str(t_end - h%t) // ' time units to go would need more than max_steps = ' // &
            hfc_str(left) // ' steps (raise max_steps, or the grid, viscosity or initial state ask for too small a step)')
        else
          call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'advance: the CFL step fell to ' // hfc_str(dt) // &
            ' at t = ' // hfc_str(h%t) // ': the ' // hfc_str(t_end - h%t) // ' time units to go would need more ' // &
            'than the ' // hfc_str(left) // ' steps left of max_steps; the state is blowing ' // &
            'up (max |u| = ' // hfc_str(h%rhs%decomp%global_max(maxval(abs(h%u)))) // ')')
        end if
        return
      end if
      last = t_end - h%t <= dt * (1.0_wp + 1.0e-9_wp)
      if (last) dt = t_end - h%t
      if (.not. last .and. .not. (h%t + dt > h%t)) then   ! the CFL step collapsed below the clock's resolution
        call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'advance: the time step ' // hfc_str(dt) // &
          ' no longer advances t = ' // hfc_str(h%t) // ' (the state is blowing up)')
        return
      end if
      call take_step(h, dt, merge(t_end, h%t + dt, last), stat, errmsg)
      if (stat /= HFC_OK) return
      taken = taken + 1
    end do
  end subroutine hfc_host_advance

  !> One step from h%t, ending at t_next; the state is checked and the ranks agree.
  subroutine take_step(h, dt, t_next, stat, errmsg)
    type(hfc_host_t), intent(inout) :: h
    real(wp), intent(in) :: dt, t_next
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: signum

    call h%stepper%step(h%rhs, h%u, h%t, dt, stat, errmsg)
    if (stat /= HFC_OK) return
    h%steps = h%steps + 1
    h%t = t_next
    if (.not. hfc_all_finite(h%u)) &   ! the halo holds copies of earlier (checked) interiors
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'advance: the state became non-finite at t = ' // hfc_str(h%t))
    signum = hfc_stop_requested()
    if (stat == HFC_OK .and. signum /= 0) &
      call hfc_set_error(stat, errmsg, HFC_ERR_INTERRUPTED, 'advance: stopped by signal ' // hfc_str(signum) // &
                         ' at t = ' // hfc_str(h%t))
    call h%rhs%decomp%agree(stat, errmsg)
  end subroutine take_step

  !> Time, steps, guard counter, halo time, and this rank's block.
  subroutine hfc_host_diagnostics(h, d, stat, errmsg)
    type(hfc_host_t), intent(in) :: h
    type(hfc_diagnostics_t), intent(out) :: d
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    d%t = h%t
    d%steps = h%steps
    d%fallback_faces = h%rhs%fallback_faces
    d%halo_seconds = h%rhs%halo_seconds
    d%n = h%rhs%grid%n(1)
    d%offset = h%rhs%grid%offset(1)
    d%halo = h%rhs%grid%g
    d%ranks = h%rhs%decomp%ranks()
  end subroutine hfc_host_diagnostics

  !> This rank's block of the grid (interior cells, offset, halo, dx).
  subroutine hfc_host_grid(h, grid, stat, errmsg)
    type(hfc_host_t), intent(in) :: h
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. created(h, stat, errmsg)) return
    grid = h%rhs%grid
  end subroutine hfc_host_grid

  !> Release everything the host holds (safe to call twice or on a host never created).
  subroutine hfc_host_free(h)
    type(hfc_host_t), intent(inout) :: h
    type(hfc_fv_rhs_t) :: empty      ! (not a host: a local host would be finalized, recursively)
    h%ready = .false.
    h%t = 0.0_wp
    h%steps = 0
    if (allocated(h%u)) deallocate(h%u)
    if (allocated(h%stepper)) deallocate(h%stepper)
    h%rhs = empty
  end subroutine hfc_host_free

  subroutine host_finalize(h)
    type(hfc_host_t), intent(inout) :: h
    call hfc_host_free(h)
  end subroutine host_finalize

  !> Interior cells of this rank's block.
  pure integer function interior_cells(h)
    type(hfc_host_t), intent(in) :: h
    interior_cells = product(h%rhs%grid%n(1:h%rhs%grid%ndim))
  end function interior_cells

  !> The guard of every entry point: the host must have been created successfully.
  logical function created(h, stat, errmsg)
    type(hfc_host_t), intent(in) :: h
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    created = h%ready
    if (.not. created) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
      'host: not created (hfc_host_create was not called, or it failed: check its stat)')
  end function created

end module hfc_host
