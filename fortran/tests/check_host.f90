!> Self-checks of libhfc meant for the debug build (bounds checking, floating-point traps):
!> the halo fill, every scheme in the host (conservation, exact end time), the polynomial
!> stencil, forward Euler, the own-loop coupler, and misuse: uninitialised handles, wrong
!> sizes and wider halos give a status and a message naming the sizes, never a crash or a
!> silently wrong flux; errmsg is blank on success. Exit status 0 when all pass. Run by
!> `meson test` (tests/test_fortran_library.py).
program check_host
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN, HFC_ERR_ARGUMENT
  use hfc_grid, only: hfc_grid_t, hfc_grid_init, hfc_grid_block, hfc_get_interior, hfc_set_interior, hfc_cell_centres
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_polynomial, only: hfc_polynomial_flux, hfc_polynomial_init
  use hfc_forcing, only: hfc_forcing_t, hfc_forcing_params_t, hfc_forcing_init, hfc_forcing_read
  use hfc_stepper, only: HFC_FORWARD_EULER
  use hfc_host, only: hfc_host_t, hfc_time_config_t, hfc_diagnostics_t, hfc_host_create, hfc_host_add_source, &
                      hfc_host_set_state, hfc_host_advance, hfc_host_get_state, hfc_host_diagnostics, hfc_host_step
  use hfc_coupler, only: hfc_coupler_t, hfc_coupler_create, hfc_coupler_face_fluxes
  use hfc_transport, only: hfc_lin_slope, hfc_upwind_flux, hfc_vanleer_flux
  use hfc_stepper, only: HFC_SSPRK3
  use hfc_flow, only: hfc_flow_t, hfc_flow_init, HFC_FLOW_STEADY, HFC_FLOW_COSINE
  use hfc_advection2d, only: hfc_advection2d_flux, hfc_advection2d_init
  use hfc_host, only: hfc_host_set_flow
  implicit none

  character(len=HFC_ERRMSG_LEN) :: errmsg
  character(len=8), parameter :: schemes(3) = [character(len=8) :: 'godunov', 'fv3', 'weno5']
  real(wp), parameter :: pi = acos(-1.0_wp)
  integer :: failures = 0

  call check_halo()
  call check_halo_2d()
  call check_flux_values()
  call check_transport()
  call check_advection2d()
  call check_schemes()
  call check_polynomial_and_euler()
  call check_wide_halo()
  call check_coupler()
  call check_errors()
  call check_forcing_file()
  if (failures > 0) then
    print '(i0, a)', failures, ' check(s) failed'
    error stop 1
  end if
  print '(a)', 'check_host: all checks passed'

contains

  subroutine expect(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) then
      failures = failures + 1
      print '(2a)', 'FAILED: ', what
    end if
  end subroutine expect

  subroutine check_halo()
    type(hfc_grid_t) :: global, block
    type(hfc_decomposition_t) :: serial
    real(wp) :: u(13)
    integer :: stat, i
    call hfc_grid_init(global, 7, 1.0_wp, stat, errmsg)
    call hfc_grid_block(global, 7, 0, 3, block, stat, errmsg)
    call expect(stat == HFC_OK .and. block%cells() == 13 .and. block%faces() == 8, 'block sizes')
    u = -1.0_wp
    u(4:10) = [(real(i, wp), i = 1, 7)]
    call serial%fill_halo(block, u, stat, errmsg)
    call expect(stat == HFC_OK .and. errmsg == '', 'halo fill status, blank message')
    call expect(all(u(1:3) == [5.0_wp, 6.0_wp, 7.0_wp]), 'left halo wraps the right end')
    call expect(all(u(11:13) == [1.0_wp, 2.0_wp, 3.0_wp]), 'right halo wraps the left end')
  end subroutine check_halo

  !> A 2D block (non-square, 5 x 3 cells, halo 2 > ny / 2 so the wrap reaches across):
  !> every halo cell, corners included, holds the tag of its periodic image; the interior
  !> round-trips through get/set in x-fastest order; the sizes count cells and faces.
  subroutine check_halo_2d()
    type(hfc_grid_t) :: global, block
    type(hfc_decomposition_t) :: serial
    integer, parameter :: nx = 5, ny = 3, g = 2
    real(wp) :: u(nx + 2 * g, ny + 2 * g), flat((nx + 2 * g) * (ny + 2 * g)), v(nx * ny), w(nx * ny)
    real(wp) :: centres(ny)
    integer :: stat, i, j
    call hfc_grid_init(global, [nx, ny], [1.0_wp, 0.6_wp], stat, errmsg)
    call hfc_grid_block(global, [nx, ny], [0, 0], g, block, stat, errmsg)
    call expect(stat == HFC_OK .and. block%cells() == 9 * 7 .and. block%faces() == 6 * 3 + 5 * 4, '2D block sizes')
    u = -1.0_wp
    do j = 1, ny
      do i = 1, nx
        u(g + i, g + j) = 10.0_wp * i + j            ! tag: 10 x + y of the interior cell
      end do
    end do
    flat = reshape(u, [size(u)])
    call serial%fill_halo(block, flat, stat, errmsg)
    u = reshape(flat, shape(u))
    call expect(stat == HFC_OK, '2D halo fill status')
    call expect(all([((u(i, j) == 10.0_wp * (modulo(i - g - 1, nx) + 1) + (modulo(j - g - 1, ny) + 1), &
                       i = 1, nx + 2 * g), j = 1, ny + 2 * g)]), '2D halo and corners wrap periodically')
    v = [((10.0_wp * i + j, i = 1, nx), j = 1, ny)]
    call hfc_get_interior(block, flat, w)
    call expect(all(w == v), '2D interior read x fastest')
    flat = 0.0_wp
    call hfc_set_interior(block, v, flat)
    u = reshape(flat, shape(u))
    call expect(all(u(g + 1:g + nx, g + 1:g + ny) == reshape(v, [nx, ny])) .and. count(u /= 0.0_wp) == nx * ny, &
                '2D interior written x fastest, halo untouched')
    call hfc_cell_centres(block, centres, dim=2)
    call expect(all(abs(centres - [0.1_wp, 0.3_wp, 0.5_wp]) < 1.0e-15_wp), 'cell centres along y')
    call hfc_grid_block(global, [nx, 1], [0, 0], g, block, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, 'halo 2, n = 1') > 0, '2D: a halo wider than a block refused')
  end subroutine check_halo_2d

  !> The forcing of two modes and a smooth initial state on n cells.
  subroutine setup(n, forcing, u0)
    integer, intent(in) :: n
    type(hfc_forcing_t), intent(out) :: forcing
    real(wp), allocatable, intent(out) :: u0(:)
    type(hfc_forcing_params_t) :: params
    integer :: stat, i
    params%amplitude = [0.3_wp, -0.2_wp]
    params%omega = [0.1_wp, -0.3_wp]
    params%phase = [1.0_wp, 2.0_wp]
    params%wavenumber = [3, 5]
    call hfc_forcing_init(forcing, params, stat, errmsg)
    u0 = [(sin(2.0_wp * pi * (i - 0.5_wp) / n) + 0.5_wp, i = 1, n)]
  end subroutine setup

  !> Forced Burgers with each scheme in the host: finite, mean conserved, exact end time.
  subroutine check_schemes()
    type(hfc_grid_t) :: grid
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: flux
    type(hfc_forcing_t) :: forcing
    type(hfc_time_config_t) :: time
    type(hfc_host_t) :: h
    type(hfc_diagnostics_t) :: d
    real(wp), allocatable :: u0(:), u(:)
    real(wp) :: t
    integer :: stat, s, n

    n = 48
    call setup(n, forcing, u0)
    allocate(u(n))
    call hfc_grid_init(grid, n, 2.0_wp * pi, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    do s = 1, size(schemes)
      call hfc_classical_init(flux, eq, schemes(s), stat, errmsg)
      call expect(stat == HFC_OK, 'scheme init ' // trim(schemes(s)))
      call hfc_host_create(h, grid, eq, flux, time, stat, errmsg)
      call expect(stat == HFC_OK .and. errmsg == '', 'host create ' // trim(schemes(s)))
      call hfc_host_add_source(h, forcing, stat, errmsg)
      call hfc_host_set_state(h, u0, 0.0_wp, stat, errmsg)
      call hfc_host_advance(h, 1.5_wp, stat, errmsg)
      call hfc_host_advance(h, 3.0_wp, stat, errmsg)      ! advanced twice, nothing rebuilt
      call expect(stat == HFC_OK, 'advance ' // trim(schemes(s)) // ': ' // trim(errmsg))
      call hfc_host_get_state(h, u, t, stat, errmsg)
      call hfc_host_diagnostics(h, d, stat, errmsg)
      call expect(t == 3.0_wp, 'lands exactly on the end time')
      call expect(d%steps > 10 .and. d%halo == flux%halo_width(), 'took steps, halo of the scheme')
      call expect(abs(sum(u) / n - sum(u0) / n) < 1.0e-12_wp, 'mean conserved ' // trim(schemes(s)))
    end do
  end subroutine check_schemes

  !> KS with the polynomial stencil, and Burgers with forward Euler: conservative, finite.
  subroutine check_polynomial_and_euler()
    type(hfc_grid_t) :: grid
    type(hfc_equation_t) :: eq
    type(hfc_polynomial_flux) :: poly
    type(hfc_classical_flux) :: weno
    type(hfc_time_config_t) :: time
    type(hfc_host_t) :: h
    type(hfc_forcing_t) :: forcing
    real(wp), allocatable :: u0(:), u(:)
    real(wp) :: t
    integer :: stat, n

    n = 32
    call setup(n, forcing, u0)
    allocate(u(n))
    call hfc_grid_init(grid, n, 64.0_wp, stat, errmsg)
    call hfc_equation_init(eq, 'ks', 0.0_wp, 0.0_wp, stat, errmsg)
    call expect(stat == HFC_OK .and. eq%terms == 2, 'ks has two derivative terms')
    call hfc_polynomial_init(poly, eq, stat, errmsg)
    call expect(stat == HFC_OK .and. poly%halo_width() == 3, 'polynomial stencil of 6 cells')
    call expect(abs(sum(poly%alpha(:, 0)) - 1.0_wp) < 1.0e-13_wp, 'value weights sum to one')
    call expect(abs(sum(poly%alpha(:, 1))) < 1.0e-12_wp, 'derivative weights sum to zero')
    call hfc_host_create(h, grid, eq, poly, time, stat, errmsg)
    call hfc_host_set_state(h, u0, 0.0_wp, stat, errmsg)
    call hfc_host_advance(h, 2.0_wp, stat, errmsg)
    call hfc_host_get_state(h, u, t, stat, errmsg)
    call expect(stat == HFC_OK .and. abs(sum(u) - sum(u0)) < 1.0e-11_wp, 'ks polynomial: conservative')

    call hfc_grid_init(grid, n, 2.0_wp * pi, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(weno, eq, 'weno5', stat, errmsg)
    time%method = HFC_FORWARD_EULER
    time%cfl = 0.3_wp
    call hfc_host_create(h, grid, eq, weno, time, stat, errmsg)
    call hfc_host_set_state(h, u0, 0.0_wp, stat, errmsg)
    call hfc_host_advance(h, 1.0_wp, stat, errmsg)
    call hfc_host_get_state(h, u, t, stat, errmsg)
    call expect(stat == HFC_OK .and. t == 1.0_wp .and. abs(sum(u) - sum(u0)) < 1.0e-12_wp, 'forward Euler')
  end subroutine check_polynomial_and_euler

  !> The passive-scalar face fluxes (hfc_transport): Lin's slope on known triples; the Van
  !> Leer face value inside its upwind neighbourhood for 2000 pseudo-random cases (no new
  !> extrema); mirror symmetry exact; at Courant 1 both schemes shift a square wave by one
  !> cell per forward Euler step, exactly; at Courant 1/2 over one period of 64 cells Van
  !> Leer keeps [0, 1] and the mass (to round-off, 1e-13) and beats upwind's error.
  subroutine check_transport()
    integer, parameter :: n = 64
    real(wp) :: a, b, c, d, v, courant, face, lo, hi, dm
    real(wp) :: up(n), vl(n), exact(n), mass
    logical :: inside, mirrored
    integer :: k, step, i

    call expect(hfc_lin_slope(1.0_wp, 2.0_wp, 3.0_wp) == 1.0_wp, 'Lin slope: linear data unlimited')
    call expect(hfc_lin_slope(1.0_wp, 3.0_wp, 2.0_wp) == 0.0_wp, 'Lin slope: zero at an extremum')
    call expect(abs(hfc_lin_slope(0.0_wp, 0.1_wp, 10.0_wp) - 0.2_wp) < 1.0e-15_wp, 'Lin slope: limited by 2 (c - min)')
    inside = .true.
    mirrored = .true.
    do k = 1, 2000
      a = sin(1.3_wp * k)
      b = sin(2.1_wp * k + 0.4_wp)
      c = sin(0.7_wp * k + 1.1_wp)
      d = sin(3.3_wp * k + 2.0_wp)
      v = 0.5_wp + 0.5_wp * sin(0.9_wp * k)          ! >= 0: the upwind cell is b
      courant = 0.5_wp + 0.5_wp * cos(1.7_wp * k)
      dm = hfc_lin_slope(a, b, c)
      face = b + dm * 0.5_wp * (1.0_wp - courant)
      lo = min(a, b, c)
      hi = max(a, b, c)
      inside = inside .and. face >= lo - 1.0e-15_wp .and. face <= hi + 1.0e-15_wp
      mirrored = mirrored .and. hfc_vanleer_flux(a, b, c, d, v, courant) == -hfc_vanleer_flux(d, c, b, a, -v, courant)
    end do
    call expect(inside, 'Van Leer face values stay within the upwind neighbourhood')
    call expect(mirrored, 'Van Leer flux mirror-symmetric')
    ! a square wave on a periodic ring of n cells, velocity 1, dx = 1
    exact = merge(1.0_wp, 0.0_wp, [(i > 10 .and. i <= 26, i = 1, n)])
    up = exact
    vl = exact
    do step = 1, 5                                    ! Courant 1: dt = dx / v
      call advance(up, 1.0_wp, .false.)
      call advance(vl, 1.0_wp, .true.)
    end do
    call expect(all(up == cshift(exact, -5)) .and. all(vl == cshift(exact, -5)), &
                'upwind and Van Leer at Courant 1 shift one cell per step, exactly')
    up = exact
    vl = exact
    mass = sum(exact)
    do step = 1, 2 * n                                ! Courant 1/2 for one period
      call advance(up, 0.5_wp, .false.)
      call advance(vl, 0.5_wp, .true.)
    end do
    call expect(minval(vl) >= -1.0e-15_wp .and. maxval(vl) <= 1.0_wp + 1.0e-15_wp, 'Van Leer: no new extrema')
    call expect(abs(sum(vl) - mass) < 1.0e-13_wp .and. abs(sum(up) - mass) < 1.0e-13_wp, 'transport conserves mass')
    call expect(sum(abs(vl - exact)) < 0.5_wp * sum(abs(up - exact)), 'Van Leer beats upwind after one period')
  end subroutine check_transport

  !> 2D passive-scalar advection in the host (hfc_flow, hfc_advection2d), against
  !> mathematics: orders of accuracy on smooth data, exact shifts, transposition symmetry,
  !> a constant staying constant (zero discrete divergence), conservation and bounds.
  subroutine check_advection2d()
    integer, parameter :: nx = 24, ny = 16
    real(wp) :: u(nx, ny), v(nx, ny), c(nx, ny), ct(ny, nx), c0(nx, ny), mass0
    real(wp) :: errors(3, 2), order
    real(wp), allocatable :: a(:, :), b(:, :), ua(:, :), va(:, :)
    character(len=8), parameter :: names(3) = [character(len=8) :: 'upwind', 'vanleer', 'weno5']
    integer :: k, m, i, j, stat, n
    type(hfc_flow_t) :: flow

    ! orders on a smooth sine advected diagonally once around [0,1]^2, L1 against the
    ! exact cell averages: upwind first order, Van Leer and WENO5 at least second
    do k = 1, 3
      do m = 1, 2
        n = 32 * 2**m
        allocate(a(n, n), b(n, n), ua(n, n), va(n, n))
        ua = 1.0_wp
        va = 0.5_wp
        a = sine_averages(n, 0.0_wp)
        call run(names(k), merge(HFC_SSPRK3, HFC_FORWARD_EULER, k == 3), [1.0_wp, 1.0_wp], ua, va, HFC_FLOW_STEADY, &
                 a, 0.5_wp, 1.0_wp, b, stat)
        errors(k, m) = sum(abs(b - sine_averages(n, 1.0_wp))) / n**2
        deallocate(a, b, ua, va)
      end do
      order = log(errors(k, 1) / errors(k, 2)) / log(2.0_wp)
      print '(a, a8, a, f6.3, a, 2es10.2)', 'advection2d order ', names(k), ': ', order, '   L1 ', errors(k, :)
      call expect(stat == HFC_OK .and. order > merge(0.8_wp, 1.8_wp, k == 1) .and. order < merge(1.2_wp, 9.0_wp, k == 1), &
                  'advection2d ' // trim(names(k)) // ': observed order of accuracy')
    end do

    ! upwind at Courant 1 along x (dx = 1/32, dt = dx): one cell per step, exactly (dyadic data)
    allocate(a(32, 8), b(32, 8), ua(32, 8), va(32, 8))
    ua = 1.0_wp
    va = 0.0_wp
    a = reshape([(real(mod(7 * i, 11), wp) / 8.0_wp, i = 1, 32 * 8)], [32, 8])
    call run('upwind', HFC_FORWARD_EULER, [1.0_wp, 0.25_wp], ua, va, HFC_FLOW_STEADY, a, 1.0_wp, 5.0_wp / 32.0_wp, b, stat)
    call expect(stat == HFC_OK .and. all(b == cshift(a, -5, dim=1)), 'advection2d upwind at Courant 1: exact shifts')
    deallocate(a, b, ua, va)

    ! a divergence-free flow from a corner stream function, on a non-square grid with dx /= dy
    call stream_velocities(u, v)
    c0 = reshape([(exp(-real(mod(i * 37, 97), wp) / 50.0_wp), i = 1, nx * ny)], [nx, ny])
    do k = 1, 3
      call run(names(k), merge(HFC_SSPRK3, HFC_FORWARD_EULER, k == 3), [1.0_wp, 1.0_wp], u, v, HFC_FLOW_COSINE, c0, &
               0.5_wp, 0.3_wp, c, stat)
      call run(names(k), merge(HFC_SSPRK3, HFC_FORWARD_EULER, k == 3), [1.0_wp, 1.0_wp], transpose(v), transpose(u), &
               HFC_FLOW_COSINE, transpose(c0), 0.5_wp, 0.3_wp, ct, stat)
      call expect(stat == HFC_OK .and. all(transpose(ct) == c), 'advection2d ' // trim(names(k)) // &
                  ': swapping x and y transposes the result bit for bit')
      ! a constant stays constant: the discrete divergence is zero to round-off
      call run(names(k), merge(HFC_SSPRK3, HFC_FORWARD_EULER, k == 3), [1.0_wp, 1.0_wp], u, v, HFC_FLOW_STEADY, &
               0.0_wp * c0 + 0.7_wp, 0.5_wp, 0.3_wp, c, stat)
      call expect(stat == HFC_OK .and. maxval(abs(c - 0.7_wp)) < 1.0e-13_wp, 'advection2d ' // trim(names(k)) // &
                  ': a constant tracer stays constant')
    end do
    ! conservation over 10^4 steps, and Van Leer creates no new extrema
    mass0 = sum(c0)
    call run('vanleer', HFC_FORWARD_EULER, [1.0_wp, 1.0_wp], u, v, HFC_FLOW_STEADY, c0, 0.5_wp, 0.0_wp, c, stat, 10000)
    print '(a, es10.2, a, 2es10.2)', 'advection2d vanleer, 1e4 steps: mass change ', abs(sum(c) - mass0) / mass0, &
      ', below min / above max ', minval(c0) - minval(c), maxval(c) - maxval(c0)
    call expect(stat == HFC_OK .and. abs(sum(c) - mass0) < 1.0e-12_wp * mass0, 'advection2d: mass kept over 1e4 steps')
    call expect(minval(c) >= minval(c0) - 1.0e-14_wp .and. maxval(c) <= maxval(c0) + 1.0e-14_wp, &
                'advection2d vanleer: no new extrema')
    call check_deformational()
    ! misuse: velocity arrays of different shapes
    call hfc_flow_init(flow, u(:, 1:2), v, HFC_FLOW_STEADY, 0.0_wp, 1.0_wp, 1.0_wp, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, 'both need (nx, ny)') > 0, 'flow: shapes checked')
  end subroutine check_advection2d

    !> Cell averages of sin(2 pi (x - t)) sin(2 pi (y - t/2)) on n x n cells of [0,1]^2.
    function sine_averages(n, t) result(avg)
      integer, intent(in) :: n
      real(wp), intent(in) :: t
      real(wp) :: avg(n, n), h, sx(n), sy(n)
      integer :: q
      h = 1.0_wp / n
      ! average of sin(2 pi (x - s)) over a cell: (cos(2 pi (x_l - s)) - cos(2 pi (x_r - s))) / (2 pi h)
      sx = [((cos(2 * pi * ((q - 1) * h - t)) - cos(2 * pi * (q * h - t))) / (2 * pi * h), q = 1, n)]
      sy = [((cos(2 * pi * ((q - 1) * h - 0.5_wp * t)) - cos(2 * pi * (q * h - 0.5_wp * t))) / (2 * pi * h), q = 1, n)]
      avg = spread(sx, 2, n) * spread(sy, 1, n)
    end function sine_averages

    !> Face velocities of a periodic stream function on [0,1]^2 from its corner values:
    !> u = d psi / dy (the difference along the face over dy), v = -d psi / dx.
    subroutine stream_velocities(u, v)
      real(wp), intent(out) :: u(:, :), v(:, :)
      real(wp) :: psi(size(u, 1) + 1, size(u, 2) + 1), x, y
      integer :: p, q, nx, ny
      nx = size(u, 1)
      ny = size(u, 2)
      do q = 1, ny + 1
        do p = 1, nx + 1
          x = real(p - 1, wp) / nx
          y = real(q - 1, wp) / ny
          psi(p, q) = (sin(2 * pi * x) * cos(2 * pi * y) + 0.5_wp * cos(4 * pi * x + 1.0_wp) * sin(2 * pi * y)) / (2 * pi)
        end do
      end do
      u = (psi(1:nx, 2:ny + 1) - psi(1:nx, 1:ny)) * ny        ! the left face of cell (p, q), dy = 1 / ny
      v = -(psi(2:nx + 1, 1:ny) - psi(1:nx, 1:ny)) * nx       ! the lower face, dx = 1 / nx
    end subroutine stream_velocities

  !> LeVeque's deformational flow (Zhuang et al. 2021, Eq. 8-9: [0,1]^2, T = 5, the cosine
  !> blob, Courant 0.5, forward Euler): the flow reverses, so at t = T the blob is back
  !> where it started, smeared by the scheme only. T = 5 stretches it into a filament a few
  !> cells thin, so at 64^2 Van Leer's L1 error is large (measured 3.7e-2 against a blob
  !> mean of 5.8e-2; upwind 7.5e-2) and it falls with resolution (1.5e-2 at 128^2): the
  !> check is that it converges (more than halved) and beats upwind by 1.5x at 64^2.
  subroutine check_deformational()
    real(wp) :: err(3)
    err(1) = deformational_error(64, 'vanleer')
    err(2) = deformational_error(128, 'vanleer')
    err(3) = deformational_error(64, 'upwind')
    print '(a, 3es10.2)', 'deformational flow at T, L1 vanleer 64^2, 128^2, upwind 64^2: ', err
    call expect(err(1) < 0.05_wp .and. err(2) < 0.5_wp * err(1) .and. err(3) > 1.5_wp * err(1), &
                'deformational flow: Van Leer returns near its initial state at T, converging')
  end subroutine check_deformational

  !> L1 distance between the initial cosine blob and the state at T on n x n cells.
  real(wp) function deformational_error(n, scheme) result(err)
    integer, intent(in) :: n
    character(len=*), intent(in) :: scheme
    real(wp) :: psi(n + 1, n + 1), u(n, n), v(n, n), c0(n, n), c(n, n), x, y, r
    integer :: p, q, stat
    do q = 1, n + 1
      do p = 1, n + 1
        x = real(p - 1, wp) / n
        y = real(q - 1, wp) / n
        psi(p, q) = sin(pi * x)**2 * sin(pi * y)**2 / pi     ! u = psi_y, v = -psi_x: Eq. 8 with the minus sign on v
      end do
    end do
    u = (psi(1:n, 2:n + 1) - psi(1:n, 1:n)) * n
    v = -(psi(2:n + 1, 1:n) - psi(1:n, 1:n)) * n
    do q = 1, n
      do p = 1, n
        r = min(1.0_wp, 4.0_wp * sqrt(((p - 0.5_wp) / n - 0.25_wp)**2 + ((q - 0.5_wp) / n - 0.25_wp)**2))
        c0(p, q) = 0.5_wp * (1.0_wp + cos(pi * r))
      end do
    end do
    call run(scheme, HFC_FORWARD_EULER, [1.0_wp, 1.0_wp], u, v, HFC_FLOW_COSINE, c0, 0.5_wp, 5.0_wp, c, stat, &
             period=5.0_wp)
    err = huge(err)
    if (stat == HFC_OK) err = sum(abs(c - c0)) / n**2
  end function deformational_error

  !> Run a 2D advection host on the grid of c0's shape over [0, length(1)) x [0, length(2)):
  !> scheme, method, face velocities (law, period 1 or given), Courant number cfl, to t_end (or a
  !> fixed number of steps at the CFL step); the state at the end in c.
  subroutine run(scheme, method, length, u, v, law, c0, cfl, t_end, c, stat, steps, period)
    character(len=*), intent(in) :: scheme
    integer, intent(in) :: method, law
    real(wp), intent(in) :: length(2), u(:, :), v(:, :), c0(:, :), cfl, t_end
    real(wp), intent(out) :: c(:, :)
    integer, intent(out) :: stat
    integer, intent(in), optional :: steps
    real(wp), intent(in), optional :: period
    type(hfc_grid_t) :: global
    type(hfc_equation_t) :: eq
    type(hfc_advection2d_flux) :: provider
    type(hfc_time_config_t) :: time
    type(hfc_flow_t) :: flow
    type(hfc_host_t) :: host
    real(wp) :: t, flat(size(c0)), t_law
    integer :: k
    t_law = 1.0_wp
    if (present(period)) t_law = period

    call hfc_grid_init(global, shape(c0), length, stat, errmsg)
    if (stat == HFC_OK) call hfc_equation_init(eq, 'advection2d', 0.0_wp, 0.0_wp, stat, errmsg)
    if (stat == HFC_OK) call hfc_advection2d_init(provider, scheme, stat, errmsg)
    if (stat == HFC_OK) call hfc_flow_init(flow, u, v, law, t_law, global%dx(1), global%dx(2), stat, errmsg)
    time%cfl = cfl
    time%method = method
    if (stat == HFC_OK) call hfc_host_create(host, global, eq, provider, time, stat, errmsg)
    if (stat == HFC_OK) call hfc_host_set_flow(host, flow, stat, errmsg)
    if (stat == HFC_OK) call hfc_host_set_state(host, reshape(c0, [size(c0)]), 0.0_wp, stat, errmsg)
    if (present(steps)) then
      do k = 1, steps
        if (stat == HFC_OK) call hfc_host_step(host, flow%stable_dt(cfl), stat, errmsg)
      end do
    else if (stat == HFC_OK) then
      call hfc_host_advance(host, t_end, stat, errmsg)
    end if
    if (stat == HFC_OK) call hfc_host_get_state(host, flat, t, stat, errmsg)
    if (stat /= HFC_OK) print '(2a)', 'advection2d run: ', trim(errmsg)
    c = reshape(flat, shape(c))
  end subroutine run

  !> One forward Euler step of c_t + c_x = 0 (velocity 1, dx 1, periodic) at Courant cfl.
  subroutine advance(q, cfl, vanleer)
    real(wp), intent(inout) :: q(:)
    real(wp), intent(in) :: cfl
    logical, intent(in) :: vanleer
    real(wp) :: ext(-1:size(q) + 2), f(size(q) + 1)
    integer :: n
    n = size(q)
    ext(1:n) = q
    ext(-1:0) = q(n - 1:n)
    ext(n + 1:n + 2) = q(1:2)
    if (vanleer) then            ! face j between cells j - 1 and j
      f = hfc_vanleer_flux(ext(-1:n - 1), ext(0:n), ext(1:n + 1), ext(2:n + 2), 1.0_wp, cfl)
    else
      f = hfc_upwind_flux(ext(0:n), ext(1:n + 1), 1.0_wp)
    end if
    q = q - cfl * (f(2:n + 1) - f(1:n))
  end subroutine advance

  !> Flux values against their formulas: inviscid Burgers on a constant state c has the
  !> flux c^2 / 2 at every face with every scheme (reconstructions are exact on constants:
  !> weights summing to one leave an ulp or two, so 1e-15); Godunov for advection at speed
  !> 2 is the upwind flux 2 u of the cell left of each face (one product: exact).
  subroutine check_flux_values()
    type(hfc_grid_t) :: global, block
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: flux
    type(hfc_aux_t) :: none(0)
    real(wp) :: u(16 + 2 * 3), f(17)
    integer :: stat, s, i

    call hfc_grid_init(global, 16, 1.0_wp, stat, errmsg)
    call hfc_grid_block(global, 16, 0, 3, block, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.0_wp, 0.0_wp, stat, errmsg)
    u = 0.6_wp
    do s = 1, size(schemes)
      call hfc_classical_init(flux, eq, schemes(s), stat, errmsg)
      call flux%face_fluxes(block, u, none, 0.0_wp, 0.0_wp, f, stat, errmsg)
      call expect(stat == HFC_OK .and. all(abs(f - 0.18_wp) < 1.0e-15_wp), &
                  'Burgers flux of a constant state, ' // trim(schemes(s)))
    end do
    call hfc_equation_init(eq, 'advection', 0.0_wp, 2.0_wp, stat, errmsg)
    call hfc_classical_init(flux, eq, 'godunov', stat, errmsg)
    u = [(sin(0.5_wp * i), i = 1, size(u))]
    call flux%face_fluxes(block, u, none, 0.0_wp, 0.0_wp, f, stat, errmsg)   ! face j: between u(2 + j) and u(3 + j)
    call expect(stat == HFC_OK .and. all(f == 2.0_wp * u(3:19)), 'Godunov advection flux is the upwind 2 u')
  end subroutine check_flux_values

  !> Every provider gives the same fluxes on a block with a wider halo than it reads, and
  !> refuses a state whose length does not match the block (naming the sizes).
  subroutine check_wide_halo()
    type(hfc_grid_t) :: global, narrow, wide
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: weno
    type(hfc_polynomial_flux) :: poly
    type(hfc_aux_t) :: none(0)
    real(wp) :: u(20 + 2 * 5), a(21), b(21)
    integer :: stat, i

    call hfc_grid_init(global, 20, 1.0_wp, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(weno, eq, 'weno5', stat, errmsg)
    call hfc_polynomial_init(poly, eq, stat, errmsg)
    call hfc_grid_block(global, 20, 0, 3, narrow, stat, errmsg)
    call hfc_grid_block(global, 20, 0, 5, wide, stat, errmsg)
    u = [(sin(0.7_wp * i) + 0.1_wp * i, i = 1, size(u))]
    call weno%face_fluxes(narrow, u(3:28), none, 0.0_wp, 0.0_wp, a, stat, errmsg)
    call weno%face_fluxes(wide, u, none, 0.0_wp, 0.0_wp, b, stat, errmsg)
    call expect(stat == HFC_OK .and. all(a == b), 'weno5 on a wider halo: the same fluxes')
    call poly%face_fluxes(narrow, u(3:28), none, 0.0_wp, 0.0_wp, a, stat, errmsg)
    call poly%face_fluxes(wide, u, none, 0.0_wp, 0.0_wp, b, stat, errmsg)
    call expect(stat == HFC_OK .and. all(a == b), 'polynomial on a wider halo: the same fluxes')
    call weno%face_fluxes(narrow, u, none, 0.0_wp, 0.0_wp, a, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, 'has 30 values') > 0 .and. index(errmsg, '= 26') > 0, &
                'a state longer than the block is refused, sizes named: ' // trim(errmsg))
  end subroutine check_wide_halo

  !> The own-loop coupler: interior state (periodic halo filled inside), the caller's own
  !> ghosts (wider than the scheme's), and a strided row q(2, :) give the same fluxes.
  subroutine check_coupler()
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: weno
    type(hfc_coupler_t) :: c, unset
    real(wp) :: q(3, 16), ghosted(16 + 8), f1(17), f2(17), f3(17)
    integer :: stat, i

    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(weno, eq, 'weno5', stat, errmsg)
    call hfc_coupler_create(c, 16, 0.25_wp, weno, stat, errmsg)
    call expect(stat == HFC_OK .and. errmsg == '', 'coupler create')
    q = 0.0_wp
    q(2, :) = [(cos(0.4_wp * i), i = 1, 16)]
    ghosted(5:20) = q(2, :)
    ghosted(1:4) = q(2, 13:16)
    ghosted(21:24) = q(2, 1:4)
    call hfc_coupler_face_fluxes(c, q(2, :), 0.0_wp, f1, stat, errmsg)
    call expect(stat == HFC_OK, 'coupler: strided interior row')
    call hfc_coupler_face_fluxes(c, ghosted, 0.0_wp, f2, stat, errmsg, ghosts=4)
    call expect(stat == HFC_OK .and. all(f1 == f2), 'coupler: caller''s 4 ghost cells, the same fluxes')
    call hfc_coupler_face_fluxes(c, ghosted(2:23), 0.0_wp, f3, stat, errmsg, ghosts=2)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, '2 ghost cells') > 0, &
                'coupler: fewer ghosts than the scheme reads is refused: ' // trim(errmsg))
    call hfc_coupler_face_fluxes(unset, q(2, :), 0.0_wp, f3, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, 'not created') > 0, 'coupler: not created')
  end subroutine check_coupler

  !> Bad input and misuse give a status and a message, never a crash.
  subroutine check_errors()
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: flux
    type(hfc_grid_t) :: grid, block
    type(hfc_host_t) :: h
    type(hfc_time_config_t) :: time
    real(wp) :: u(8), t
    integer :: stat
    call hfc_equation_init(eq, 'navier-stokes', 0.0_wp, 0.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'navier-stokes') > 0, 'unknown equation refused')
    call hfc_equation_init(eq, 'burgers', -1.0_wp, 0.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK, 'negative viscosity refused')
    call hfc_equation_init(eq, 'ks', 0.01_wp, 0.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'no viscosity') > 0, 'a parameter ks does not have refused')
    call hfc_equation_init(eq, 'burgers', 0.0_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(flux, eq, 'weno7', stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'weno7') > 0, 'unknown scheme refused')
    call hfc_grid_init(grid, 0, 1.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK, 'empty grid refused')
    call hfc_grid_init(grid, 2, 1.0_wp, stat, errmsg)
    call hfc_grid_block(grid, 2, 0, 3, block, stat, errmsg)
    call expect(stat /= HFC_OK, 'halo wider than the grid refused')
    ! a host whose creation failed (halo 3 on 2 cells), then used: statuses, no crash
    call hfc_classical_init(flux, eq, 'weno5', stat, errmsg)
    call hfc_host_create(h, grid, eq, flux, time, stat, errmsg)
    call expect(stat /= HFC_OK, 'host on too small a grid refused')
    u = 0.0_wp
    call hfc_host_set_state(h, u, 0.0_wp, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT .and. index(errmsg, 'not created') > 0, 'set_state after a failed create')
    call hfc_host_advance(h, 1.0_wp, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT, 'advance after a failed create')
    call hfc_host_get_state(h, u, t, stat, errmsg)
    call expect(stat == HFC_ERR_ARGUMENT, 'get_state after a failed create')
    ! a good host, a state of the wrong length: the sizes are named
    call hfc_grid_init(grid, 16, 1.0_wp, stat, errmsg)
    call hfc_host_create(h, grid, eq, flux, time, stat, errmsg)
    call hfc_host_set_state(h, u, 0.0_wp, stat, errmsg)
    call expect(index(errmsg, 'has 8 cells') > 0 .and. index(errmsg, 'has 16') > 0, 'set_state names the sizes')
  end subroutine check_errors

  !> A forcing file with fewer values than n_modes is refused (nothing read from garbage),
  !> and a forcing bound before (by the caller) binds again when it joins a host.
  subroutine check_forcing_file()
    type(hfc_forcing_params_t) :: params
    type(hfc_forcing_t) :: forcing
    type(hfc_grid_t) :: grid
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: weno
    type(hfc_time_config_t) :: time
    type(hfc_host_t) :: h
    integer :: stat, unit
    open(newunit=unit, file='check_host_forcing.nml', status='replace', action='write')
    write(unit, '(a)') '&hfc_forcing n_modes = 3, amplitude = 0.1, 0.2, omega = 0.1, 0.2, 0.3, ' // &
                       'phase = 0.0, 1.0, 2.0, wavenumber = 3, 4, 5 /'
    close(unit)
    call hfc_forcing_read('check_host_forcing.nml', params, stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'gives 2 values of amplitude') > 0, &
                'a forcing file with a missing amplitude is refused: ' // trim(errmsg))
    open(newunit=unit, file='check_host_forcing.nml', status='old')
    close(unit, status='delete')
    params%amplitude = [0.3_wp]
    params%omega = [0.1_wp]
    params%phase = [1.0_wp]
    params%wavenumber = [3]
    call hfc_forcing_init(forcing, params, stat, errmsg)
    call hfc_grid_init(grid, 16, 2.0_wp * pi, stat, errmsg)
    call forcing%bind(grid, stat, errmsg)
    call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(weno, eq, 'weno5', stat, errmsg)
    call hfc_host_create(h, grid, eq, weno, time, stat, errmsg)
    call hfc_host_add_source(h, forcing, stat, errmsg)
    call expect(stat == HFC_OK, 'a forcing bound before joins a host: ' // trim(errmsg))
  end subroutine check_forcing_file

end program check_host
