!> Self-checks of libhfc meant for the debug build (bounds checking, floating-point traps):
!> every scheme, the halo fill, forcing and the time loop, with assertions that can fail.
!> Exit status 0 when all pass. Run by `meson test` (tests/test_fortran_library.py).
program check_host
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN
  use hfc_grid, only: hfc_grid_t, hfc_grid_init, hfc_fill_halo
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_forcing, only: hfc_forcing_params_t
  use hfc_model, only: hfc_model_t, hfc_time_config_t, hfc_model_init, hfc_model_set_state, &
                       hfc_model_advance
  implicit none

  character(len=HFC_ERRMSG_LEN) :: errmsg
  character(len=8), parameter :: schemes(3) = [character(len=8) :: 'godunov', 'fv3', 'weno5']
  integer :: failures = 0

  call check_halo()
  call check_schemes()
  call check_errors()
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
    type(hfc_grid_t) :: grid
    real(wp) :: u(-2:10)
    integer :: stat, i
    call hfc_grid_init(grid, 7, 3, 1.0_wp, stat, errmsg)
    call expect(stat == HFC_OK, 'grid init')
    u = -1.0_wp
    u(1:7) = [(real(i, wp), i = 1, 7)]
    call hfc_fill_halo(grid, u, stat, errmsg)
    call expect(stat == HFC_OK, 'halo fill status')
    call expect(all(u(-2:0) == [5.0_wp, 6.0_wp, 7.0_wp]), 'left halo wraps the right end')
    call expect(all(u(8:10) == [1.0_wp, 2.0_wp, 3.0_wp]), 'right halo wraps the left end')
  end subroutine check_halo

  !> Forced Burgers with each scheme: finite, mean conserved, exact end time.
  subroutine check_schemes()
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: flux
    type(hfc_forcing_params_t) :: forcing
    type(hfc_time_config_t) :: time
    type(hfc_model_t) :: m
    real(wp), allocatable :: u0(:)
    real(wp) :: mean0, pi
    integer :: stat, s, i, n

    pi = acos(-1.0_wp)
    n = 48
    forcing%amplitude = [0.3_wp, -0.2_wp]
    forcing%omega = [0.1_wp, -0.3_wp]
    forcing%phase = [1.0_wp, 2.0_wp]
    forcing%wavenumber = [3, 5]
    allocate(u0(n))
    u0 = [(sin(2.0_wp * pi * (i - 0.5_wp) / n) + 0.5_wp, i = 1, n)]
    mean0 = sum(u0) / n
    do s = 1, size(schemes)
      call hfc_equation_init(eq, 'burgers', 0.01_wp, 0.0_wp, stat, errmsg)
      call hfc_classical_init(flux, eq, schemes(s), stat, errmsg)
      call expect(stat == HFC_OK, 'scheme init ' // trim(schemes(s)))
      call hfc_model_init(m, n, 2.0_wp * pi, eq, flux, forcing, time, stat, errmsg)
      call expect(stat == HFC_OK, 'model init ' // trim(schemes(s)))
      call hfc_model_set_state(m, u0, 0.0_wp, stat, errmsg)
      call hfc_model_advance(m, 3.0_wp, stat, errmsg)
      call expect(stat == HFC_OK, 'advance ' // trim(schemes(s)) // ': ' // trim(errmsg))
      call expect(m%t == 3.0_wp, 'lands exactly on the end time')
      call expect(m%nsteps > 10, 'took steps')
      call expect(abs(sum(m%u(1:n)) / n - mean0) < 1.0e-12_wp, 'mean conserved ' // trim(schemes(s)))
    end do
  end subroutine check_schemes

  !> Bad input gives a status and a message, never a crash.
  subroutine check_errors()
    type(hfc_equation_t) :: eq
    type(hfc_classical_flux) :: flux
    type(hfc_grid_t) :: grid
    integer :: stat
    call hfc_equation_init(eq, 'navier-stokes', 0.0_wp, 0.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'navier-stokes') > 0, 'unknown equation refused')
    call hfc_equation_init(eq, 'burgers', -1.0_wp, 0.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK, 'negative viscosity refused')
    call hfc_equation_init(eq, 'burgers', 0.0_wp, 0.0_wp, stat, errmsg)
    call hfc_classical_init(flux, eq, 'weno7', stat, errmsg)
    call expect(stat /= HFC_OK .and. index(errmsg, 'weno7') > 0, 'unknown scheme refused')
    call hfc_grid_init(grid, 0, 3, 1.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK, 'empty grid refused')
    call hfc_grid_init(grid, 2, 3, 1.0_wp, stat, errmsg)
    call expect(stat /= HFC_OK, 'halo wider than the grid refused')
  end subroutine check_errors

end program check_host
