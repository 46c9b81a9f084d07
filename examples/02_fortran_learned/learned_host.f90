!> A pure Fortran host with learned fluxes: forced Burgers on a coarse grid whose face
!> fluxes come from an exported ONNX model, run by ONNX Runtime through libhfc's C API
!> binding. No Python in the process. Configuration by namelist, forcing parameters from a
!> file, snapshots of u(time, x) to a CF netCDF file (written to a temporary name and
!> renamed when complete). Runs serially or under `mpirun -n N`: the grid is decomposed
!> over MPI_COMM_WORLD, rank 0 reads the model and broadcasts its bytes, and gathers the
!> snapshots to write the one file. Build and run: see README.md in this folder.
!> The configuration of learned_host: the namelist &host, with the paper's Burgers defaults,
!> read and checked before any work (each bad field named in one line).
module learned_host_config
  use hfc_kinds, only: wp, HFC_OK
  use hfc_checks, only: hfc_check_range, hfc_read_namelist
  use hfc_files, only: hfc_check_output
  implicit none

  integer, parameter :: MAX_CELLS = 100000000, MAX_FRAMES = 1000000, MAX_THREADS = 1024   ! beyond: a typo

  integer :: n = 64, threads = 1, max_steps = 100000000
  real(wp) :: length = 6.283185307179586_wp, viscosity = 0.01_wp
  real(wp) :: cfl = 0.5_wp, dt = 0.0_wp, t_end = 15.0_wp, save_every = 0.5_wp
  character(len=32) :: scheme = 'learned'
  character(len=1000) :: model_file = 'burgers_8x.onnx', forcing_file = 'forcing.nml', &
                         output_file = 'learned_host.nc'
  logical :: reuse_coefficients = .false.   ! the network once per step, its stencils reused at stages 2 and 3
  namelist /host/ n, length, viscosity, scheme, model_file, threads, cfl, dt, t_end, save_every, &
                  max_steps, forcing_file, output_file, reuse_coefficients

contains

  !> Read &host from config_file; every field in its range; on the writing rank, the output
  !> (and its .part) writable and none of the inputs.
  subroutine read_config(config_file, writer, stat, errmsg)
    character(len=*), intent(in) :: config_file
    logical, intent(in) :: writer
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=1024) :: inputs(3)

    call hfc_read_namelist(config_file, 'host', read_host, stat, errmsg)
    call hfc_check_range('n', n, 1, MAX_CELLS, stat, errmsg)
    call hfc_check_range('length', length, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('viscosity', viscosity, 0.0_wp, huge(1.0_wp), stat, errmsg)
    call hfc_check_range('dt', dt, 0.0_wp, huge(1.0_wp), stat, errmsg)
    if (stat == HFC_OK .and. dt == 0.0_wp) call hfc_check_range('cfl', cfl, 0.0_wp, 10.0_wp, stat, errmsg, above=.true.)
    call hfc_check_range('t_end', t_end, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('save_every', save_every, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    if (stat == HFC_OK) call hfc_check_range('t_end / save_every (the frames)', t_end / save_every, 0.0_wp, &
                                             real(MAX_FRAMES, wp), stat, errmsg)
    call hfc_check_range('max_steps', max_steps, 1, huge(1), stat, errmsg)
    call hfc_check_range('threads', threads, 1, MAX_THREADS, stat, errmsg)
    if (.not. writer) return
    inputs(1) = forcing_file
    inputs(2) = config_file
    inputs(3) = merge(model_file, repeat(' ', len(model_file)), scheme == 'learned')
    call hfc_check_output('output_file', output_file, inputs, stat, errmsg)
    call hfc_check_output('output_file', trim(output_file) // '.part', inputs, stat, errmsg)
  end subroutine read_config

  !> The namelist read hfc_read_namelist calls (a module procedure: no trampoline).
  subroutine read_host(lines, ios, iomsg)
    character(len=*), intent(in) :: lines(:)
    integer, intent(out) :: ios
    character(len=*), intent(inout) :: iomsg
    read(lines, nml=host, iostat=ios, iomsg=iomsg)
  end subroutine read_host

end module learned_host_config

program learned_host
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use, intrinsic :: iso_c_binding, only: c_char, c_int, c_null_char
  use, intrinsic :: iso_fortran_env, only: int8, int64
  use mpi
  use netcdf
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN, HFC_ERR_INTERRUPTED
  use hfc_signal, only: hfc_stop_on, HFC_SIGINT, HFC_SIGTERM
  use hfc_grid, only: hfc_grid_t, hfc_grid_init
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_provider, only: hfc_flux_provider
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_config_t, hfc_onnx_load_bytes, hfc_onnx_runtime_info
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init
  use hfc_model_meta, only: hfc_meta_check_time
  use hfc_forcing, only: hfc_forcing_t, hfc_forcing_params_t, hfc_forcing_read, hfc_forcing_init
  use hfc_mpi, only: hfc_mpi_ring_t, hfc_mpi_ring
  use hfc_host, only: hfc_host_t, hfc_time_config_t, hfc_diagnostics_t, hfc_host_create, hfc_host_add_source, &
                      hfc_host_set_state, hfc_host_advance, hfc_host_get_state, hfc_host_diagnostics
  use learned_host_config
  implicit none

  interface
    integer(c_int) function c_rename(old, new) bind(C, name='rename')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: old(*), new(*)
    end function c_rename
  end interface

  character(len=1024) :: config_file, ort_path
  character(len=8192) :: config_text
  character(len=1024) :: tmp_file = ''   ! the unfinished output, removed on failure
  character(len=64) :: ort_version
  character(len=HFC_ERRMSG_LEN) :: errmsg
  type(hfc_grid_t) :: grid
  type(hfc_equation_t) :: eq
  type(hfc_onnx_config_t) :: runtime
  type(hfc_onnx_model_t), target :: onnx
  type(hfc_learned_flux) :: learned
  type(hfc_classical_flux) :: classical
  type(hfc_forcing_params_t) :: params
  type(hfc_forcing_t) :: forcing
  type(hfc_time_config_t) :: time
  type(hfc_host_t) :: model
  type(hfc_mpi_ring_t) :: ring
  type(hfc_diagnostics_t) :: diagnostics
  real(wp), allocatable :: x(:), whole(:), local(:)
  real(wp) :: t
  integer(int8), allocatable :: bytes(:)
  integer, allocatable :: counts(:), offsets(:)
  integer :: stat, unit, i, frames, ncid, dim_x, dim_t, var_x, var_t, var_u, rank, nranks, ierr
  integer(int64) :: nbytes

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)

  ring = hfc_mpi_ring(MPI_COMM_WORLD)
  config_file = 'host.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, config_file)
  call read_config(config_file, rank == 0, stat, errmsg)   ! the output as rank 0, the writer, sees it
  call ring%agree(stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  ! the ranks must run the same configuration (an MPMD launch would hang in the frame loop)
  write(config_text, nml=host)
  call ring%same(config_text, stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  frames = nint(t_end / save_every)
  if (abs(frames * save_every - t_end) > 1.0e-9_wp * t_end) &
    call fail(1, 't_end must be a whole number of save_every intervals', everywhere=.true.)
  ! SIGTERM (a batch scheduler's stop) or SIGINT: the run stops between steps and removes its partial output
  if (.not. (hfc_stop_on(HFC_SIGTERM) .and. hfc_stop_on(HFC_SIGINT))) call fail(1, 'cannot catch SIGTERM')

  call hfc_forcing_read(forcing_file, params, stat, errmsg)
  call ring%agree(stat, errmsg)              ! each rank reads the file: all fail if one does
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  call hfc_forcing_init(forcing, params, stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  call hfc_grid_init(grid, n, length, stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  call hfc_equation_init(eq, 'burgers', viscosity, 0.0_wp, stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  time%cfl = cfl
  time%dt = dt
  time%max_steps = max_steps

  ! the provider: the learned model (checked against this grid before any step) or a classical scheme
  if (scheme == 'learned') then
    runtime%threads = threads
    call read_model(model_file)            ! rank 0 reads, every rank gets the bytes
    call hfc_onnx_load_bytes(onnx, bytes, runtime, stat, errmsg)   ! a session per rank: each may fail alone
    if (stat == HFC_OK) call hfc_learned_init(learned, onnx, eq, stat, errmsg, reuse=reuse_coefficients)
    ! a model trained for a time stepper and Courant number refuses others (the host: SSP-RK3)
    if (stat == HFC_OK) call hfc_meta_check_time(learned%meta, 'ssprk3', merge(cfl, 0.0_wp, dt == 0.0_wp), stat, errmsg)
    call ring%agree(stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, "'" // trim(model_file) // "': " // errmsg, everywhere=.true.)
    call hfc_onnx_runtime_info(ort_path, ort_version)
    if (rank == 0) write(output_unit, '(a)') 'learned_host: ONNX Runtime ' // trim(ort_version) // ' from ' // trim(ort_path)
    call start(learned)
  else
    call hfc_classical_init(classical, eq, scheme, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, 'scheme: ' // errmsg, everywhere=.true.)
    call start(classical)
  end if

  ! the blocks of the ranks, for gathering snapshots in global order on rank 0
  call hfc_host_diagnostics(model, diagnostics, stat, errmsg)
  allocate(counts(nranks), offsets(nranks), whole(n), local(diagnostics%n))
  call MPI_Gather(diagnostics%n, 1, MPI_INTEGER, counts, 1, MPI_INTEGER, 0, MPI_COMM_WORLD, ierr)
  call MPI_Gather(diagnostics%offset, 1, MPI_INTEGER, offsets, 1, MPI_INTEGER, 0, MPI_COMM_WORLD, ierr)

  ! netCDF output (rank 0) under a temporary name: u(time, x) is u(x, time) in Fortran order
  tmp_file = trim(output_file) // '.part'
  if (rank == 0) call define_output()
  call write_frame(1)
  do i = 1, frames
    call hfc_host_advance(model, min(i * save_every, t_end), stat, errmsg)   ! collective: all ranks agree on failure
    if (stat == HFC_ERR_INTERRUPTED) call fail(stat, errmsg, exit_code=128 + signal_of(errmsg), everywhere=.true.)
    if (stat /= HFC_OK) call fail(2, errmsg, everywhere=.true.)
    call write_frame(i + 1)
  end do
  call hfc_host_diagnostics(model, diagnostics, stat, errmsg)
  if (rank == 0) then
    call nc(nf90_put_att(ncid, nf90_global, 'steps', int(diagnostics%steps)))
    call nc(nf90_close(ncid))
    if (c_rename(trim(tmp_file) // c_null_char, trim(output_file) // c_null_char) /= 0) &
      call fail(1, 'cannot rename ' // trim(tmp_file) // ' to ' // trim(output_file))
    write(output_unit, '(a, i0, a, a, a, i0, a, i0, a, es12.5, a, a)') 'learned_host: n=', n, ' scheme=', &
      trim(scheme), ' ranks=', nranks, ' steps=', diagnostics%steps, ' t=', diagnostics%t, ' wrote ', trim(output_file)
  end if
  call MPI_Finalize(ierr)

contains

  subroutine define_output()
    call nc(nf90_create(tmp_file, nf90_netcdf4, ncid))
  call nc(nf90_def_dim(ncid, 'x', n, dim_x))
  call nc(nf90_def_dim(ncid, 'time', nf90_unlimited, dim_t))
  call nc(nf90_def_var(ncid, 'x', nf90_double, [dim_x], var_x))
  call nc(nf90_put_att(ncid, var_x, 'units', '1'))
  call nc(nf90_put_att(ncid, var_x, 'long_name', 'cell centre'))
  call nc(nf90_put_att(ncid, var_x, 'axis', 'X'))
  call nc(nf90_def_var(ncid, 'time', nf90_double, [dim_t], var_t))
  call nc(nf90_put_att(ncid, var_t, 'units', '1'))
  call nc(nf90_put_att(ncid, var_t, 'axis', 'T'))
  call nc(nf90_def_var(ncid, 'u', nf90_double, [dim_x, dim_t], var_u))
  call nc(nf90_put_att(ncid, var_u, 'long_name', 'cell average of the solution'))
  call nc(nf90_put_att(ncid, var_u, 'units', '1'))
  call nc(nf90_put_att(ncid, nf90_global, 'Conventions', 'CF-1.8'))
  call nc(nf90_put_att(ncid, nf90_global, 'equation', 'burgers'))
  call nc(nf90_put_att(ncid, nf90_global, 'scheme', trim(scheme)))
  call nc(nf90_put_att(ncid, nf90_global, 'n', n))
  call nc(nf90_put_att(ncid, nf90_global, 'length', length))
  call nc(nf90_put_att(ncid, nf90_global, 'viscosity', viscosity))
  call nc(nf90_put_att(ncid, nf90_global, 'forcing_file', trim(forcing_file)))
  call nc(nf90_put_att(ncid, nf90_global, 'host', 'examples/02_fortran_learned (pure Fortran)'))
  if (scheme == 'learned') then
    call nc(nf90_put_att(ncid, nf90_global, 'model_path', trim(model_file)))
    call nc(nf90_put_att(ncid, nf90_global, 'onnxruntime_version', trim(ort_version)))
    call nc(nf90_put_att(ncid, nf90_global, 'threads', threads))
  end if
    call nc(nf90_put_att(ncid, nf90_global, 'mpi_ranks', nranks))
    call nc(nf90_enddef(ncid))
    x = [((i - 0.5_wp) * length / n, i = 1, n)]
    call nc(nf90_put_var(ncid, var_x, x))
  end subroutine define_output

  !> Rank 0 reads the model file; its bytes (or the failure) go to every rank.
  subroutine read_model(path)
    character(len=*), intent(in) :: path
    integer :: ios
    nbytes = -1
    if (rank == 0) then
      open(newunit=unit, file=path, access='stream', form='unformatted', action='read', status='old', iostat=ios)
      if (ios == 0) then
        inquire(unit=unit, size=nbytes)
        allocate(bytes(max(nbytes, 0_int64)))
        read(unit, iostat=ios) bytes
        close(unit)
        if (ios /= 0) nbytes = -1
      end if
    end if
    call MPI_Bcast(nbytes, 1, MPI_INTEGER8, 0, MPI_COMM_WORLD, ierr)
    if (nbytes <= 0) call fail(4, "cannot open the model file '" // trim(path) // "'", everywhere=.true.)
    if (rank /= 0) allocate(bytes(nbytes))
    call MPI_Bcast(bytes, int(nbytes), MPI_INTEGER1, 0, MPI_COMM_WORLD, ierr)
  end subroutine read_model

  !> The host on this rank's block of the grid decomposed over MPI_COMM_WORLD, from u = 0.
  subroutine start(provider)
    class(hfc_flux_provider), intent(in) :: provider
    real(wp), allocatable :: u0(:)
    call hfc_host_create(model, grid, eq, provider, time, stat, errmsg, decomp=ring)
    if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
    call hfc_host_add_source(model, forcing, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, errmsg)
    call hfc_host_diagnostics(model, diagnostics, stat, errmsg)
    allocate(u0(diagnostics%n), source=0.0_wp)
    call hfc_host_set_state(model, u0, 0.0_wp, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, errmsg)
  end subroutine start

  subroutine write_frame(frame)
    integer, intent(in) :: frame
    call hfc_host_get_state(model, local, t, stat, errmsg)
    call MPI_Gatherv(local, size(local), MPI_DOUBLE_PRECISION, whole, counts, offsets, &
                     MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
    if (rank /= 0) return
    call nc(nf90_put_var(ncid, var_t, [t], start=[frame]))
    call nc(nf90_put_var(ncid, var_u, whole, start=[1, frame], count=[n, 1]))
  end subroutine write_frame

  subroutine nc(status)
    integer, intent(in) :: status
    if (status /= nf90_noerr) call fail(4, 'netCDF: ' // trim(nf90_strerror(status)))
  end subroutine nc

  !> The host program, not the library, decides to stop: under MPI, all ranks at once,
  !> leaving no unfinished output behind.
  !> exit_code: the program's exit status (default 1; 128 + signal after a stop request).
  !> everywhere: every rank fails here with the same message (an agreed failure), so rank 0
  !> alone reports it and the ranks end together; otherwise this rank aborts the job.
  subroutine fail(code, message, exit_code, everywhere)
    integer, intent(in) :: code
    character(len=*), intent(in) :: message
    integer, intent(in), optional :: exit_code
    logical, intent(in), optional :: everywhere
    integer :: ios, scratch, status
    logical :: agreed
    agreed = .false.
    if (present(everywhere)) agreed = everywhere
    if (rank == 0 .or. .not. agreed) then
      write(error_unit, '(a, i0, a, i0, a, a)') 'learned_host: error ', code, ' (rank ', rank, '): ', trim(message)
      flush(error_unit)
    end if
    if (rank == 0 .and. len_trim(tmp_file) > 0) then
      ios = nf90_close(ncid)
      open(newunit=scratch, file=tmp_file, status='old', iostat=ios)
      if (ios == 0) close(scratch, status='delete')
    end if
    status = 1
    if (present(exit_code)) status = exit_code
    if (nranks > 1 .and. .not. agreed) call MPI_Abort(MPI_COMM_WORLD, status, ierr)
    call MPI_Finalize(ierr)
    stop status, quiet=.true.
  end subroutine fail

  !> The signal number in the host's message 'advance: stopped by signal N at t = ...'.
  integer function signal_of(message) result(signum)
    character(len=*), intent(in) :: message
    integer :: at, ios
    signum = HFC_SIGTERM
    at = index(message, 'signal ')
    if (at > 0) read(message(at + 7:), *, iostat=ios) signum
  end function signal_of

end program learned_host
