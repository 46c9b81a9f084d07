!> A pure Fortran host: forced Burgers with a classical scheme from libhfc, configured by
!> a namelist, forcing parameters read from the file that `hfc` / coupler.problems.forcing
!> write. Serial: built against libhfc alone, no MPI. Build and run: see README.md here.
!> The configuration of burgers_host: the namelist &host, with the paper's Burgers defaults,
!> read and checked before any work (each bad field named in one line).
module burgers_host_config
  use hfc_kinds, only: wp, HFC_OK
  use hfc_checks, only: hfc_check_range, hfc_read_namelist
  use hfc_files, only: hfc_check_output
  implicit none

  integer, parameter :: MAX_CELLS = 100000000   ! 1e8 cells: 3 GB of state and stages, beyond it a typo

  integer :: n = 64, max_steps = 100000000
  real(wp) :: length = 6.283185307179586_wp, viscosity = 0.01_wp
  real(wp) :: cfl = 0.5_wp, dt = 0.0_wp, t_end = 1.0_wp
  character(len=32) :: scheme = 'weno5'
  character(len=256) :: forcing_file = 'forcing.nml', output_file = 'final_state.bin'
  namelist /host/ n, length, viscosity, scheme, cfl, dt, t_end, max_steps, forcing_file, output_file

contains

  !> Read &host from config_file; every field in its range, the output writable and none
  !> of the inputs.
  subroutine read_config(config_file, stat, errmsg)
    character(len=*), intent(in) :: config_file
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=256) :: inputs(2)

    call hfc_read_namelist(config_file, 'host', read_host, stat, errmsg)
    call hfc_check_range('n', n, 1, MAX_CELLS, stat, errmsg)
    call hfc_check_range('length', length, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('viscosity', viscosity, 0.0_wp, huge(1.0_wp), stat, errmsg)
    call hfc_check_range('dt', dt, 0.0_wp, huge(1.0_wp), stat, errmsg)
    if (stat == HFC_OK .and. dt == 0.0_wp) call hfc_check_range('cfl', cfl, 0.0_wp, 10.0_wp, stat, errmsg, above=.true.)
    call hfc_check_range('t_end', t_end, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('max_steps', max_steps, 1, huge(1), stat, errmsg)
    inputs(1) = forcing_file
    inputs(2) = config_file
    call hfc_check_output('output_file', output_file, inputs, stat, errmsg)
  end subroutine read_config

  !> The namelist read hfc_read_namelist calls (a module procedure: no trampoline).
  subroutine read_host(lines, ios, iomsg)
    character(len=*), intent(in) :: lines(:)
    integer, intent(out) :: ios
    character(len=*), intent(inout) :: iomsg
    read(lines, nml=host, iostat=ios, iomsg=iomsg)
  end subroutine read_host

end module burgers_host_config

program burgers_host
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN
  use hfc_grid, only: hfc_grid_t, hfc_grid_init
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_forcing, only: hfc_forcing_t, hfc_forcing_params_t, hfc_forcing_read, hfc_forcing_init
  use hfc_host, only: hfc_host_t, hfc_time_config_t, hfc_diagnostics_t, hfc_host_create, hfc_host_add_source, &
                      hfc_host_set_state, hfc_host_advance, hfc_host_get_state, hfc_host_diagnostics
  use burgers_host_config
  implicit none

  character(len=256) :: config_file
  character(len=HFC_ERRMSG_LEN) :: errmsg
  type(hfc_grid_t) :: grid
  type(hfc_equation_t) :: eq
  type(hfc_classical_flux) :: flux
  type(hfc_forcing_params_t) :: params
  type(hfc_forcing_t) :: forcing
  type(hfc_time_config_t) :: time
  type(hfc_host_t) :: model
  type(hfc_diagnostics_t) :: diagnostics
  real(wp), allocatable :: u(:)
  real(wp) :: t
  integer :: stat, unit

  config_file = 'host.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, config_file)
  call read_config(config_file, stat, errmsg)
  call check()

  call hfc_forcing_read(forcing_file, params, stat, errmsg)
  call check()
  call hfc_forcing_init(forcing, params, stat, errmsg)
  call check()
  call hfc_grid_init(grid, n, length, stat, errmsg)
  call check()
  call hfc_equation_init(eq, 'burgers', viscosity, 0.0_wp, stat, errmsg)
  call check()
  call hfc_classical_init(flux, eq, scheme, stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, 'scheme: ' // trim(errmsg))
  time%cfl = cfl
  time%dt = dt
  time%max_steps = max_steps
  call hfc_host_create(model, grid, eq, flux, time, stat, errmsg)
  call check()
  call hfc_host_add_source(model, forcing, stat, errmsg)
  call check()
  allocate(u(n), source=0.0_wp)
  call hfc_host_set_state(model, u, 0.0_wp, stat, errmsg)
  call check()

  call hfc_host_advance(model, t_end, stat, errmsg)
  call check()
  call hfc_host_get_state(model, u, t, stat, errmsg)
  call check()
  call hfc_host_diagnostics(model, diagnostics, stat, errmsg)

  open(newunit=unit, file=output_file, access='stream', form='unformatted', status='replace', &
       action='write', iostat=stat)
  if (stat /= 0) call fail(1, 'cannot write ' // trim(output_file))
  write(unit) u
  close(unit)
  write(output_unit, '(a, i0, a, a, a, i0, a, es12.5, a, es12.5)') 'burgers_host: n=', n, ' scheme=', &
    trim(scheme), ' steps=', diagnostics%steps, ' t=', t, ' max|u|=', maxval(abs(u))

contains

  !> The host program, not the library, decides to stop.
  subroutine check()
    if (stat /= HFC_OK) call fail(stat, errmsg)
  end subroutine check

  subroutine fail(code, message)
    integer, intent(in) :: code
    character(len=*), intent(in) :: message
    write(error_unit, '(a, i0, a, a)') 'burgers_host: error ', code, ': ', trim(message)
    stop 1, quiet=.true.
  end subroutine fail

end program burgers_host
