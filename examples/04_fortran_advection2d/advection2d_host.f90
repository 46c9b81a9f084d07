!> A pure Fortran 2D host: passive-scalar advection (Zhuang et al. 2021) of a tracer by the
!> deformational flow, with face fluxes from an exported learned model (ONNX Runtime through
!> libhfc's C API binding) or a classical scheme. No Python in the process. Configuration by
!> namelist; the initial state and the face velocities at t = 0 from a netCDF file (inputs.py
!> writes the paper's case; the flow's law cos(pi t / period) is applied by the host);
!> snapshots of c(time, y, x) to a CF netCDF file (written to a temporary name and renamed
!> when complete). Runs serially or under `mpirun -n N` on a Cartesian process grid: rank 0
!> reads the files and broadcasts, and gathers the snapshots to write the one file.
!> Build and run: see README.md in this folder.

!> The configuration: the namelist &host, the paper's deformational-flow defaults, read and
!> checked before any work (each bad field named in one line).
module advection2d_host_config
  use hfc_kinds, only: wp, HFC_OK
  use hfc_checks, only: hfc_check_range, hfc_read_namelist
  use hfc_files, only: hfc_check_output
  implicit none

  integer, parameter :: MAX_CELLS = 100000, MAX_FRAMES = 1000000, MAX_THREADS = 1024   ! beyond: a typo

  integer :: threads = 1, px = 0, py = 0
  real(wp) :: cfl = 0.5_wp, dt = 0.0_wp, t_end = 5.0_wp, save_every = 0.125_wp, period = 5.0_wp
  character(len=32) :: scheme = 'learned', time_stepping = 'euler'
  character(len=1000) :: model_file = 'deformational64.onnx', inputs_file = 'inputs.nc', &
                         output_file = 'advection2d_host.nc'
  namelist /host/ scheme, model_file, threads, cfl, dt, t_end, save_every, period, time_stepping, px, py, &
                  inputs_file, output_file

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
    call hfc_check_range('dt', dt, 0.0_wp, huge(1.0_wp), stat, errmsg)
    if (stat == HFC_OK .and. dt == 0.0_wp) call hfc_check_range('cfl', cfl, 0.0_wp, 10.0_wp, stat, errmsg, above=.true.)
    call hfc_check_range('t_end', t_end, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('save_every', save_every, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('period', period, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    if (stat == HFC_OK) call hfc_check_range('t_end / save_every (the frames)', t_end / save_every, 0.0_wp, &
                                             real(MAX_FRAMES, wp), stat, errmsg)
    call hfc_check_range('threads', threads, 1, MAX_THREADS, stat, errmsg)
    call hfc_check_range('px', px, 0, MAX_CELLS, stat, errmsg)
    call hfc_check_range('py', py, 0, MAX_CELLS, stat, errmsg)
    if (stat == HFC_OK .and. time_stepping /= 'euler' .and. time_stepping /= 'ssprk3') then
      stat = 1
      errmsg = "time_stepping must be 'euler' or 'ssprk3', got '" // trim(time_stepping) // "'"
    end if
    if (.not. writer) return
    inputs(1) = inputs_file
    inputs(2) = config_file
    inputs(3) = merge(model_file, repeat(' ', len(model_file)), scheme == 'learned')
    call hfc_check_output('output_file', output_file, inputs, stat, errmsg)
    call hfc_check_output('output_file', trim(output_file) // '.part', inputs, stat, errmsg)
  end subroutine read_config

  subroutine read_host(lines, ios, iomsg)
    character(len=*), intent(in) :: lines(:)
    integer, intent(out) :: ios
    character(len=*), intent(inout) :: iomsg
    read(lines, nml=host, iostat=ios, iomsg=iomsg)
  end subroutine read_host

end module advection2d_host_config

program advection2d_host
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
  use hfc_advection2d, only: hfc_advection2d_flux, hfc_advection2d_init
  use hfc_flow, only: hfc_flow_t, hfc_flow_init, HFC_FLOW_COSINE
  use hfc_stepper, only: HFC_SSPRK3, HFC_FORWARD_EULER
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_config_t, hfc_onnx_load_bytes, hfc_onnx_runtime_info
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init
  use hfc_model_meta, only: hfc_meta_check_time
  use hfc_mpi_cartesian, only: hfc_mpi_cart_t, hfc_mpi_cart
  use hfc_host, only: hfc_host_t, hfc_time_config_t, hfc_diagnostics_t, hfc_host_create, hfc_host_set_flow, &
                      hfc_host_set_state, hfc_host_advance, hfc_host_get_state, hfc_host_diagnostics, hfc_host_grid
  use advection2d_host_config
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
  character(len=64) :: ort_version = ''
  character(len=HFC_ERRMSG_LEN) :: errmsg
  type(hfc_grid_t) :: global, block
  type(hfc_equation_t) :: eq
  type(hfc_onnx_config_t) :: runtime
  type(hfc_onnx_model_t), target :: onnx
  type(hfc_learned_flux) :: learned
  type(hfc_advection2d_flux) :: classical
  type(hfc_flow_t) :: flow
  type(hfc_time_config_t) :: time
  type(hfc_host_t) :: model
  type(hfc_mpi_cart_t) :: cart
  type(hfc_diagnostics_t) :: diagnostics
  real(wp), allocatable :: c0(:, :), u0(:, :), v0(:, :), whole(:, :), local(:), gathered(:)
  real(wp) :: t
  integer(int8), allocatable :: bytes(:)
  integer, allocatable :: boxes(:, :), counts(:), displs(:)
  integer :: stat, i, r, frames, ncid, dims(3), var_x, var_y, var_t, var_c, rank, nranks, ierr, nx, ny
  integer(int64) :: nbytes

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)

  config_file = 'host.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, config_file)
  call read_config(config_file, rank == 0, stat, errmsg)   ! the output as rank 0, the writer, sees it
  cart = hfc_mpi_cart(MPI_COMM_WORLD, [px, py])
  call cart%agree(stat, errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  write(config_text, nml=host)
  call cart%same(config_text, stat, errmsg)            ! the ranks must run the same configuration
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  frames = nint(t_end / save_every)
  if (abs(frames * save_every - t_end) > 1.0e-9_wp * t_end) &
    call fail(1, 't_end must be a whole number of save_every intervals', everywhere=.true.)
  if (.not. (hfc_stop_on(HFC_SIGTERM) .and. hfc_stop_on(HFC_SIGINT))) call fail(1, 'cannot catch SIGTERM')

  call read_inputs()                       ! rank 0 reads c0, u, v; every rank gets them
  call hfc_grid_init(global, [nx, ny], [1.0_wp, 1.0_wp], stat, errmsg)
  if (stat == HFC_OK) call hfc_equation_init(eq, 'advection2d', 0.0_wp, 0.0_wp, stat, errmsg)
  if (stat == HFC_OK) call hfc_flow_init(flow, u0, v0, HFC_FLOW_COSINE, period, global%dx(1), global%dx(2), stat, &
                                         errmsg)
  if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  time%cfl = cfl
  time%dt = dt
  time%method = merge(HFC_FORWARD_EULER, HFC_SSPRK3, time_stepping == 'euler')

  ! the provider: the learned model (checked against this grid at create) or a classical scheme
  if (scheme == 'learned') then
    runtime%threads = threads
    call read_model(model_file)
    call hfc_onnx_load_bytes(onnx, bytes, runtime, stat, errmsg)   ! a session per rank: each may fail alone
    if (stat == HFC_OK) call hfc_learned_init(learned, onnx, eq, stat, errmsg)
    ! a model trained through one time stepper (the committed 2D models: forward Euler) refuses another
    if (stat == HFC_OK) call hfc_meta_check_time(learned%meta, trim(time_stepping), merge(cfl, 0.0_wp, dt == 0.0_wp), &
                                                 stat, errmsg)
    call cart%agree(stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, "'" // trim(model_file) // "': " // errmsg, everywhere=.true.)
    call hfc_onnx_runtime_info(ort_path, ort_version)
    if (rank == 0) write(output_unit, '(a)') 'advection2d_host: ONNX Runtime ' // trim(ort_version) // ' from ' // &
      trim(ort_path)
    call start(learned)
  else
    call hfc_advection2d_init(classical, scheme, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, 'scheme: ' // errmsg, everywhere=.true.)
    call start(classical)
  end if

  ! every rank's box (offset x, offset y, cells x, cells y), for placing gathered blocks
  allocate(boxes(4, nranks), counts(nranks), displs(nranks), whole(nx, ny), local(block%n(1) * block%n(2)))
  call MPI_Gather([block%offset(1:2), block%n(1:2)], 4, MPI_INTEGER, boxes, 4, MPI_INTEGER, 0, MPI_COMM_WORLD, ierr)
  counts = boxes(3, :) * boxes(4, :)
  displs = [(sum(counts(1:r - 1)), r = 1, nranks)]
  allocate(gathered(merge(nx * ny, 0, rank == 0)))

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
    write(output_unit, '(a, i0, a, i0, a, a, a, i0, a, i0, a, es12.5, a, a)') 'advection2d_host: ', nx, 'x', ny, &
      ' scheme=', trim(scheme), ' ranks=', nranks, ' steps=', diagnostics%steps, ' t=', diagnostics%t, ' wrote ', &
      trim(output_file)
  end if
  call MPI_Finalize(ierr)

contains

  !> Rank 0 reads c0(x, y) and the face velocities u, v at t = 0 (the left / lower face of
  !> each cell) from inputs_file; every rank gets them.
  subroutine read_inputs()
    integer :: ids(3), k, sizes(2), id
    sizes = -1
    if (rank == 0) then
      if (nf90_open(trim(inputs_file), nf90_nowrite, id) == nf90_noerr) then
        if (nf90_inq_varid(id, 'c0', ids(1)) == nf90_noerr .and. nf90_inq_varid(id, 'u', ids(2)) == nf90_noerr &
            .and. nf90_inq_varid(id, 'v', ids(3)) == nf90_noerr) then
          call dimension_of(id, 'x', sizes(1))
          call dimension_of(id, 'y', sizes(2))
        end if
        if (all(sizes > 0)) then
          allocate(c0(sizes(1), sizes(2)), u0(sizes(1), sizes(2)), v0(sizes(1), sizes(2)))
          if (nf90_get_var(id, ids(1), c0) /= nf90_noerr .or. nf90_get_var(id, ids(2), u0) /= nf90_noerr .or. &
              nf90_get_var(id, ids(3), v0) /= nf90_noerr) sizes = -1
        end if
        k = nf90_close(id)
      end if
    end if
    call MPI_Bcast(sizes, 2, MPI_INTEGER, 0, MPI_COMM_WORLD, ierr)
    if (any(sizes <= 0)) call fail(4, "cannot read c0(y, x), u(y, x), v(y, x) from '" // trim(inputs_file) // &
                                   "' (write it with inputs.py)", everywhere=.true.)
    nx = sizes(1)
    ny = sizes(2)
    if (rank /= 0) allocate(c0(nx, ny), u0(nx, ny), v0(nx, ny))
    do k = 1, 3
      select case (k)
      case (1)
        call MPI_Bcast(c0, nx * ny, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
      case (2)
        call MPI_Bcast(u0, nx * ny, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
      case (3)
        call MPI_Bcast(v0, nx * ny, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
      end select
    end do
  end subroutine read_inputs

  subroutine dimension_of(id, name, length)
    integer, intent(in) :: id
    character(len=*), intent(in) :: name
    integer, intent(out) :: length
    integer :: dimid
    length = -1
    if (nf90_inq_dimid(id, name, dimid) == nf90_noerr) then
      if (nf90_inquire_dimension(id, dimid, len=length) /= nf90_noerr) length = -1
    end if
  end subroutine dimension_of

  subroutine define_output()
    call nc(nf90_create(tmp_file, nf90_netcdf4, ncid))
    call nc(nf90_def_dim(ncid, 'x', nx, dims(1)))
    call nc(nf90_def_dim(ncid, 'y', ny, dims(2)))
    call nc(nf90_def_dim(ncid, 'time', nf90_unlimited, dims(3)))
    call nc(nf90_def_var(ncid, 'x', nf90_double, [dims(1)], var_x))
    call nc(nf90_put_att(ncid, var_x, 'units', '1'))
    call nc(nf90_put_att(ncid, var_x, 'axis', 'X'))
    call nc(nf90_def_var(ncid, 'y', nf90_double, [dims(2)], var_y))
    call nc(nf90_put_att(ncid, var_y, 'units', '1'))
    call nc(nf90_put_att(ncid, var_y, 'axis', 'Y'))
    call nc(nf90_def_var(ncid, 'time', nf90_double, [dims(3)], var_t))
    call nc(nf90_put_att(ncid, var_t, 'units', '1'))
    call nc(nf90_put_att(ncid, var_t, 'axis', 'T'))
    call nc(nf90_def_var(ncid, 'c', nf90_double, dims, var_c))     ! c(time, y, x) in CDL order
    call nc(nf90_put_att(ncid, var_c, 'long_name', 'cell average of the concentration'))
    call nc(nf90_put_att(ncid, var_c, 'units', '1'))
    call nc(nf90_put_att(ncid, nf90_global, 'Conventions', 'CF-1.8'))
    call nc(nf90_put_att(ncid, nf90_global, 'equation', 'advection2d'))
    call nc(nf90_put_att(ncid, nf90_global, 'scheme', trim(scheme)))
    call nc(nf90_put_att(ncid, nf90_global, 'time_stepping', trim(time_stepping)))
    call nc(nf90_put_att(ncid, nf90_global, 'velocity_field', 'deformational flow (inputs at t = 0) times ' // &
                                                               'cos(pi t / period)'))
    call nc(nf90_put_att(ncid, nf90_global, 'period', period))
    call nc(nf90_put_att(ncid, nf90_global, 'inputs_file', trim(inputs_file)))
    call nc(nf90_put_att(ncid, nf90_global, 'host', 'examples/04_fortran_advection2d (pure Fortran)'))
    if (scheme == 'learned') then
      call nc(nf90_put_att(ncid, nf90_global, 'model_path', trim(model_file)))
      call nc(nf90_put_att(ncid, nf90_global, 'onnxruntime_version', trim(ort_version)))
      call nc(nf90_put_att(ncid, nf90_global, 'threads', threads))
    end if
    call nc(nf90_put_att(ncid, nf90_global, 'mpi_ranks', nranks))
    call nc(nf90_enddef(ncid))
    call nc(nf90_put_var(ncid, var_x, [((i - 0.5_wp) / nx, i = 1, nx)]))
    call nc(nf90_put_var(ncid, var_y, [((i - 0.5_wp) / ny, i = 1, ny)]))
  end subroutine define_output

  !> Rank 0 reads the model file; its bytes (or the failure) go to every rank.
  subroutine read_model(path)
    character(len=*), intent(in) :: path
    integer :: ios, unit
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

  !> The host on this rank's block of the Cartesian decomposition, with the flow and c0.
  subroutine start(provider)
    class(hfc_flux_provider), intent(in) :: provider
    call hfc_host_create(model, global, eq, provider, time, stat, errmsg, decomp=cart)
    if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
    call hfc_host_set_flow(model, flow, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
    call hfc_host_grid(model, block, stat, errmsg)
    call hfc_host_set_state(model, reshape(c0(block%offset(1) + 1:block%offset(1) + block%n(1), &
                                              block%offset(2) + 1:block%offset(2) + block%n(2)), [block%n(1) * block%n(2)]), &
                            0.0_wp, stat, errmsg)
    if (stat /= HFC_OK) call fail(stat, errmsg, everywhere=.true.)
  end subroutine start

  !> Gather the blocks to rank 0 and write frame `frame` of c.
  subroutine write_frame(frame)
    integer, intent(in) :: frame
    integer :: ox, oy, mx, my
    call hfc_host_get_state(model, local, t, stat, errmsg)
    call MPI_Gatherv(local, size(local), MPI_DOUBLE_PRECISION, gathered, counts, displs, MPI_DOUBLE_PRECISION, 0, &
                     MPI_COMM_WORLD, ierr)
    if (rank /= 0) return
    do r = 1, nranks
      ox = boxes(1, r)
      oy = boxes(2, r)
      mx = boxes(3, r)
      my = boxes(4, r)
      whole(ox + 1:ox + mx, oy + 1:oy + my) = reshape(gathered(displs(r) + 1:displs(r) + mx * my), [mx, my])
    end do
    call nc(nf90_put_var(ncid, var_t, [t], start=[frame]))
    call nc(nf90_put_var(ncid, var_c, whole, start=[1, 1, frame], count=[nx, ny, 1]))
  end subroutine write_frame

  subroutine nc(status)
    integer, intent(in) :: status
    if (status /= nf90_noerr) call fail(4, 'netCDF: ' // trim(nf90_strerror(status)))
  end subroutine nc

  !> Stop the program, on all ranks at once when they agreed on the failure (rank 0 reports),
  !> else through MPI_Abort; the unfinished output is removed. exit_code: default 1.
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
      write(error_unit, '(a, i0, a, i0, a, a)') 'advection2d_host: error ', code, ' (rank ', rank, '): ', trim(message)
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

end program advection2d_host
