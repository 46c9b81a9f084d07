!> The one interface between the host and a domain decomposition: how the global grid is
!> split into blocks, how a block's halo is filled, and the collectives that keep every
!> block in step (a global maximum for the CFL step, a reproducible global sum for the
!> inner products of an implicit solve, agreement on failure).
!>
!> This base type is the serial decomposition: one block, the whole domain, halos filled by
!> the periodic wrap, collectives that return their input. libhfc has no MPI in it; the MPI
!> decompositions (the 1D ring of module hfc_mpi, in libhfc_mpi) extend this type and
!> override its procedures, so the host, the providers and the coupler never see MPI.
module hfc_decomposition
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t, hfc_grid_block, hfc_periodic_halo
  implicit none
  private

  !> The serial decomposition, and the interface every decomposition implements.
  type, public :: hfc_decomposition_t
  contains
    procedure :: split => serial_split
    procedure :: check_block => serial_check_block
    procedure :: fill_halo => serial_fill_halo
    procedure :: global_max => serial_global_max
    procedure :: global_sum => serial_global_sum
    procedure :: agree => serial_agree
    procedure :: same => serial_same
    procedure :: rank => serial_rank
    procedure :: ranks => serial_ranks
  end type hfc_decomposition_t

  public :: hfc_fingerprint, hfc_ordered_sum

contains

  !> This rank's block of the global grid, with halo width g.
  subroutine serial_split(self, global, g, block, stat, errmsg)
    class(hfc_decomposition_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_grid_block(global, global%n_global(1:global%ndim), spread(0, 1, global%ndim), g, block, stat, errmsg)
  end subroutine serial_split

  !> Whether a block the caller chose (its own decomposition) fits this decomposition: in
  !> serial it must be the whole domain. Collective for MPI decompositions.
  subroutine serial_check_block(self, block, stat, errmsg)
    class(hfc_decomposition_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    if (any(block%offset /= 0) .or. any(block%n /= block%n_global)) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: a serial block is the whole domain: ' // &
        hfc_str(block%n(1)) // ' cells from offset ' // hfc_str(block%offset(1)) // ' of ' // hfc_str(block%n_global(1)))
  end subroutine serial_check_block

  !> Fill the halo of a cell field on this rank's block (collective for MPI decompositions).
  subroutine serial_fill_halo(self, grid, u, stat, errmsg)
    class(hfc_decomposition_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout) :: u(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    if (size(u) /= grid%cells()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'fill_halo: the field has ' // hfc_str(size(u)) // &
        ' values, the block needs n + 2g = ' // hfc_str(grid%cells()))
      return
    end if
    call hfc_periodic_halo(grid, u)
  end subroutine serial_fill_halo

  !> The maximum of x over all ranks (exact: the same on every rank and in serial).
  real(wp) function serial_global_max(self, x) result(y)
    class(hfc_decomposition_t), intent(in) :: self
    real(wp), intent(in) :: x
    y = x
  end function serial_global_max

  !> The sum of the values of every rank, added one by one in rank order and, within a rank,
  !> in array order: the same bits on every rank, and for a decomposition whose ranks hold
  !> consecutive blocks (the 1D ring) the same bits as serially, whatever the split.
  real(wp) function serial_global_sum(self, x) result(y)
    class(hfc_decomposition_t), intent(in) :: self
    real(wp), intent(in) :: x(:)
    y = hfc_ordered_sum(x)
  end function serial_global_sum

  !> x(1) + x(2) + ... in this order (the intrinsic sum may reorder).
  pure real(wp) function hfc_ordered_sum(x) result(y)
    real(wp), intent(in) :: x(:)
    integer :: i
    y = 0.0_wp
    do i = 1, size(x)
      y = y + x(i)
    end do
  end function hfc_ordered_sum

  !> Collective: if any rank has a non-zero stat, every rank returns the stat and message of
  !> the lowest such rank, labelled with its number. Serially there is nothing to agree.
  subroutine serial_agree(self, stat, errmsg)
    class(hfc_decomposition_t), intent(in) :: self
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
  end subroutine serial_agree

  !> Collective: every rank passes a text describing its configuration (the same program
  !> builds it the same way); when a rank's differs from rank 0's, every rank returns
  !> HFC_ERR_ARGUMENT naming the first such rank. Ranks started with different arguments
  !> (an MPMD launch) would otherwise hang in mismatched collectives or mix schemes.
  !> Compared by fingerprint. Serially there is nothing to compare.
  subroutine serial_same(self, text, stat, errmsg)
    class(hfc_decomposition_t), intent(in) :: self
    character(len=*), intent(in) :: text
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
  end subroutine serial_same

  !> FNV-1a (32 bits, computed in 64 so nothing overflows) of text without trailing blanks.
  pure integer(int64) function hfc_fingerprint(text) result(h)
    character(len=*), intent(in) :: text
    integer(int64), parameter :: PRIME = 16777619_int64, MASK = 4294967295_int64
    integer :: i
    h = 2166136261_int64
    do i = 1, len_trim(text)
      h = iand(ieor(h, int(ichar(text(i:i)), int64)) * PRIME, MASK)
    end do
  end function hfc_fingerprint

  integer function serial_rank(self)
    class(hfc_decomposition_t), intent(in) :: self
    serial_rank = 0
  end function serial_rank

  integer function serial_ranks(self)
    class(hfc_decomposition_t), intent(in) :: self
    serial_ranks = 1
  end function serial_ranks

end module hfc_decomposition
