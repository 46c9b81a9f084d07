!> Uniform periodic grids, the blocks of them one rank (or one caller) owns, and the layout
!> of the arrays that live on them.
!>
!> A grid has `ndim` space dimensions (1 or 2, up to HFC_MAX_DIMS). A *global* grid
!> describes the domain: n_global cells per dimension on [x0, x0 + length), halo 0. A
!> *block* is the part of it a rank computes: n cells per dimension starting at global cell
!> offset + 1, with g halo cells on every side (in 2D the corners too).
!>
!> Array layout on a block (flat, so one contract serves every dimension; x varies fastest,
!> as in a Fortran array u(1-g:nx+g, 1-g:ny+g)):
!> - a cell field with halo has cells() values; in 1D it is u(1-g : n+g) viewed from 1,
!>   interior cells at flat indices g+1 .. g+n; in 2D it is u(nx + 2g, ny + 2g);
!> - a face field has faces() values: the faces normal to x first (in 1D, face k = 1..n+1
!>   is the left face of interior cell k, between cells k-1 and k; in 2D an (nx + 1, ny)
!>   array, face (i, j) the left face of cell (i, j)), then those normal to y (in 2D an
!>   (nx, ny + 1) array, face (i, j) the lower face of cell (i, j)).
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

  !> The global grid: `hfc_grid_init(grid, n, length, stat, errmsg [, x0])` in 1D (scalars)
  !> or with n(:), length(:) [, x0(:)] of one entry per dimension (1 or 2).
  interface hfc_grid_init
    module procedure grid_init_1d, grid_init_nd
  end interface hfc_grid_init

  !> A block: `hfc_grid_block(global, n, offset, g, block, stat, errmsg)`, n and offset
  !> scalars in 1D or one entry per dimension.
  interface hfc_grid_block
    module procedure grid_block_1d, grid_block_nd
  end interface hfc_grid_block

contains

  !> The global 1D grid of n cells on [x0, x0 + length) (x0 defaults to 0).
  subroutine grid_init_1d(grid, n, length, stat, errmsg, x0)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n
    real(wp), intent(in) :: length
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), intent(in), optional :: x0
    real(wp) :: origin(1)
    origin = 0.0_wp
    if (present(x0)) origin = x0
    call grid_init_nd(grid, [n], [length], stat, errmsg, origin)
  end subroutine grid_init_1d

  !> The global grid of n(d) cells on [x0(d), x0(d) + length(d)) in each of size(n) = 1 or
  !> 2 dimensions (x0 defaults to 0).
  subroutine grid_init_nd(grid, n, length, stat, errmsg, x0)
    type(hfc_grid_t), intent(out) :: grid
    integer, intent(in) :: n(:)
    real(wp), intent(in) :: length(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), intent(in), optional :: x0(:)
    integer :: d, ndim

    call hfc_clear(stat, errmsg)
    ndim = size(n)
    if (ndim < 1 .or. ndim > HFC_MAX_DIMS .or. size(length) /= ndim) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: 1 or 2 dimensions, one length each: got ' // &
        hfc_str(size(n)) // ' cell counts and ' // hfc_str(size(length)) // ' lengths')
      return
    end if
    if (present(x0)) then
      if (size(x0) /= ndim) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: one origin per dimension')
        return
      end if
    end if
    do d = 1, ndim
      if (n(d) < 1) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the number of cells must be positive, got ' // &
          hfc_str(n(d)))
        return
      end if
      if (.not. (length(d) > 0.0_wp) .or. length(d) > huge(length)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the domain length must be positive and finite')
        return
      end if
    end do
    grid%ndim = ndim
    grid%n(1:ndim) = n
    grid%n_global(1:ndim) = n
    grid%length(1:ndim) = length
    grid%dx(1:ndim) = length / real(n, wp)
    if (present(x0)) grid%x0(1:ndim) = x0
  end subroutine grid_init_nd

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

  !> The block of a global 1D grid with n cells from global cell offset + 1 and g halo cells.
  subroutine grid_block_1d(global, n, offset, g, block, stat, errmsg)
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: n, offset, g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (global%ndim /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: blocks need an initialised 1D grid')
      return
    end if
    call grid_block_nd(global, [n], [offset], g, block, stat, errmsg)
  end subroutine grid_block_1d

  !> The block with n(d) cells from global cell offset(d) + 1 in each dimension and g halo
  !> cells on every side. Each extent must hold at least g cells: a halo comes from one
  !> neighbour (or, on one block, wraps around the periodic domain at most once).
  subroutine grid_block_nd(global, n, offset, g, block, stat, errmsg)
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: n(:), offset(:), g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: d

    call hfc_clear(stat, errmsg)
    if (global%ndim < 1 .or. size(n) /= global%ndim .or. size(offset) /= global%ndim) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: a block needs an initialised grid and one cell ' // &
        'count and offset per dimension')
      return
    end if
    do d = 1, global%ndim
      if (n(d) < 1 .or. offset(d) < 0 .or. offset(d) + n(d) > global%n_global(d)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: block of ' // hfc_str(n(d)) // ' cells from offset ' &
          // hfc_str(offset(d)) // ' does not fit a grid of ' // hfc_str(global%n_global(d)) // ' cells' // &
          trim(merge(' along y', '        ', d == 2)))
        return
      end if
      if (g < 0 .or. g > n(d)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'grid: the halo width must lie in [0, n] (a periodic '// &
          'halo wraps at most once): halo ' // hfc_str(g) // ', n = ' // hfc_str(n(d)))
        return
      end if
    end do
    block = global
    block%n(1:global%ndim) = n
    block%offset(1:global%ndim) = offset
    block%g = g
  end subroutine grid_block_nd

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

  !> Cell centres x(1:n(dim)) of the block's interior along dimension dim (default 1; from
  !> global indices: the same bits whatever the decomposition).
  pure subroutine hfc_cell_centres(grid, x, dim)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(out) :: x(:)
    integer, intent(in), optional :: dim
    integer :: i, d
    d = 1
    if (present(dim)) d = dim
    do i = 1, grid%n(d)
      x(i) = grid%x0(d) + (real(grid%offset(d) + i, wp) - 0.5_wp) * grid%dx(d)
    end do
  end subroutine hfc_cell_centres

  !> Periodic wrap of the halo of a block that is the whole domain; in 2D the x halos of
  !> the interior rows first, then the y halos of whole rows, which fills the corners.
  pure subroutine hfc_periodic_halo(grid, u)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout), target :: u(:)
    real(wp), pointer, contiguous :: a(:, :)
    integer :: n, g, nx, ny, mx
    g = grid%g
    if (g == 0) return
    if (grid%ndim == 1) then
      n = grid%n(1)
      u(1:g) = u(n + 1:n + g)                 ! left halo  = the last g interior cells
      u(g + n + 1:n + 2 * g) = u(g + 1:2 * g) ! right halo = the first g interior cells
      return
    end if
    nx = grid%n(1)
    ny = grid%n(2)
    mx = nx + 2 * g
    a(1:mx, 1:ny + 2 * g) => u
    a(1:g, g + 1:g + ny) = a(nx + 1:nx + g, g + 1:g + ny)
    a(g + nx + 1:mx, g + 1:g + ny) = a(g + 1:2 * g, g + 1:g + ny)
    a(:, 1:g) = a(:, ny + 1:ny + g)
    a(:, g + ny + 1:ny + 2 * g) = a(:, g + 1:2 * g)
  end subroutine hfc_periodic_halo

  !> Copy the interior of a cell field with halo into v (product(n) values, x fastest).
  pure subroutine hfc_get_interior(grid, u, v)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(:)
    real(wp), intent(out) :: v(:)
    integer :: j, g, nx
    g = grid%g
    nx = grid%n(1)
    if (grid%ndim == 1) then
      v = u(g + 1:g + nx)
      return
    end if
    do j = 1, grid%n(2)
      v((j - 1) * nx + 1:j * nx) = u(row(grid, j) + 1:row(grid, j) + nx)
    end do
  end subroutine hfc_get_interior

  !> Copy v (the interior, product(n) values, x fastest) into a cell field with halo.
  pure subroutine hfc_set_interior(grid, v, u)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: v(:)
    real(wp), intent(inout) :: u(:)
    integer :: j, g, nx
    g = grid%g
    nx = grid%n(1)
    if (grid%ndim == 1) then
      u(g + 1:g + nx) = v
      return
    end if
    do j = 1, grid%n(2)
      u(row(grid, j) + 1:row(grid, j) + nx) = v((j - 1) * nx + 1:j * nx)
    end do
  end subroutine hfc_set_interior

  !> Flat index just before the first interior cell of interior row j (2D, with halo).
  pure integer function row(grid, j)
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(in) :: j
    row = (grid%g + j - 1) * (grid%n(1) + 2 * grid%g) + grid%g
  end function row

end module hfc_grid
