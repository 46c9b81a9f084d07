!> The 1D uniform grid with halo cells, and the halo fill.
!>
!> A state array on a grid is indexed u(1-g : n+g): interior cells 1..n, g halo cells per
!> side. Cell i covers [x0 + (i-1) dx, x0 + i dx]. Face k (k = 1..n+1) is the left face of
!> cell k, between cells k-1 and k.
module hfc_grid
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error
  use hfc_parallel, only: HFC_NO_COMM, hfc_decompose, hfc_exchange_halo, hfc_comm_rank
  implicit none
  private

  integer, parameter, public :: HFC_BC_PERIODIC = 1

  !> A grid, or this rank's block of a grid decomposed over an MPI communicator: interior
  !> cells 1..n are the global cells offset+1 .. offset+n of n_global.
  type, public :: hfc_grid_t
    integer :: n = 0              !< interior cells (of this rank)
    integer :: g = 0              !< halo cells per side
    real(wp) :: length = 0.0_wp   !< domain length (the whole domain)
    real(wp) :: x0 = 0.0_wp       !< left edge of the domain
    real(wp) :: dx = 0.0_wp       !< cell width
    integer :: boundary = HFC_BC_PERIODIC
    integer :: n_global = 0       !< cells of the whole domain
    integer :: offset = 0         !< global index of cell 1, minus one
    integer :: comm = HFC_NO_COMM !< MPI communicator (Fortran handle) of a decomposed grid
    integer :: nranks = 1
  end type hfc_grid_t

  public :: hfc_grid_init, hfc_grid_init_parallel, hfc_cell_centres, hfc_fill_halo

contains

  !> Build a uniform periodic grid of n cells on [x0, x0 + length) with g halo cells.
  subroutine hfc_grid_init(grid, n, g, length, stat, errmsg, x0)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n, g
    real(wp), intent(in) :: length
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), intent(in), optional :: x0

    stat = HFC_OK
    if (n < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the number of cells must be positive')
      return
    end if
    if (g < 0 .or. g > n) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        'grid: the halo width must lie in [0, n] (a periodic halo wraps at most once)')
      return
    end if
    if (.not. (length > 0.0_wp) .or. length > huge(length)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the domain length must be positive and finite')
      return
    end if
    grid%n = n
    grid%g = g
    grid%length = length
    grid%dx = length / real(n, wp)
    grid%n_global = n
    if (present(x0)) grid%x0 = x0
  end subroutine hfc_grid_init

  !> This rank's block of a periodic grid of n_global cells decomposed over comm
  !> (hfc_parallel's contiguous split). With one rank it is the serial grid.
  subroutine hfc_grid_init_parallel(grid, n_global, g, length, comm, stat, errmsg)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n_global, g, comm
    real(wp), intent(in) :: length
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, offset, rank

    call hfc_grid_init(grid, n_global, g, length, stat, errmsg)
    if (stat /= HFC_OK .or. comm == HFC_NO_COMM) return
    call hfc_decompose(comm, n_global, g, n, offset, stat, errmsg)
    if (stat /= HFC_OK) return
    grid%n = n
    grid%offset = offset
    grid%comm = comm
    call hfc_comm_rank(comm, rank, grid%nranks)
  end subroutine hfc_grid_init_parallel

  !> Cell centres x(1:n).
  pure subroutine hfc_cell_centres(grid, x)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(out) :: x(:)
    integer :: i
    do i = 1, grid%n
      x(i) = grid%x0 + (real(grid%offset + i, wp) - 0.5_wp) * grid%dx   ! global index: same bits on any decomposition
    end do
  end subroutine hfc_cell_centres

  !> Fill the g halo cells on each side of u(1-g:n+g): periodic wrap, or on a decomposed
  !> grid the exchange with the neighbouring ranks (collective over the grid's communicator).
  subroutine hfc_fill_halo(grid, u, stat, errmsg)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout) :: u(1 - grid%g:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g

    stat = HFC_OK
    n = grid%n
    g = grid%g
    if (size(u) /= n + 2 * g) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'fill_halo: state size is not n + 2g')
      return
    end if
    select case (grid%boundary)
    case (HFC_BC_PERIODIC)
      if (grid%nranks > 1) then
        if (g > 0) call hfc_exchange_halo(grid%comm, n, g, u)
      else if (g > 0) then
        u(1 - g:0) = u(n - g + 1:n)
        u(n + 1:n + g) = u(1:g)
      end if
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'fill_halo: unknown boundary kind')
    end select
  end subroutine hfc_fill_halo

end module hfc_grid
