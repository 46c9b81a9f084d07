!> Uniform periodic grids, the blocks of them one rank (or one caller) owns, and the layout
!> of the arrays that live on them.
!>
!> A grid has `ndim` space dimensions (1 today; the type holds up to HFC_MAX_DIMS so a 2D
!> host shares it). A *global* grid describes the domain: n_global cells per dimension on
!> [x0, x0 + length), halo 0. A *block* is the part of it a rank computes: n cells per
!> dimension starting at global cell offset + 1, with g halo cells on every side.
!>
!> Array layout on a block (flat, so one contract serves every dimension):
!> - a cell field with halo has cells() values; in 1D it is u(1-g : n+g) viewed from 1,
!>   interior cells at flat indices g+1 .. g+n;
!> - a face field has faces() values: the faces normal to x first (in 1D, face k = 1..n+1
!>   is the left face of interior cell k, between cells k-1 and k), then those normal to y.
module hfc_grid
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  implicit none
  private

  integer, parameter, public :: HFC_MAX_DIMS = 2

  !> A global grid or a block of one (see the module header).
  type, public :: hfc_grid_t
    integer :: ndim = 0                               !< 0 until initialised
    integer :: n(HFC_MAX_DIMS) = 1                    !< interior cells of the block
    integer :: g = 0                                  !< halo cells on every side
    real(wp) :: length(HFC_MAX_DIMS) = 0.0_wp         !< length of the whole domain
    real(wp) :: x0(HFC_MAX_DIMS) = 0.0_wp             !< lower edge of the whole domain
    real(wp) :: dx(HFC_MAX_DIMS) = 0.0_wp             !< cell width
    integer :: n_global(HFC_MAX_DIMS) = 1             !< cells of the whole domain
    integer :: offset(HFC_MAX_DIMS) = 0               !< global index of the block's first cell, minus one
  contains
    procedure :: cells => grid_cells
    procedure :: faces => grid_faces
  end type hfc_grid_t

  public :: hfc_grid_init, hfc_grid_init_spacing, hfc_grid_block, hfc_cell_centres, hfc_periodic_halo, hfc_get_interior, &
            hfc_set_interior

contains

  !> The global 1D grid of n cells on [x0, x0 + length) (x0 defaults to 0).
  subroutine hfc_grid_init(grid, n, length, stat, errmsg, x0)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n
    real(wp), intent(in) :: length
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), intent(in), optional :: x0

    call hfc_clear(stat, errmsg)
    if (n < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the number of cells must be positive, got ' // hfc_str(n))
      return
    end if
    if (.not. (length > 0.0_wp) .or. length > huge(length)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the domain length must be positive and finite')
      return
    end if
    grid%ndim = 1
    grid%n(1) = n
    grid%n_global(1) = n
    grid%length(1) = length
    grid%dx(1) = length / real(n, wp)
    if (present(x0)) grid%x0(1) = x0
  end subroutine hfc_grid_init

  !> The global 1D grid of n cells of width dx on [0, n dx) (dx kept exactly as given).
  subroutine hfc_grid_init_spacing(grid, n, dx, stat, errmsg)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n
    real(wp), intent(in) :: dx
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. (dx > 0.0_wp) .or. dx > huge(dx)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the cell width must be positive and finite')
      return
    end if
    call hfc_grid_init(grid, n, real(n, wp) * dx, stat, errmsg)
    if (stat == 0) grid%dx(1) = dx
  end subroutine hfc_grid_init_spacing

  !> The block of a global grid with n cells from global cell offset + 1 and g halo cells.
  !> The block must hold at least g cells: a halo comes from one neighbour (or, on one
  !> block, wraps around the periodic domain at most once).
  subroutine hfc_grid_block(global, n, offset, g, block, stat, errmsg)
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: n, offset, g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (global%ndim /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: blocks need an initialised 1D grid')
      return
    end if
    if (n < 1 .or. offset < 0 .or. offset + n > global%n_global(1)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: block of ' // hfc_str(n) // ' cells from offset ' // &
        hfc_str(offset) // ' does not fit a grid of ' // hfc_str(global%n_global(1)) // ' cells')
      return
    end if
    if (g < 0 .or. g > n) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the halo width must lie in [0, n] (a periodic '// &
        'halo wraps at most once): halo ' // hfc_str(g) // ', n = ' // hfc_str(n))
      return
    end if
    block = global
    block%n(1) = n
    block%offset(1) = offset
    block%g = g
  end subroutine hfc_grid_block

  !> Values of a cell field with halo on this block.
  pure integer function grid_cells(self) result(count)
    class(hfc_grid_t), intent(in) :: self
    count = product(self%n(1:self%ndim) + 2 * self%g)
  end function grid_cells

  !> Values of a face field on this block (faces of the interior, all directions).
  pure integer function grid_faces(self) result(count)
    class(hfc_grid_t), intent(in) :: self
    integer :: d, cells
    cells = product(self%n(1:self%ndim))
    count = 0
    do d = 1, self%ndim
      count = count + (cells / self%n(d)) * (self%n(d) + 1)   ! faces normal to direction d
    end do
  end function grid_faces

  !> Cell centres x(1:n) of the block's interior (from global indices: the same bits
  !> whatever the decomposition).
  pure subroutine hfc_cell_centres(grid, x)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(out) :: x(:)
    integer :: i
    do i = 1, grid%n(1)
      x(i) = grid%x0(1) + (real(grid%offset(1) + i, wp) - 0.5_wp) * grid%dx(1)
    end do
  end subroutine hfc_cell_centres

  !> Periodic wrap of the halo of a block that is the whole (1D) domain.
  pure subroutine hfc_periodic_halo(grid, u)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout) :: u(:)
    integer :: n, g
    n = grid%n(1)
    g = grid%g
    if (g == 0) return
    u(1:g) = u(n + 1:n + g)                 ! left halo  = the last g interior cells
    u(g + n + 1:n + 2 * g) = u(g + 1:2 * g) ! right halo = the first g interior cells
  end subroutine hfc_periodic_halo

  !> Copy the interior of a cell field with halo into v (n values in 1D).
  pure subroutine hfc_get_interior(grid, u, v)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(:)
    real(wp), intent(out) :: v(:)
    v = u(grid%g + 1:grid%g + grid%n(1))
  end subroutine hfc_get_interior

  !> Copy v (the interior, n values in 1D) into a cell field with halo.
  pure subroutine hfc_set_interior(grid, v, u)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: v(:)
    real(wp), intent(inout) :: u(:)
    u(grid%g + 1:grid%g + grid%n(1)) = v
  end subroutine hfc_set_interior

end module hfc_grid
