!> MPI for the host: the contiguous 1D decomposition, the halo exchange with the two
!> neighbours of a periodic ring, and the collectives the time loop needs to keep every rank
!> in step (a global maximum for the CFL step, and agreement on failure, so that one rank's
!> error stops all ranks at the same point instead of leaving the others waiting).
!>
!> A communicator is a Fortran MPI handle (the integer mpi4py's `comm.py2f()` returns, or
!> MPI_COMM_WORLD). HFC_NO_COMM means serial: every routine here is then a no-op.
module hfc_parallel
  use, intrinsic :: iso_fortran_env, only: int64
  use mpi
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error
  implicit none
  private

  integer, parameter, public :: HFC_NO_COMM = -1

  public :: hfc_decompose, hfc_exchange_halo, hfc_global_max, hfc_agree, hfc_comm_rank, hfc_wtime

contains

  !> Rank and number of ranks of comm (0 and 1 when serial).
  subroutine hfc_comm_rank(comm, rank, nranks)
    integer, intent(in) :: comm
    integer, intent(out) :: rank, nranks
    integer :: ierr
    rank = 0
    nranks = 1
    if (comm == HFC_NO_COMM) return
    call MPI_Comm_rank(comm, rank, ierr)
    call MPI_Comm_size(comm, nranks, ierr)
  end subroutine hfc_comm_rank

  !> Split n_global cells into nranks contiguous blocks, the first mod(n_global, nranks)
  !> one cell longer: this rank's n and the global index of its first cell minus one.
  !> Every block must hold at least g cells (a halo comes from one neighbour).
  subroutine hfc_decompose(comm, n_global, g, n, offset, stat, errmsg)
    integer, intent(in) :: comm, n_global, g
    integer, intent(out) :: n, offset
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: rank, nranks, base, extra
    character(len=96) :: detail

    stat = HFC_OK
    call hfc_comm_rank(comm, rank, nranks)
    base = n_global / nranks
    extra = mod(n_global, nranks)
    n = base + merge(1, 0, rank < extra)
    offset = rank * base + min(rank, extra)
    if (base < max(g, 1)) then
      write(detail, '(i0, a, i0, a, i0)') n_global, ' cells on ', nranks, ' ranks with halo ', g
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: every rank needs at least max(g, 1) cells: ' &
                         // trim(detail))
    end if
  end subroutine hfc_decompose

  !> Fill the halos of u(1-g:n+g) from the ring neighbours (rank -/+ 1, periodic).
  !> Collective; for decomposed grids only (hfc_fill_halo wraps locally otherwise).
  subroutine hfc_exchange_halo(comm, n, g, u)
    integer, intent(in) :: comm, n, g
    real(wp), intent(inout) :: u(1 - g:n + g)
    integer :: rank, nranks, left, right, ierr
    call hfc_comm_rank(comm, rank, nranks)
    left = modulo(rank - 1, nranks)
    right = modulo(rank + 1, nranks)
    call MPI_Sendrecv(u(n - g + 1:n), g, MPI_DOUBLE_PRECISION, right, 1, u(1 - g:0), g, MPI_DOUBLE_PRECISION, &
                      left, 1, comm, MPI_STATUS_IGNORE, ierr)
    call MPI_Sendrecv(u(1:g), g, MPI_DOUBLE_PRECISION, left, 2, u(n + 1:n + g), g, MPI_DOUBLE_PRECISION, &
                      right, 2, comm, MPI_STATUS_IGNORE, ierr)
  end subroutine hfc_exchange_halo

  !> The maximum of x over all ranks (exact, so the same on every rank and in serial).
  real(wp) function hfc_global_max(comm, x) result(y)
    integer, intent(in) :: comm
    real(wp), intent(in) :: x
    integer :: ierr
    y = x
    if (comm == HFC_NO_COMM) return
    call MPI_Allreduce(x, y, 1, MPI_DOUBLE_PRECISION, MPI_MAX, comm, ierr)
  end function hfc_global_max

  !> Collective: if any rank has a non-zero stat, every rank returns the stat and message
  !> of the lowest such rank, prefixed with that rank's number.
  subroutine hfc_agree(comm, stat, errmsg)
    integer, intent(in) :: comm
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: rank, nranks, failing, ierr, mine(2), first(2)
    character(len=len(errmsg)) :: message
    character(len=16) :: label

    if (comm == HFC_NO_COMM) return
    call hfc_comm_rank(comm, rank, nranks)
    if (nranks == 1) return
    mine = [merge(rank, nranks, stat /= HFC_OK), stat]
    call MPI_Allreduce(mine(1), failing, 1, MPI_INTEGER, MPI_MIN, comm, ierr)
    if (failing == nranks) return
    first = mine
    call MPI_Bcast(first, 2, MPI_INTEGER, failing, comm, ierr)
    message = errmsg
    call MPI_Bcast(message, len(message), MPI_CHARACTER, failing, comm, ierr)
    write(label, '(a, i0, a)') 'rank ', failing, ': '
    stat = first(2)
    if (index(message, 'rank ') == 1) then   ! already labelled by an inner agreement
      errmsg = message
    else
      errmsg = trim(label) // ' ' // message
    end if
  end subroutine hfc_agree

  !> Wall-clock seconds (system_clock: usable with or without MPI), for the per-rank timers.
  real(wp) function hfc_wtime()
    integer(int64) :: count, rate
    call system_clock(count, rate)
    hfc_wtime = real(count, wp) / real(rate, wp)
  end function hfc_wtime

end module hfc_parallel
