!> A legacy-style model that keeps everything of its own: its state q(nvar, ncells) with
!> its own ghost cells, its own domain decomposition over MPI (mpi_f08), its own SSP-RK3
!> loop and time step, and takes only the face fluxes of its first variable from hfc, through
!> the own-loop coupler (module hfc_coupler): a classical scheme or an exported learned model.
!>
!> Unforced Burgers, u_t + (u^2/2 - eta u_x)_x = 0, on [0, length), u(x, 0) = the cell
!> averages of sin(2 pi x / length), or the n float64 values of `initial_file`; the second
!> variable is a passive copy the model carries along (it makes q(1, :) a strided row, as in
!> real multi-variable models).
!>
!> Ghost cells: with own_ghosts = .true. the model fills its ng ghost cells itself (its own
!> MPI exchange) and hands hfc the whole row with ghosts=ng (ng may exceed what the scheme
!> reads); with .false. it hands hfc the interior row and hfc fills the halo (periodic, or
!> through hfc_mpi_ring over the model's communicator). Build and run: README.md here.
!> The configuration of own_loop: the namelist &model, read and checked before any work
!> (each bad field named in one line).
module own_loop_config
  use hfc_kinds, only: wp, HFC_OK
  use hfc_checks, only: hfc_check_range, hfc_read_namelist
  use hfc_files, only: hfc_check_output
  implicit none

  integer, parameter :: MAX_CELLS = 100000000, MAX_STEPS = 100000000   ! beyond: a typo

  integer :: n = 64, steps = 100
  real(wp) :: length = 6.283185307179586_wp, viscosity = 0.01_wp, dt = 0.01_wp
  character(len=32) :: scheme = 'weno5'
  character(len=1000) :: model_file = '', initial_file = '', output_file = 'own_loop.bin'
  logical :: own_ghosts = .true.
  namelist /model/ n, steps, length, viscosity, dt, scheme, model_file, initial_file, output_file, own_ghosts

contains

  !> Read &model from config_file; every field in its range (with own_ghosts, n at least
  !> ghost_cells: every block holds the model's ghosts; without, the coupler checks the
  !> blocks against the scheme's halo); on the writing rank, the output writable and none of
  !> the inputs.
  subroutine read_config(config_file, writer, ghost_cells, stat, errmsg)
    character(len=*), intent(in) :: config_file
    logical, intent(in) :: writer
    integer, intent(in) :: ghost_cells
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=1024) :: inputs(3)

    call hfc_read_namelist(config_file, 'model', read_model, stat, errmsg)
    call hfc_check_range('n', n, merge(ghost_cells, 1, own_ghosts), MAX_CELLS, stat, errmsg)
    call hfc_check_range('steps', steps, 0, MAX_STEPS, stat, errmsg)
    call hfc_check_range('length', length, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    call hfc_check_range('viscosity', viscosity, 0.0_wp, huge(1.0_wp), stat, errmsg)
    call hfc_check_range('dt', dt, 0.0_wp, huge(1.0_wp), stat, errmsg, above=.true.)
    if (.not. writer) return
    inputs(1) = config_file
    inputs(2) = model_file
    inputs(3) = initial_file
    call hfc_check_output('output_file', output_file, inputs, stat, errmsg)
  end subroutine read_config

  !> The namelist read hfc_read_namelist calls (a module procedure: no trampoline).
  subroutine read_model(lines, ios, iomsg)
    character(len=*), intent(in) :: lines(:)
    integer, intent(out) :: ios
    character(len=*), intent(inout) :: iomsg
    read(lines, nml=model, iostat=ios, iomsg=iomsg)
  end subroutine read_model

end module own_loop_config

program own_loop
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit, int8, int64
  use mpi_f08
  use hfc_kinds, only: wp, HFC_OK, HFC_ERRMSG_LEN
  use hfc_equation, only: hfc_equation_t, hfc_equation_init
  use hfc_provider, only: hfc_flux_provider
  use hfc_classical, only: hfc_classical_flux, hfc_classical_init
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_config_t, hfc_onnx_load
  use hfc_learned, only: hfc_learned_flux, hfc_learned_init
  use hfc_mpi, only: hfc_mpi_ring
  use hfc_coupler, only: hfc_coupler_t, hfc_coupler_create, hfc_coupler_face_fluxes
  use own_loop_config
  implicit none

  integer, parameter :: nvar = 2, ng = 8          ! the model's variables and ghost cells

  type(MPI_Comm) :: comm
  type(hfc_equation_t) :: eq
  type(hfc_classical_flux) :: classical
  type(hfc_onnx_model_t), target :: onnx
  type(hfc_onnx_config_t) :: runtime
  type(hfc_learned_flux) :: learned
  type(hfc_coupler_t) :: coupler
  character(len=HFC_ERRMSG_LEN) :: errmsg
  character(len=1024) :: config_file
  real(wp), allocatable :: q(:, :), q1(:, :), q2(:, :), dqdt(:), flux(:), whole(:)
  integer, allocatable :: counts(:), offsets(:)
  integer :: rank, nranks, nl, first, i, step, stat, unit, failing
  real(wp) :: dx, t

  call MPI_Init()
  comm = MPI_COMM_WORLD
  call MPI_Comm_rank(comm, rank)
  call MPI_Comm_size(comm, nranks)
  config_file = 'model.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, config_file)
  ! every rank reads the namelist, rank 0 also checks the output; the lowest failing rank
  ! reports and all end together
  call read_config(config_file, rank == 0, ng * nranks, stat, errmsg)
  failing = merge(rank, nranks, stat /= HFC_OK)
  call MPI_Allreduce(MPI_IN_PLACE, failing, 1, MPI_INTEGER, MPI_MIN, comm)
  if (failing < nranks) then
    if (rank == failing) write(error_unit, '(a, i0, a, a)') 'own_loop: error (rank ', rank, '): ', trim(errmsg)
    call MPI_Finalize()
    stop 1, quiet=.true.
  end if

  ! the model's own decomposition: equal blocks, the remainder to the last rank
  nl = n / nranks
  first = rank * nl
  if (rank == nranks - 1) nl = n - first
  dx = length / n
  allocate(q(nvar, 1 - ng:nl + ng), q1(nvar, 1 - ng:nl + ng), q2(nvar, 1 - ng:nl + ng), dqdt(nl), flux(nl + 1))
  q = 0.0_wp
  allocate(whole(n))
  if (len_trim(initial_file) > 0) then
    open(newunit=unit, file=initial_file, access='stream', form='unformatted', status='old', action='read', &
         iostat=stat)
    if (stat == 0) read(unit, iostat=stat) whole
    if (stat /= 0) call fail('cannot read ' // trim(initial_file))
    close(unit)
  else   ! cell averages of sin(2 pi x / L)
    whole = [((cos(2.0_wp * acos(-1.0_wp) * (i - 1) / n) - cos(2.0_wp * acos(-1.0_wp) * i / n)) &
              / (2.0_wp * acos(-1.0_wp) / n), i = 1, n)]
  end if
  q(1, 1:nl) = whole(first + 1:first + nl)
  q(2, 1:nl) = q(1, 1:nl)

  ! hfc: the flux provider, and the coupler for this rank's block of the model's decomposition
  call hfc_equation_init(eq, 'burgers', viscosity, 0.0_wp, stat, errmsg)
  call check()
  if (scheme == 'learned') then
    call hfc_onnx_load(onnx, model_file, runtime, stat, errmsg)
    call check()
    call hfc_learned_init(learned, onnx, eq, stat, errmsg)
    call check()
    call couple(learned)
  else
    call hfc_classical_init(classical, eq, scheme, stat, errmsg)
    call check()
    call couple(classical)
  end if

  ! the model's own SSP-RK3 loop (Shu-Osher form), fixed step
  t = 0.0_wp
  do step = 1, steps
    call tendency(q, t)
    q1(:, 1:nl) = q(:, 1:nl) + dt * spread(dqdt, 1, nvar)
    call tendency(q1, t + dt)
    q2(:, 1:nl) = 0.75_wp * q(:, 1:nl) + 0.25_wp * (q1(:, 1:nl) + dt * spread(dqdt, 1, nvar))
    call tendency(q2, t + 0.5_wp * dt)
    q(:, 1:nl) = (1.0_wp / 3.0_wp) * q(:, 1:nl) + (2.0_wp / 3.0_wp) * (q2(:, 1:nl) + dt * spread(dqdt, 1, nvar))
    t = t + dt
  end do

  ! rank 0 gathers u and writes it (n float64 values)
  allocate(counts(nranks), offsets(nranks))
  call MPI_Gather(nl, 1, MPI_INTEGER, counts, 1, MPI_INTEGER, 0, comm)
  call MPI_Gather(first, 1, MPI_INTEGER, offsets, 1, MPI_INTEGER, 0, comm)
  call MPI_Gatherv(q(1, 1:nl), nl, MPI_DOUBLE_PRECISION, whole, counts, offsets, MPI_DOUBLE_PRECISION, 0, comm)
  if (rank == 0) then
    open(newunit=unit, file=output_file, access='stream', form='unformatted', status='replace', action='write')
    write(unit) whole
    close(unit)
    write(output_unit, '(a, a, a, i0, a, i0, a, l1, a, es12.5)') 'own_loop: scheme=', trim(scheme), ' ranks=', &
      nranks, ' steps=', steps, ' own_ghosts=', own_ghosts, ' max|u|=', maxval(abs(whole))
  end if
  call MPI_Finalize()

contains

  subroutine couple(provider)
    class(hfc_flux_provider), intent(in) :: provider
    call hfc_coupler_create(coupler, nl, dx, provider, stat, errmsg, offset=first, n_global=n, &
                            decomp=hfc_mpi_ring(comm))
    call check()
  end subroutine couple

  !> dqdt of the first variable (the second is carried along unchanged: dqdt applies to
  !> both in the update, a copy): -(F(i+1) - F(i)) / dx with F from hfc.
  subroutine tendency(state, time)
    real(wp), intent(inout) :: state(nvar, 1 - ng:nl + ng)
    real(wp), intent(in) :: time
    if (own_ghosts) then
      call exchange_ghosts(state)
      call hfc_coupler_face_fluxes(coupler, state(1, :), time, flux, stat, errmsg, ghosts=ng)
    else
      call hfc_coupler_face_fluxes(coupler, state(1, 1:nl), time, flux, stat, errmsg)
    end if
    call check()
    dqdt = -(flux(2:nl + 1) - flux(1:nl)) / dx
  end subroutine tendency

  !> The model's own ghost exchange with its ring neighbours (periodic).
  subroutine exchange_ghosts(state)
    real(wp), intent(inout) :: state(nvar, 1 - ng:nl + ng)
    integer :: left, right
    left = modulo(rank - 1, nranks)
    right = modulo(rank + 1, nranks)
    call MPI_Sendrecv(state(:, nl - ng + 1:nl), nvar * ng, MPI_DOUBLE_PRECISION, right, 1, &
                      state(:, 1 - ng:0), nvar * ng, MPI_DOUBLE_PRECISION, left, 1, comm, MPI_STATUS_IGNORE)
    call MPI_Sendrecv(state(:, 1:ng), nvar * ng, MPI_DOUBLE_PRECISION, left, 2, &
                      state(:, nl + 1:nl + ng), nvar * ng, MPI_DOUBLE_PRECISION, right, 2, comm, MPI_STATUS_IGNORE)
  end subroutine exchange_ghosts

  subroutine check()
    if (stat /= HFC_OK) call fail(errmsg)
  end subroutine check

  !> The program, not the library, decides to stop: every rank at once.
  subroutine fail(message)
    character(len=*), intent(in) :: message
    write(error_unit, '(a, i0, a, a)') 'own_loop: error (rank ', rank, '): ', trim(message)
    call MPI_Abort(MPI_COMM_WORLD, 1)
  end subroutine fail

end program own_loop
