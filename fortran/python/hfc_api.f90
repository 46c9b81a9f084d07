!> The Fortran entry points wrapped for Python by f90wrap. Objects live in hfc_registry and
!> Python holds their integer ids: ONNX models, flux providers, hosts. A host is created
!> once and then advanced, queried and freed; nothing is rebuilt between calls. Every entry
!> point returns stat and errmsg (blank on success). Arrays are assumed-shape and checked.
module hfc_api
  use, intrinsic :: iso_fortran_env, only: int8, int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERRMSG_LEN, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t, hfc_grid_init, hfc_grid_init_spacing, hfc_grid_block
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_mpi, only: hfc_mpi_ring
  use hfc_mpi_cartesian, only: hfc_mpi_cart
  use hfc_equation, only: hfc_equation_t, hfc_equation_init, HFC_EQ_ADVECTION2D
  use hfc_flow, only: hfc_flow_t, hfc_flow_init, HFC_FLOW_FRAMES
  use hfc_forcing, only: hfc_forcing_t, hfc_forcing_params_t, hfc_forcing_init
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_advection2d, only: hfc_advection2d_flux, hfc_advection2d_init
  use hfc_polynomial, only: hfc_polynomial_flux, hfc_polynomial_init
  use hfc_python_provider, only: hfc_python_flux
  use hfc_onnx, only: hfc_onnx_config_t, hfc_onnx_load_bytes, hfc_onnx_free, hfc_onnx_runtime_info, &
                      hfc_onnx_open_runtime, hfc_onnx_timers
  use hfc_model_meta, only: hfc_model_meta_t, hfc_meta_read, hfc_meta_check_time, hfc_model_check, HFC_META_REQUIRED, &
    HFC_META_KEYS
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init, hfc_learned_batch
  use hfc_constant_stencil, only: hfc_constant_has_stencil, hfc_constant_init
  use hfc_host, only: hfc_host_create, hfc_host_add_source, hfc_host_set_flow, hfc_host_set_state, &
                      hfc_host_get_state, hfc_host_grid, hfc_host_advance, hfc_host_step, hfc_host_diagnostics, &
                      hfc_host_free, hfc_host_stable_dt, hfc_time_config_t, hfc_diagnostics_t, hfc_guard_config_t, &
                      HFC_ON_NONFINITE_FALLBACK
  use hfc_linear_solver, only: hfc_solver_config_t, hfc_linear_solve
  use hfc_implicit_operators, only: hfc_heat_btcs_t, hfc_burgers_oseen_t, hfc_burgers_oseen_init
  use hfc_ivp_evaluator, only: hfc_ivp_evaluator_t, hfc_ivp_read, hfc_ivp_cell_averages
  use hfc_registry, only: models, model_halo, evaluators, providers, hosts, free_model_id, free_provider_id, &
                          free_host_id, model_check, provider_check, host_check
  implicit none

  integer, parameter :: NO_COMM = -1   !< the comm argument of a serial run

contains

  ! ----------------------------------------------------------------------------------------
  ! Implicit steps

  !> x = K iterations of a linear solver (method 1 Jacobi, 2 steepest descent, 3 CG, 4
  !> GMRES(restart)) from 0 on an implicit step's system on a periodic grid of size(b) cells
  !> of width dx: system 'heat' (I - nu dt L) or 'burgers' (the Oseen system around w).
  subroutine api_linear_solve(system, w, b, dx, dt, nu, method, iterations, restart, x, stat, errmsg)
    character(len=*), intent(in) :: system
    real(wp), intent(in) :: w(:), b(:)
    real(wp), intent(in) :: dx, dt, nu
    integer, intent(in) :: method, iterations, restart
    real(wp), intent(inout) :: x(:)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_heat_btcs_t) :: heat
    type(hfc_burgers_oseen_t) :: burgers
    type(hfc_solver_config_t) :: config

    call hfc_clear(stat, errmsg)
    if (size(w) /= size(b) .or. size(x) /= size(b)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'linear_solve: w, b and x must have one length')
      return
    end if
    config = hfc_solver_config_t(method, iterations, restart)
    select case (trim(system))
    case ('heat')
      heat%r = nu * dt / dx**2
      call hfc_linear_solve(heat, config, b, x, stat, errmsg)
    case ('burgers')
      call hfc_burgers_oseen_init(burgers, w, dx, dt, nu)
      call hfc_linear_solve(burgers, config, b, x, stat, errmsg)
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "linear_solve: unknown system '" // trim(system) // &
                         "' (heat, burgers)")
    end select
  end subroutine api_linear_solve

  ! ----------------------------------------------------------------------------------------
  ! Equations

  !> The registry entry of an equation: J = c v^2 + a v + sum_i b_i d^(l_i) v.
  subroutine api_equation_info(name, viscosity, velocity, quadratic, linear, terms, orders, coefficients, &
                               stat, errmsg)
    character(len=*), intent(in) :: name
    real(wp), intent(in) :: viscosity, velocity
    real(wp), intent(out) :: quadratic, linear
    integer, intent(out) :: terms
    integer, intent(out) :: orders(3)
    real(wp), intent(out) :: coefficients(3)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    call hfc_equation_init(eq, name, viscosity, velocity, stat, errmsg)
    quadratic = eq%quadratic
    linear = eq%velocity
    terms = eq%terms
    orders = eq%order
    coefficients = eq%coefficient
  end subroutine api_equation_info

  !> The time-step rule of the host for cells u of width dx at Courant number cfl.
  subroutine api_stable_dt(name, viscosity, velocity, dx, u, cfl, dt, stat, errmsg)
    character(len=*), intent(in) :: name
    real(wp), intent(in) :: viscosity, velocity, dx
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: cfl
    real(wp), intent(out) :: dt
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    dt = 0.0_wp
    call hfc_equation_init(eq, name, viscosity, velocity, stat, errmsg)
    if (stat == HFC_OK) dt = eq%stable_dt(dx, eq%max_wave_speed(u), cfl)
  end subroutine api_stable_dt

  ! ----------------------------------------------------------------------------------------
  ! Flux providers

  !> A classical provider ('godunov', 'fv3', 'weno5', or 'polynomial': the standard 6-cell
  !> stencil) for an equation; returns its id and halo width.
  subroutine api_provider_classical(equation, viscosity, velocity, scheme, id, halo, stat, errmsg)
    character(len=*), intent(in) :: equation, scheme
    real(wp), intent(in) :: viscosity, velocity
    integer, intent(out) :: id, halo
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq

    halo = 0
    call new_provider_slot(equation, viscosity, velocity, eq, id, stat, errmsg)
    if (stat /= HFC_OK) return
    call classical_provider(eq, scheme, providers(id)%p, stat, errmsg)
    call finish_provider(id, halo, stat)
  end subroutine api_provider_classical

  !> The classical provider `scheme` for eq: a scheme of hfc_advection2d for advection2d,
  !> else 'polynomial' or a scheme of hfc_classical.
  subroutine classical_provider(eq, scheme, p, stat, errmsg)
    type(hfc_equation_t), intent(in) :: eq
    character(len=*), intent(in) :: scheme
    class(hfc_flux_provider), allocatable, intent(out) :: p
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_classical_flux) :: classical
    type(hfc_polynomial_flux) :: polynomial
    type(hfc_advection2d_flux) :: advection2d
    if (eq%kind == HFC_EQ_ADVECTION2D) then
      call hfc_advection2d_init(advection2d, scheme, stat, errmsg)
      if (stat == HFC_OK) allocate(p, source=advection2d)
    else if (trim(scheme) == 'polynomial') then
      call hfc_polynomial_init(polynomial, eq, stat, errmsg)
      if (stat == HFC_OK) allocate(p, source=polynomial)
    else
      call hfc_classical_init(classical, eq, scheme, stat, errmsg)
      if (stat == HFC_OK) allocate(p, source=classical)
    end if
  end subroutine classical_provider

  !> The Python-callback provider with halo width `halo`; `global_range` /= 0: it is handed
  !> the state's range over the whole domain (c_range) at every call.
  subroutine api_provider_python(equation, viscosity, velocity, halo, global_range, id, stat, errmsg)
    character(len=*), intent(in) :: equation
    real(wp), intent(in) :: viscosity, velocity
    integer, intent(in) :: halo, global_range
    integer, intent(out) :: id
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    integer :: g
    call new_provider_slot(equation, viscosity, velocity, eq, id, stat, errmsg)
    if (stat /= HFC_OK) return
    if (halo < 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'provider: the python provider needs a halo width >= 0')
    else
      allocate(providers(id)%p, source=hfc_python_flux(g=halo, range=global_range /= 0))
    end if
    call finish_provider(id, g, stat)
  end subroutine api_provider_python

  !> The learned provider of the loaded model `model`, checked against the equation; a
  !> constant-coefficient model with its stencil in the metadata runs natively
  !> (hfc_constant_stencil), without ONNX Runtime. reuse /= 0: coefficient reuse across the
  !> stages of a step (hfc_learned; a constant model's coefficients are the same at every
  !> stage, so it runs as it is).
  subroutine api_provider_learned(model, equation, viscosity, velocity, reuse, id, halo, stat, errmsg)
    integer, intent(in) :: model
    character(len=*), intent(in) :: equation
    real(wp), intent(in) :: viscosity, velocity
    integer, intent(in) :: reuse
    integer, intent(out) :: id, halo
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_learned_flux) :: learned
    type(hfc_polynomial_flux) :: native
    halo = 0
    id = 0
    if (.not. model_check(model, stat, errmsg)) return
    call new_provider_slot(equation, viscosity, velocity, eq, id, stat, errmsg)
    if (stat /= HFC_OK) return
    if (hfc_constant_has_stencil(models(model))) then     ! a constant model: its stencil, natively
      call hfc_constant_init(native, models(model), eq, stat, errmsg)
      if (stat == HFC_OK) allocate(providers(id)%p, source=native)
    else
      call hfc_learned_init(learned, models(model), eq, stat, errmsg, reuse=reuse /= 0)
      if (stat == HFC_OK) allocate(providers(id)%p, source=learned)
    end if
    call finish_provider(id, halo, stat)
  end subroutine api_provider_learned

  subroutine api_provider_free(id)
    integer, intent(in) :: id
    if (id >= 1 .and. id <= size(providers)) then
      if (allocated(providers(id)%p)) deallocate(providers(id)%p)
    end if
  end subroutine api_provider_free

  !> Face fluxes flux(n + 1, nbatch) of a provider for halo-padded states u(n + 2g, nbatch)
  !> (g the provider's halo) on cells of width dx, at time t.
  subroutine api_provider_face_fluxes(id, dx, t, u, flux, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: dx, t
    real(wp), intent(in) :: u(:, :)
    real(wp), intent(inout) :: flux(:, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: global, block
    type(hfc_aux_t) :: none(0)
    integer :: b, n, g

    if (.not. provider_check(id, stat, errmsg)) return
    g = providers(id)%p%halo_width()
    n = size(u, 1) - 2 * g
    if (size(flux, 1) /= n + 1 .or. size(flux, 2) /= size(u, 2)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'face_fluxes: flux has shape (' // hfc_str(size(flux, 1)) // &
        ', ' // hfc_str(size(flux, 2)) // '), expected (n + 1, nbatch) = (' // hfc_str(n + 1) // ', ' // &
        hfc_str(size(u, 2)) // ')')
      return
    end if
    call hfc_grid_init_spacing(global, n, dx, stat, errmsg)
    if (stat == HFC_OK) call hfc_grid_block(global, n, 0, g, block, stat, errmsg)
    if (stat == HFC_OK) call providers(id)%p%check_grid(block, stat, errmsg)
    do b = 1, size(u, 2)
      if (stat /= HFC_OK) return
      call providers(id)%p%face_fluxes(block, u(:, b), none, t, 0.0_wp, flux(:, b), stat, errmsg)
    end do
  end subroutine api_provider_face_fluxes

  !> Face fluxes of a 2D provider for one halo-padded state c(nx + 2g, ny + 2g) (g the
  !> provider's halo) with face velocities u, v in the same layout (HFC_AT_LOWER_FACES of
  !> hfc_provider) on cells dx x dy, at time t for a step dt (0: semi-discrete): the x-face
  !> fluxes fx(nx + 1, ny) and the y-face fluxes fy(nx, ny + 1).
  subroutine api_provider_face_fluxes_2d(id, dx, dy, t, dt, c, u, v, fx, fy, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: dx, dy, t, dt
    real(wp), intent(in) :: c(:, :), u(:, :), v(:, :)
    real(wp), intent(inout) :: fx(:, :), fy(:, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: global, block
    type(hfc_aux_t) :: aux(2)
    real(wp), allocatable :: flux(:)
    integer :: nx, ny, g

    if (.not. provider_check(id, stat, errmsg)) return
    g = providers(id)%p%halo_width()
    nx = size(c, 1) - 2 * g
    ny = size(c, 2) - 2 * g
    if (any(shape(u) /= shape(c)) .or. any(shape(v) /= shape(c)) .or. any(shape(fx) /= [nx + 1, ny]) .or. &
        any(shape(fy) /= [nx, ny + 1])) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'face_fluxes_2d: for c of (nx + 2g, ny + 2g) = (' // &
        hfc_str(size(c, 1)) // ', ' // hfc_str(size(c, 2)) // ') with g = ' // hfc_str(g) // &
        ', u and v need the same shape, fx (nx + 1, ny) and fy (nx, ny + 1)')
      return
    end if
    call hfc_grid_init(global, [nx, ny], [nx * dx, ny * dy], stat, errmsg)
    if (stat == HFC_OK) call hfc_grid_block(global, [nx, ny], [0, 0], g, block, stat, errmsg)
    if (stat == HFC_OK) call providers(id)%p%check_grid(block, stat, errmsg)
    if (stat /= HFC_OK) return
    aux(1)%name = 'u'
    aux(2)%name = 'v'
    aux(1)%values = reshape(u, [size(u)])
    aux(2)%values = reshape(v, [size(v)])
    allocate(flux(block%faces()))
    call providers(id)%p%face_fluxes(block, reshape(c, [size(c)]), aux, t, dt, flux, stat, errmsg)
    if (stat /= HFC_OK) return
    fx = reshape(flux(1:(nx + 1) * ny), [nx + 1, ny])
    fy = reshape(flux((nx + 1) * ny + 1:), [nx, ny + 1])
  end subroutine api_provider_face_fluxes_2d

  subroutine new_provider_slot(equation, viscosity, velocity, eq, id, stat, errmsg)
    character(len=*), intent(in) :: equation
    real(wp), intent(in) :: viscosity, velocity
    type(hfc_equation_t), intent(out) :: eq
    integer, intent(out) :: id
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    id = 0
    call hfc_equation_init(eq, equation, viscosity, velocity, stat, errmsg)
    if (stat /= HFC_OK) return
    id = free_provider_id()
    if (id == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'provider: too many providers at once; free some first')
      return
    end if
    providers(id)%eq = eq
  end subroutine new_provider_slot

  subroutine finish_provider(id, halo, stat)
    integer, intent(inout) :: id
    integer, intent(out) :: halo
    integer, intent(in) :: stat
    halo = 0
    if (stat /= HFC_OK) then
      call api_provider_free(id)
      id = 0
    else
      halo = providers(id)%p%halo_width()
    end if
  end subroutine finish_provider

  ! ----------------------------------------------------------------------------------------
  ! Hosts

  !> Create a host on n(d) cells of [0, length(d)) per dimension d with provider `provider` (copied; the
  !> provider's equation is the host's). Time: fixed dt > 0, else CFL number cfl; method
  !> 1 SSP-RK3, 2 forward Euler, 3 IMEX Euler (diffusivity solved implicitly by solver =
  !> (method 1..4 as api_linear_solve, iterations, restart)); max_steps per advance (0: no
  !> limit). on_nonfinite: 1 abort,
  !> 2 fallback to the classical scheme `fallback` (the registry's choice, from Python).
  !> comm: an MPI communicator handle (collective then), or -1; procs: the ranks along x
  !> and y of a 2D grid (0: MPI_Dims_create's choice).
  subroutine api_host_create(provider, n, length, cfl, dt, method, max_steps, diffusivity, solver, on_nonfinite, &
                             fallback, comm, procs, id, stat, errmsg)
    integer, intent(in) :: provider
    integer, intent(in) :: n(:)
    real(wp), intent(in) :: length(:)
    real(wp), intent(in) :: cfl, dt
    integer, intent(in) :: method
    integer(int64), intent(in) :: max_steps
    real(wp), intent(in) :: diffusivity
    integer, intent(in) :: solver(3)
    integer, intent(in) :: on_nonfinite
    character(len=*), intent(in) :: fallback
    integer, intent(in) :: comm
    integer, intent(in) :: procs(2)
    integer, intent(out) :: id
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: global
    type(hfc_time_config_t) :: time
    type(hfc_guard_config_t) :: guard
    class(hfc_flux_provider), allocatable :: fallback_provider
    class(hfc_decomposition_t), allocatable :: decomp

    id = 0
    if (.not. provider_check(provider, stat, errmsg)) return
    id = free_host_id()
    if (id == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'host: too many hosts at once; free some first')
      return
    end if
    call hfc_grid_init(global, n, length, stat, errmsg)
    if (stat /= HFC_OK) then
      id = 0
      return
    end if
    time%cfl = cfl
    time%dt = dt
    time%method = method
    if (max_steps > 0) time%max_steps = max_steps
    time%diffusivity = diffusivity
    time%solver = hfc_solver_config_t(solver(1), solver(2), solver(3))
    guard%on_nonfinite = on_nonfinite
    call decomposition(comm, size(n), procs, decomp)
    associate (eq => providers(provider)%eq)
      if (on_nonfinite == HFC_ON_NONFINITE_FALLBACK) call classical_provider(eq, fallback, fallback_provider, stat, &
                                                                             errmsg)
      if (stat == HFC_OK) then
        if (allocated(fallback_provider)) then
          call hfc_host_create(hosts(id), global, eq, providers(provider)%p, time, stat, errmsg, decomp, guard, &
                               fallback_provider)
        else
          call hfc_host_create(hosts(id), global, eq, providers(provider)%p, time, stat, errmsg, decomp, guard)
        end if
      end if
    end associate
    if (stat /= HFC_OK) id = 0
  end subroutine api_host_create

  !> Add the forcing of Bar-Sinai et al. Eq. S-6 (modes as arrays) to a host.
  subroutine api_host_add_forcing(id, amplitude, omega, phase, wavenumber, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: amplitude(:), omega(:), phase(:)
    integer, intent(in) :: wavenumber(:)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_forcing_params_t) :: params
    type(hfc_forcing_t) :: forcing
    if (.not. host_check(id, stat, errmsg)) return
    params%amplitude = amplitude
    params%omega = omega
    params%phase = phase
    params%wavenumber = wavenumber
    call hfc_forcing_init(forcing, params, stat, errmsg)
    if (stat == HFC_OK) call hfc_host_add_source(hosts(id), forcing, stat, errmsg)
  end subroutine api_host_add_forcing

  !> Give a 2D advection host its face velocities over the whole grid: u(nx, ny, m) on the
  !> x-faces (face (i, j) left of cell (i, j)), v(nx, ny, m) on the y-faces (below cell
  !> (i, j)); law 1 steady or 2 times cos(pi t / period) (one frame), or 3 the m frames at
  !> times(m), linear in between (hfc_flow).
  subroutine api_host_set_flow(id, u, v, law, period, times, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: u(:, :, :), v(:, :, :)
    integer, intent(in) :: law
    real(wp), intent(in) :: period
    real(wp), intent(in) :: times(:)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: block
    type(hfc_flow_t) :: flow
    if (.not. host_check(id, stat, errmsg)) return
    call hfc_host_grid(hosts(id), block, stat, errmsg)
    if (stat /= HFC_OK) return
    if (block%ndim /= 2 .or. any([size(u, 1), size(u, 2)] /= block%n_global(1:2))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'set_flow: the face velocities have shape (' // &
        hfc_str(size(u, 1)) // ', ' // hfc_str(size(u, 2)) // '), the grid (' // hfc_str(block%n_global(1)) // &
        ', ' // hfc_str(block%n_global(2)) // ')')
      return
    end if
    call make_flow(u, v, law, period, times, block%dx(1), block%dx(2), flow, stat, errmsg)
    if (stat == HFC_OK) call hfc_host_set_flow(hosts(id), flow, stat, errmsg)
  end subroutine api_host_set_flow

  !> The time-step rule of 2D advection: the step at peak Courant number cfl of the face
  !> velocities u, v (as in api_host_set_flow) on cells dx x dy.
  subroutine api_flow_stable_dt(u, v, law, period, times, dx, dy, cfl, dt, stat, errmsg)
    real(wp), intent(in) :: u(:, :, :), v(:, :, :)
    integer, intent(in) :: law
    real(wp), intent(in) :: period
    real(wp), intent(in) :: times(:)
    real(wp), intent(in) :: dx, dy, cfl
    real(wp), intent(out) :: dt
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_flow_t) :: flow
    dt = 0.0_wp
    call make_flow(u, v, law, period, times, dx, dy, flow, stat, errmsg)
    if (stat == HFC_OK) dt = flow%stable_dt(cfl)
  end subroutine api_flow_stable_dt

  !> The flow of api_host_set_flow's arguments.
  subroutine make_flow(u, v, law, period, times, dx, dy, flow, stat, errmsg)
    real(wp), intent(in) :: u(:, :, :), v(:, :, :)
    integer, intent(in) :: law
    real(wp), intent(in) :: period, times(:), dx, dy
    type(hfc_flow_t), intent(out) :: flow
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (law == HFC_FLOW_FRAMES) then
      call hfc_flow_init(flow, u, v, times, dx, dy, stat, errmsg)
    else if (size(u, 3) /= 1 .or. size(v, 3) /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: a steady or cosine flow has one frame')
    else
      call hfc_flow_init(flow, u(:, :, 1), v(:, :, 1), law, period, dx, dy, stat, errmsg)
    end if
  end subroutine make_flow

  !> The step the host's next advance takes from its current state (hfc_host_stable_dt).
  subroutine api_host_stable_dt(id, dt, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(out) :: dt
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    dt = 0.0_wp
    if (host_check(id, stat, errmsg)) call hfc_host_stable_dt(hosts(id), dt, stat, errmsg)
  end subroutine api_host_stable_dt

  !> This rank's block of a host's grid: interior cells and offset per dimension (1 and 0
  !> beyond the grid's dimensions), the grid's dimensions and the state's halo width.
  subroutine api_host_block(id, n, offset, ndim, halo, stat, errmsg)
    integer, intent(in) :: id
    integer, intent(out) :: n(2), offset(2)
    integer, intent(out) :: ndim, halo
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: block
    n = 1
    offset = 0
    ndim = 0
    halo = 0
    if (host_check(id, stat, errmsg)) call hfc_host_grid(hosts(id), block, stat, errmsg)
    if (stat /= HFC_OK) return
    n = block%n(1:2)
    offset = block%offset(1:2)
    ndim = block%ndim
    halo = block%g
  end subroutine api_host_block

  subroutine api_host_set_state(id, u, t, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: t
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    if (.not. host_check(id, stat, errmsg)) return
    call hfc_host_set_state(hosts(id), u, t, stat, errmsg)
  end subroutine api_host_set_state

  !> Advance to exactly t_end; `steps` is the number of steps this call took.
  subroutine api_host_advance(id, t_end, steps, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: t_end
    integer(int64), intent(out) :: steps
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    steps = 0
    if (.not. host_check(id, stat, errmsg)) return
    steps = hosts(id)%steps
    call hfc_host_advance(hosts(id), t_end, stat, errmsg)
    steps = hosts(id)%steps - steps
  end subroutine api_host_advance

  !> One step of exactly dt.
  subroutine api_host_step(id, dt, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    if (.not. host_check(id, stat, errmsg)) return
    call hfc_host_step(hosts(id), dt, stat, errmsg)
  end subroutine api_host_step

  subroutine api_host_get_state(id, u, t, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(inout) :: u(:)
    real(wp), intent(out) :: t
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    t = 0.0_wp
    if (.not. host_check(id, stat, errmsg)) return
    call hfc_host_get_state(hosts(id), u, t, stat, errmsg)
  end subroutine api_host_get_state

  !> Time, steps so far, guard fallback faces, halo seconds, and this rank's block.
  subroutine api_host_diagnostics(id, t, steps, fallback_faces, halo_seconds, n, offset, halo, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(out) :: t, halo_seconds
    integer(int64), intent(out) :: steps, fallback_faces
    integer, intent(out) :: n, offset, halo
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_diagnostics_t) :: d
    if (host_check(id, stat, errmsg)) call hfc_host_diagnostics(hosts(id), d, stat, errmsg)
    t = d%t
    steps = d%steps
    fallback_faces = d%fallback_faces
    halo_seconds = d%halo_seconds
    n = d%n
    offset = d%offset
    halo = d%halo
  end subroutine api_host_diagnostics

  subroutine api_host_free(id)
    integer, intent(in) :: id
    if (id >= 1 .and. id <= size(hosts)) call hfc_host_free(hosts(id))
  end subroutine api_host_free

  ! ----------------------------------------------------------------------------------------
  ! ONNX models

  !> Load an ONNX model from its bytes (read and checked by the caller) and check its hfc
  !> metadata; returns its id (> 0), halo width and number of metadata entries. library:
  !> the ONNX Runtime library ('' for the default rule); device -1 is the CPU, k >= 0 CUDA k.
  subroutine api_onnx_load(bytes, library, threads, device, id, halo, entries, stat, errmsg)
    integer(int8), intent(in) :: bytes(:)
    character(len=*), intent(in) :: library
    integer, intent(in) :: threads, device
    integer, intent(out) :: id, halo, entries
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_model_meta_t) :: meta

    halo = -1
    entries = 0
    call load_slot(bytes, library, threads, device, id, stat, errmsg)
    if (stat == HFC_OK) call hfc_meta_read(models(id), meta, stat, errmsg)
    if (stat /= HFC_OK) then
      if (id > 0) call hfc_onnx_free(models(id))     ! id 0: no slot was free
      id = 0
      return
    end if
    halo = meta%halo
    model_halo(id) = halo
    entries = size(models(id)%metadata)
  end subroutine api_onnx_load

  !> Load a Neural-IVP evaluator (an ONNX model u(x, theta), hfc_ivp_evaluator) from its
  !> bytes; returns its id (> 0, freed by api_onnx_free), space dimensions, the length of
  !> theta and the components of u.
  subroutine api_ivp_load(bytes, library, threads, id, dims, parameters, components, stat, errmsg)
    integer(int8), intent(in) :: bytes(:)
    character(len=*), intent(in) :: library
    integer, intent(in) :: threads
    integer, intent(out) :: id, dims, parameters, components
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg

    dims = 0
    parameters = 0
    components = 0
    call load_slot(bytes, library, threads, -1, id, stat, errmsg)
    if (stat == HFC_OK) call hfc_ivp_read(models(id), evaluators(id), stat, errmsg)
    if (stat /= HFC_OK) then
      if (id > 0) call hfc_onnx_free(models(id))     ! id 0: no slot was free
      id = 0
      return
    end if
    model_halo(id) = -1
    dims = evaluators(id)%dims
    parameters = evaluators(id)%parameters
    components = evaluators(id)%components
  end subroutine api_ivp_load

  !> averages(c, i, j): component c of the evaluator `id` at parameters theta averaged over
  !> cell (i, j) of the grid with first-cell lower corner `lower` and cell widths `width`,
  !> by order x order Gauss-Legendre points per cell (1D: j = 1).
  subroutine api_ivp_cell_averages(id, theta, lower, width, order, averages, stat, errmsg)
    integer, intent(in) :: id, order
    real(wp), intent(in) :: theta(:), lower(:), width(:)
    real(wp), intent(inout) :: averages(:, :, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    if (.not. model_check(id, stat, errmsg)) return
    call hfc_ivp_cell_averages(models(id), evaluators(id), theta, lower, width, order, averages, stat, errmsg)
  end subroutine api_ivp_cell_averages

  !> Load model bytes into a free slot of the registry (id), with a blank evaluator
  !> description; on failure the slot stays free.
  subroutine load_slot(bytes, library, threads, device, id, stat, errmsg)
    integer(int8), intent(in) :: bytes(:)
    character(len=*), intent(in) :: library
    integer, intent(in) :: threads, device
    integer, intent(out) :: id, stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_onnx_config_t) :: config
    call hfc_clear(stat, errmsg)
    id = free_model_id()
    if (id == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: too many models loaded at once; free some first')
      return
    end if
    config%threads = threads
    config%device = device
    config%library = library
    evaluators(id) = hfc_ivp_evaluator_t()
    call hfc_onnx_load_bytes(models(id), bytes, config, stat, errmsg)
  end subroutine load_slot

  subroutine api_onnx_free(id)
    integer, intent(in) :: id
    if (id < 1 .or. id > size(models)) return
    call hfc_onnx_free(models(id))
    evaluators(id) = hfc_ivp_evaluator_t()
  end subroutine api_onnx_free

  !> Metadata entry i (1-based) of a loaded model, read at load.
  subroutine api_onnx_entry(id, i, key, value, stat, errmsg)
    integer, intent(in) :: id, i
    character(len=256), intent(out) :: key
    character(len=8192), intent(out) :: value
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    key = ''
    value = ''
    if (.not. model_check(id, stat, errmsg)) return
    if (i < 1 .or. i > size(models(id)%metadata)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no metadata entry ' // hfc_str(i))
      return
    end if
    key = models(id)%metadata(i)%key
    value = models(id)%metadata(i)%value
  end subroutine api_onnx_entry

  !> Face fluxes flux(n + 1, nbatch) of a loaded 1D model from u(n + 2g, nbatch), one run.
  subroutine api_onnx_face_fluxes(id, u, flux, stat, errmsg)
    integer, intent(in) :: id
    real(wp), intent(in) :: u(:, :)
    real(wp), intent(inout) :: flux(:, :)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    if (.not. model_check(id, stat, errmsg)) return
    call hfc_learned_batch(models(id), model_halo(id), u, flux, stat, errmsg)
  end subroutine api_onnx_face_fluxes

  !> Is the loaded model valid for a host solving `equation` on n cells of [0, length)?
  subroutine api_model_check(id, equation, viscosity, velocity, n, length, stat, errmsg)
    integer, intent(in) :: id, n
    character(len=*), intent(in) :: equation
    real(wp), intent(in) :: viscosity, velocity, length
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_equation_t) :: eq
    type(hfc_grid_t) :: grid
    if (.not. model_check(id, stat, errmsg)) return
    call hfc_equation_init(eq, equation, viscosity, velocity, stat, errmsg)
    if (stat == HFC_OK) call hfc_grid_init(grid, n, length, stat, errmsg)
    if (stat == HFC_OK) call hfc_model_check(models(id), eq, grid, stat, errmsg)
  end subroutine api_model_check

  !> Does the loaded model suit a host stepping with `method` ('euler', 'ssprk3') at Courant
  !> number cfl (0: a fixed step)? hfc_meta_check_time.
  subroutine api_model_check_time(id, method, cfl, stat, errmsg)
    integer, intent(in) :: id
    character(len=*), intent(in) :: method
    real(wp), intent(in) :: cfl
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_model_meta_t) :: meta
    if (.not. model_check(id, stat, errmsg)) return
    call hfc_meta_read(models(id), meta, stat, errmsg)
    if (stat == HFC_OK) call hfc_meta_check_time(meta, method, cfl, stat, errmsg)
  end subroutine api_model_check_time

  !> Key i (1-based) of the hfc metadata every model must carry; blank past the last.
  subroutine api_meta_required(i, key)
    integer, intent(in) :: i
    character(len=32), intent(out) :: key
    key = ''
    if (i >= 1 .and. i <= HFC_META_KEYS) key = HFC_META_REQUIRED(i)
  end subroutine api_meta_required

  !> Benchmark of the learned provider `provider`: `reps` calls of its face_fluxes on the
  !> halo-filled states u(n + 2g, nbatch) (each call one state when nbatch = 1, else the
  !> whole batch in one run). Returns the wall seconds of all calls and the seconds spent
  !> inside ONNX Runtime's Run.
  subroutine api_onnx_bench(provider, model, u, reps, seconds, run_seconds, stat, errmsg)
    integer, intent(in) :: provider, model
    real(wp), intent(in) :: u(:, :)
    integer, intent(in) :: reps
    real(wp), intent(out) :: seconds, run_seconds
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: global, block
    type(hfc_aux_t) :: none(0)
    real(wp), allocatable :: flux(:, :)
    integer(int64) :: start, finish, rate, runs
    integer :: i, n, g

    seconds = 0.0_wp
    run_seconds = 0.0_wp
    if (.not. provider_check(provider, stat, errmsg)) return
    if (.not. model_check(model, stat, errmsg)) return
    g = providers(provider)%p%halo_width()
    n = size(u, 1) - 2 * g
    call hfc_grid_init(global, n, real(n, wp), stat, errmsg)
    if (stat == HFC_OK) call hfc_grid_block(global, n, 0, g, block, stat, errmsg)
    if (stat /= HFC_OK) return
    allocate(flux(n + 1, size(u, 2)))
    call hfc_onnx_timers(models(model), run_seconds, runs, .true.)
    call system_clock(start, rate)
    do i = 1, reps
      if (size(u, 2) == 1) then
        call providers(provider)%p%face_fluxes(block, u(:, 1), none, 0.0_wp, 0.0_wp, flux(:, 1), stat, errmsg)
      else
        call hfc_learned_batch(models(model), g, u, flux, stat, errmsg)
      end if
      if (stat /= HFC_OK) return
    end do
    call system_clock(finish)
    seconds = real(finish - start, wp) / real(rate, wp)
    call hfc_onnx_timers(models(model), run_seconds, runs, .true.)
  end subroutine api_onnx_bench

  !> Open ONNX Runtime (library '' for the default rule) and say where it is and its version.
  subroutine api_onnx_runtime(library, path, version, stat, errmsg)
    character(len=*), intent(in) :: library
    character(len=1024), intent(out) :: path
    character(len=64), intent(out) :: version
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    call hfc_onnx_open_runtime(library, stat, errmsg)
    call hfc_onnx_runtime_info(path, version)
  end subroutine api_onnx_runtime

  ! ----------------------------------------------------------------------------------------
  ! MPI decomposition (tests and the Python gather)

  !> This rank's block of a periodic grid of n_global(d) cells per dimension (1 or 2) over
  !> the communicator comm (-1: serial; procs as in api_host_create): its cells and the
  !> global index of its first cell minus one, per dimension (1 and 0 beyond the grid's).
  subroutine api_decompose(comm, n_global, procs, g, n, offset, stat, errmsg)
    integer, intent(in) :: comm, n_global(:), procs(2), g
    integer, intent(out) :: n(2), offset(2)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: block
    call block_of(comm, n_global, procs, g, block, stat, errmsg)
    n = block%n(1:2)
    offset = block%offset(1:2)
  end subroutine api_decompose

  !> Fill the halos of this rank's block u (cells with halo, x fastest) of that grid
  !> (collective over comm): the library's halo exchange, for tests.
  subroutine api_fill_halo(comm, n_global, procs, g, u, stat, errmsg)
    integer, intent(in) :: comm, n_global(:), procs(2), g
    real(wp), intent(inout) :: u(:)
    integer, intent(out) :: stat
    character(len=HFC_ERRMSG_LEN), intent(out) :: errmsg
    type(hfc_grid_t) :: block
    class(hfc_decomposition_t), allocatable :: decomp
    call block_of(comm, n_global, procs, g, block, stat, errmsg, decomp)
    if (stat == HFC_OK) call decomp%fill_halo(block, u, stat, errmsg)
  end subroutine api_fill_halo

  subroutine block_of(comm, n_global, procs, g, block, stat, errmsg, decomp)
    integer, intent(in) :: comm, n_global(:), procs(2), g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    class(hfc_decomposition_t), allocatable, intent(out), optional :: decomp
    class(hfc_decomposition_t), allocatable :: d
    type(hfc_grid_t) :: global
    call decomposition(comm, size(n_global), procs, d)
    call hfc_grid_init(global, n_global, spread(1.0_wp, 1, size(n_global)), stat, errmsg)
    if (stat == HFC_OK) call d%split(global, g, block, stat, errmsg)
    if (present(decomp)) call move_alloc(d, decomp)
  end subroutine block_of

  !> The decomposition of a grid of ndim dimensions over comm: serial (comm -1), the ring
  !> (1D) or the Cartesian grid of procs(1) x procs(2) ranks (2D; 0: MPI_Dims_create's).
  subroutine decomposition(comm, ndim, procs, decomp)
    integer, intent(in) :: comm, ndim, procs(2)
    class(hfc_decomposition_t), allocatable, intent(out) :: decomp
    if (comm == NO_COMM) then
      allocate(decomp)
    else if (ndim == 1) then
      allocate(decomp, source=hfc_mpi_ring(comm))
    else
      allocate(decomp, source=hfc_mpi_cart(comm, procs))
    end if
  end subroutine decomposition

end module hfc_api
