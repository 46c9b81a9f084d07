!> MPI decompositions for the host (library libhfc_mpi). This module has what every MPI
!> decomposition shares, hfc_mpi_comm_t: the communicator and the collectives that keep
!> every rank in step (an exact global maximum for the CFL step, and agreement on failure,
!> so one rank's error stops all ranks at the same point instead of leaving the others
!> waiting); and the 1D decomposition on it: the contiguous split over the ranks, the halo
!> exchange with the two neighbours of the periodic ring. The 2D Cartesian decomposition
!> (module hfc_mpi_cartesian) extends hfc_mpi_comm_t too.
!>
!> The communicator is given either as a Fortran integer handle (`use mpi`, mpi4py's
!> `comm.py2f()`, MPI_COMM_WORLD) or as a `type(MPI_Comm)` (`use mpi_f08`): hfc_mpi_ring
!> and hfc_mpi_cart accept both.
module hfc_mpi
  use mpi_f08, only: MPI_Comm, MPI_Comm_rank, MPI_Comm_size, MPI_Sendrecv, MPI_Allreduce, MPI_Bcast, MPI_Allgather, &
                     MPI_Allgatherv, &
                     MPI_DOUBLE_PRECISION, MPI_INTEGER, MPI_INTEGER8, MPI_CHARACTER, MPI_MAX, MPI_MIN, &
                     MPI_STATUS_IGNORE
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t, hfc_grid_block
  use hfc_decomposition, only: hfc_decomposition_t, hfc_fingerprint, hfc_ordered_sum
  implicit none
  private

  !> The communicator and the collectives of an MPI decomposition; its extensions say how
  !> the grid is split and the halos filled.
  type, abstract, extends(hfc_decomposition_t), public :: hfc_mpi_comm_t
    type(MPI_Comm) :: comm
    integer :: me = 0        !< this rank
    integer :: size = 1      !< ranks in comm
  contains
    procedure :: global_max => comm_global_max
    procedure :: global_sum => comm_global_sum
    procedure :: agree => comm_agree
    procedure :: same => comm_same
    procedure :: rank => comm_rank
    procedure :: ranks => comm_ranks
  end type hfc_mpi_comm_t

  !> The periodic 1D ring: rank r owns a contiguous block, its neighbours are r -/+ 1.
  type, extends(hfc_mpi_comm_t), public :: hfc_mpi_ring_t
  contains
    procedure :: split => ring_split
    procedure :: check_block => ring_check_block
    procedure :: fill_halo => ring_fill_halo
  end type hfc_mpi_ring_t

  !> The ring over a communicator: hfc_mpi_ring(MPI_COMM_WORLD) with `use mpi` or `use mpi_f08`.
  interface hfc_mpi_ring
    module procedure ring_from_handle, ring_from_f08
  end interface hfc_mpi_ring

  public :: hfc_mpi_ring, hfc_mpi_split, hfc_mpi_comm_init

contains

  !> The ring over the communicator with Fortran handle `comm` (an integer).
  function ring_from_handle(comm) result(ring)
    integer, intent(in) :: comm
    type(hfc_mpi_ring_t) :: ring
    type(MPI_Comm) :: c
    c%MPI_VAL = comm
    ring = ring_from_f08(c)
  end function ring_from_handle

  !> The ring over an mpi_f08 communicator.
  function ring_from_f08(comm) result(ring)
    type(MPI_Comm), intent(in) :: comm
    type(hfc_mpi_ring_t) :: ring
    call hfc_mpi_comm_init(ring, comm)
  end function ring_from_f08

  !> Bind an MPI decomposition to its communicator (this rank, the number of ranks).
  subroutine hfc_mpi_comm_init(self, comm)
    class(hfc_mpi_comm_t), intent(inout) :: self
    type(MPI_Comm), intent(in) :: comm
    self%comm = comm
    call MPI_Comm_rank(comm, self%me)
    call MPI_Comm_size(comm, self%size)
  end subroutine hfc_mpi_comm_init

  !> The library's split of n_global cells over `ranks`: contiguous blocks, the first
  !> mod(n_global, ranks) one cell longer. Block of rank `rank`: n cells from offset.
  pure subroutine hfc_mpi_split(n_global, ranks, rank, n, offset)
    integer, intent(in) :: n_global, ranks, rank
    integer, intent(out) :: n, offset
    integer :: base, extra
    base = n_global / ranks
    extra = mod(n_global, ranks)
    n = base + merge(1, 0, rank < extra)
    offset = rank * base + min(rank, extra)
  end subroutine hfc_mpi_split

  !> This rank's block (hfc_mpi_split); every block must hold at least max(g, 1) cells.
  subroutine ring_split(self, global, g, block, stat, errmsg)
    class(hfc_mpi_ring_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, offset

    call hfc_clear(stat, errmsg)
    if (global%ndim /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: the ring splits 1D grids')
      return
    end if
    if (global%n_global(1) / self%size < max(g, 1)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: every rank needs at least max(g, 1) cells: ' &
        // hfc_str(global%n_global(1)) // ' cells on ' // hfc_str(self%size) // ' ranks with halo ' // hfc_str(g))
      return
    end if
    call hfc_mpi_split(global%n_global(1), self%size, self%me, n, offset)
    call hfc_grid_block(global, n, offset, g, block, stat, errmsg)
  end subroutine ring_split

  !> A block the caller chose: the ranks' blocks must tile the domain in rank order (rank
  !> r + 1 starts where rank r ends), each with at least max(g, 1) cells. Collective.
  subroutine ring_check_block(self, block, stat, errmsg)
    class(hfc_mpi_ring_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: mine(2), blocks(2, 0:self%size - 1), r

    call hfc_clear(stat, errmsg)
    mine = [block%n(1), block%offset(1)]
    call MPI_Allgather(mine, 2, MPI_INTEGER, blocks, 2, MPI_INTEGER, self%comm)
    do r = 0, self%size - 1
      if (blocks(2, r) /= merge(0, blocks(2, max(r - 1, 0)) + blocks(1, max(r - 1, 0)), r == 0) .or. &
          blocks(1, r) < max(block%g, 1)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: rank ' // hfc_str(r) // ' has ' // &
          hfc_str(blocks(1, r)) // ' cells from offset ' // hfc_str(blocks(2, r)) // '; the ring needs contiguous blocks ' // &
          'in rank order with at least max(g, 1) = ' // hfc_str(max(block%g, 1)) // ' cells each')
        return
      end if
    end do
    if (sum(blocks(1, :)) /= block%n_global(1)) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
      'decomposition: the blocks hold ' // hfc_str(sum(blocks(1, :))) // ' cells, the domain ' // hfc_str(block%n_global(1)))
  end subroutine ring_check_block

  !> Fill the halos from the ring neighbours (rank -/+ 1, periodic). Collective. Blocks may
  !> be any contiguous split in rank order (the caller's own, too) with at least g cells each.
  subroutine ring_fill_halo(self, grid, u, stat, errmsg)
    class(hfc_mpi_ring_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout) :: u(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g, left, right

    call hfc_clear(stat, errmsg)
    n = grid%n(1)
    g = grid%g
    if (size(u) /= grid%cells()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'fill_halo: the field has ' // hfc_str(size(u)) // &
        ' values, the block needs n + 2g = ' // hfc_str(grid%cells()))
      return
    end if
    if (g == 0) return
    left = modulo(self%me - 1, self%size)
    right = modulo(self%me + 1, self%size)
    ! interior cells are u(g+1 : g+n); the left halo u(1:g) comes from the left neighbour's last g
    call MPI_Sendrecv(u(n + 1:n + g), g, MPI_DOUBLE_PRECISION, right, 1, u(1:g), g, MPI_DOUBLE_PRECISION, &
                      left, 1, self%comm, MPI_STATUS_IGNORE)
    call MPI_Sendrecv(u(g + 1:2 * g), g, MPI_DOUBLE_PRECISION, left, 2, u(n + g + 1:n + 2 * g), g, &
                      MPI_DOUBLE_PRECISION, right, 2, self%comm, MPI_STATUS_IGNORE)
  end subroutine ring_fill_halo

  real(wp) function comm_global_max(self, x) result(y)
    class(hfc_mpi_comm_t), intent(in) :: self
    real(wp), intent(in) :: x
    y = x
    if (self%size > 1) call MPI_Allreduce(x, y, 1, MPI_DOUBLE_PRECISION, MPI_MAX, self%comm)
  end function comm_global_max

  !> The values of every rank gathered in rank order and added one by one (not a reduction of
  !> partial sums, whose grouping would depend on the split): see hfc_decomposition.
  real(wp) function comm_global_sum(self, x) result(y)
    class(hfc_mpi_comm_t), intent(in) :: self
    real(wp), intent(in) :: x(:)
    integer :: counts(self%size), displs(self%size), r
    real(wp), allocatable :: all(:)
    if (self%size == 1) then
      y = hfc_ordered_sum(x)
      return
    end if
    call MPI_Allgather(size(x), 1, MPI_INTEGER, counts, 1, MPI_INTEGER, self%comm)
    displs(1) = 0
    do r = 2, self%size
      displs(r) = displs(r - 1) + counts(r - 1)
    end do
    allocate(all(sum(counts)))
    call MPI_Allgatherv(x, size(x), MPI_DOUBLE_PRECISION, all, counts, displs, MPI_DOUBLE_PRECISION, self%comm)
    y = hfc_ordered_sum(all)
  end function comm_global_sum

  !> Collective: if any rank has a non-zero stat, every rank returns the stat and message
  !> of the lowest such rank, prefixed with 'rank k: ' (once: a message that starts with
  !> 'rank ' is taken as labelled already). Every rank passes a message buffer of the same
  !> length (the same program).
  subroutine comm_agree(self, stat, errmsg)
    class(hfc_mpi_comm_t), intent(in) :: self
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: failing, mine(2), first(2)
    character(len=len(errmsg)) :: message
    character(len=16) :: label

    if (self%size == 1) return
    mine = [merge(self%me, self%size, stat /= HFC_OK), stat]
    call MPI_Allreduce(mine(1), failing, 1, MPI_INTEGER, MPI_MIN, self%comm)
    if (failing == self%size) return
    first = mine
    call MPI_Bcast(first, 2, MPI_INTEGER, failing, self%comm)
    message = errmsg
    call MPI_Bcast(message, len(message), MPI_CHARACTER, failing, self%comm)
    write(label, '(a, i0, a)') 'rank ', failing, ': '
    stat = first(2)
    if (index(message, 'rank ') == 1) then   ! already labelled by an inner agreement
      errmsg = message
    else
      errmsg = trim(label) // ' ' // message
    end if
  end subroutine comm_agree

  !> Collective: refuse on every rank when a rank's configuration text differs from rank 0's.
  subroutine comm_same(self, text, stat, errmsg)
    class(hfc_mpi_comm_t), intent(in) :: self
    character(len=*), intent(in) :: text
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer(int64) :: mine, prints(0:self%size - 1)
    integer :: r

    call hfc_clear(stat, errmsg)
    if (self%size == 1) return
    mine = hfc_fingerprint(text)
    call MPI_Allgather(mine, 1, MPI_INTEGER8, prints, 1, MPI_INTEGER8, self%comm)
    do r = 1, self%size - 1
      if (prints(r) /= prints(0)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'the ranks were configured differently (rank ' // &
          hfc_str(r) // ' differs from rank 0); start every rank with the same configuration')
        return
      end if
    end do
  end subroutine comm_same

  integer function comm_rank(self)
    class(hfc_mpi_comm_t), intent(in) :: self
    comm_rank = self%me
  end function comm_rank

  integer function comm_ranks(self)
    class(hfc_mpi_comm_t), intent(in) :: self
    comm_ranks = self%size
  end function comm_ranks

end module hfc_mpi
