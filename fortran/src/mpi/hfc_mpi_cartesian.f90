!> The 2D Cartesian MPI decomposition (library libhfc_mpi): px x py ranks on a periodic
!> process grid (MPI_Dims_create chooses px, py unless the caller does; MPI_Cart_create
!> places the ranks, without reordering, so a rank keeps its number), each owning a
!> rectangle of the global grid: along each dimension the split of hfc_mpi_split
!> (contiguous, the first mod(n, p) blocks one cell longer), so uneven splits are allowed.
!>
!> The halo exchange fills the corners too, in two phases: the x halos of the interior rows
!> from the x neighbours, then the y halos of whole rows (their x halos included, so the
!> corners come along) from the y neighbours. A block needs at least max(g, 1) cells each
!> way (a halo comes from one neighbour). Along a dimension with one rank the halo is the
!> periodic wrap of the block itself, without MPI.
module hfc_mpi_cartesian
  use mpi_f08, only: MPI_Comm, MPI_Dims_create, MPI_Cart_create, MPI_Cart_coords, MPI_Cart_shift, MPI_Comm_free, &
                     MPI_Sendrecv, MPI_Allgather, MPI_DOUBLE_PRECISION, MPI_INTEGER, MPI_STATUS_IGNORE
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t, hfc_grid_block
  use hfc_mpi, only: hfc_mpi_comm_t, hfc_mpi_comm_init, hfc_mpi_split
  implicit none
  private

  !> px x py ranks, rank (cx, cy) at cx * py + cy (MPI_Cart's row-major order).
  type, extends(hfc_mpi_comm_t), public :: hfc_mpi_cart_t
    integer :: dims(2) = 0          !< ranks along x and y; 0 0 when the requested dims do not fit
    integer :: asked(2) = 0         !< the caller's request (0: MPI_Dims_create chooses)
    integer :: coords(2) = 0        !< this rank's place on the process grid, from 0
    integer :: lower(2) = 0         !< the rank below along x and along y (periodic)
    integer :: upper(2) = 0         !< the rank above
    real(wp), allocatable :: buffer(:, :)   !< the x exchange's columns: 4 buffers of g x ny
  contains
    procedure :: split => cart_split
    procedure :: check_block => cart_check_block
    procedure :: fill_halo => cart_fill_halo
  end type hfc_mpi_cart_t

  !> The Cartesian decomposition of a communicator: hfc_mpi_cart(comm [, dims]), comm an
  !> integer handle or a type(MPI_Comm), dims(2) the ranks along x and y (0 or absent:
  !> chosen by MPI_Dims_create; dims that do not multiply to the ranks are refused by split).
  !> Collective over comm.
  interface hfc_mpi_cart
    module procedure cart_from_handle, cart_from_f08
  end interface hfc_mpi_cart

  public :: hfc_mpi_cart

contains

  function cart_from_handle(comm, dims) result(cart)
    integer, intent(in) :: comm
    integer, intent(in), optional :: dims(2)
    type(hfc_mpi_cart_t) :: cart
    type(MPI_Comm) :: c
    c%MPI_VAL = comm
    cart = cart_from_f08(c, dims)
  end function cart_from_handle

  function cart_from_f08(comm, dims) result(cart)
    type(MPI_Comm), intent(in) :: comm
    integer, intent(in), optional :: dims(2)
    type(hfc_mpi_cart_t) :: cart
    type(MPI_Comm) :: grid
    integer :: d

    call hfc_mpi_comm_init(cart, comm)
    if (present(dims)) cart%asked = dims
    if (.not. fits(cart%asked, cart%size)) return      ! split says why
    cart%dims = cart%asked
    call MPI_Dims_create(cart%size, 2, cart%dims)
    call MPI_Cart_create(comm, 2, cart%dims, [.true., .true.], .false., grid)
    call MPI_Cart_coords(grid, cart%me, 2, cart%coords)
    do d = 1, 2
      call MPI_Cart_shift(grid, d - 1, 1, cart%lower(d), cart%upper(d))
    end do
    call MPI_Comm_free(grid)      ! not reordered: its ranks are comm's, on which we talk
  end function cart_from_f08

  !> Whether asked (0: free) can multiply to `ranks`.
  pure logical function fits(asked, ranks)
    integer, intent(in) :: asked(2), ranks
    fits = all(asked >= 0)
    if (.not. fits) return
    if (all(asked > 0)) then
      fits = product(asked) == ranks
    else if (any(asked > 0)) then
      fits = mod(ranks, max(asked(1), asked(2))) == 0
    end if
  end function fits

  !> This rank's rectangle: hfc_mpi_split along each dimension.
  subroutine cart_split(self, global, g, block, stat, errmsg)
    class(hfc_mpi_cart_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: global
    integer, intent(in) :: g
    type(hfc_grid_t), intent(out) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n(2), offset(2), d

    call hfc_clear(stat, errmsg)
    if (global%ndim /= 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: the Cartesian decomposition splits 2D ' // &
        'grids (hfc_mpi_ring splits 1D grids)')
      return
    end if
    if (any(self%dims == 0)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: a process grid of ' // &
        hfc_str(self%asked(1)) // ' x ' // hfc_str(self%asked(2)) // ' ranks (0: any) does not fit the ' // &
        hfc_str(self%size) // ' ranks of the communicator')
      return
    end if
    do d = 1, 2
      if (global%n_global(d) / self%dims(d) < max(g, 1)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: every rank needs at least max(g, 1) = ' // &
          hfc_str(max(g, 1)) // ' cells along ' // 'xy'(d:d) // ': ' // hfc_str(global%n_global(d)) // ' cells on ' // &
          hfc_str(self%dims(d)) // ' ranks (' // hfc_str(self%dims(1)) // ' x ' // hfc_str(self%dims(2)) // ')')
        return
      end if
      call hfc_mpi_split(global%n_global(d), self%dims(d), self%coords(d), n(d), offset(d))
    end do
    call hfc_grid_block(global, n, offset, g, block, stat, errmsg)
  end subroutine cart_split

  !> A block the caller chose: the blocks must form the process grid's rectangles, every
  !> rank of a process column (row) with the same x (y) extent, the extents tiling each
  !> dimension in coordinate order, each at least max(g, 1) cells. Collective.
  subroutine cart_check_block(self, block, stat, errmsg)
    class(hfc_mpi_cart_t), intent(in) :: self
    type(hfc_grid_t), intent(in) :: block
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: blocks(6, 0:self%size - 1), d, r, k, next, first

    call hfc_clear(stat, errmsg)
    if (block%ndim /= 2 .or. any(self%dims == 0)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: the Cartesian decomposition needs a 2D ' // &
        'block and dims that multiply to the ranks')
      return
    end if
    call MPI_Allgather([self%coords, block%n(1:2), block%offset(1:2)], 6, MPI_INTEGER, blocks, 6, MPI_INTEGER, self%comm)
    do d = 1, 2
      next = 0
      do k = 0, self%dims(d) - 1        ! process column (row) k: its first rank's extent, on all of its ranks
        first = findloc(blocks(d, :), k, dim=1) - 1
        do r = 0, self%size - 1
          if (blocks(d, r) /= k) cycle
          if (any(blocks(2 + d:4 + d:2, r) /= [blocks(2 + d, first), next]) .or. blocks(2 + d, r) < max(block%g, 1)) then
            call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: rank ' // hfc_str(r) // ' has ' // &
              hfc_str(blocks(2 + d, r)) // ' cells along ' // 'xy'(d:d) // ' from offset ' // hfc_str(blocks(4 + d, r)) // &
              '; the Cartesian grid needs the same extent on every rank of a process ' // &
              trim(merge('column', 'row   ', d == 1)) // ', tiling the domain in coordinate order, at least ' // &
              'max(g, 1) = ' // hfc_str(max(block%g, 1)) // ' cells each')
            return
          end if
        end do
        next = next + blocks(2 + d, first)
      end do
      if (next /= block%n_global(d)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'decomposition: the blocks hold ' // hfc_str(next) // &
          ' cells along ' // 'xy'(d:d) // ', the domain ' // hfc_str(block%n_global(d)))
        return
      end if
    end do
  end subroutine cart_check_block

  !> Fill the halo (corners included) from the neighbours. Collective.
  subroutine cart_fill_halo(self, grid, u, stat, errmsg)
    class(hfc_mpi_cart_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(inout) :: u(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: nx, ny, g, mx, row

    call hfc_clear(stat, errmsg)
    if (size(u) /= grid%cells() .or. grid%ndim /= 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'fill_halo: the field has ' // hfc_str(size(u)) // &
        ' values, the 2D block needs (nx + 2g)(ny + 2g) = ' // hfc_str(grid%cells()))
      return
    end if
    g = grid%g
    if (g == 0) return
    nx = grid%n(1)
    ny = grid%n(2)
    mx = nx + 2 * g
    if (self%dims(1) > 1) then
      if (allocated(self%buffer)) then
        if (size(self%buffer, 1) /= g * ny) deallocate(self%buffer)
      end if
      if (.not. allocated(self%buffer)) allocate(self%buffer(g * ny, 4))
    end if
    call exchange_x(u)
    ! y: g whole rows (x halos included: the corners), contiguous in memory
    row = mx * g
    if (self%dims(2) == 1) then
      u(1:row) = u(mx * ny + 1:mx * ny + row)
      u(mx * (ny + g) + 1:mx * (ny + 2 * g)) = u(row + 1:2 * row)
    else
      call MPI_Sendrecv(u(mx * ny + 1:mx * ny + row), row, MPI_DOUBLE_PRECISION, self%upper(2), 3, u(1:row), row, &
                        MPI_DOUBLE_PRECISION, self%lower(2), 3, self%comm, MPI_STATUS_IGNORE)
      call MPI_Sendrecv(u(row + 1:2 * row), row, MPI_DOUBLE_PRECISION, self%lower(2), 4, &
                        u(mx * (ny + g) + 1:mx * (ny + 2 * g)), row, MPI_DOUBLE_PRECISION, self%upper(2), 4, &
                        self%comm, MPI_STATUS_IGNORE)
    end if

  contains

    !> x: the g columns next to each side of the interior rows.
    subroutine exchange_x(a)
      real(wp), intent(inout) :: a(mx, ny + 2 * g)
      if (self%dims(1) == 1) then
        a(1:g, g + 1:g + ny) = a(nx + 1:nx + g, g + 1:g + ny)
        a(g + nx + 1:mx, g + 1:g + ny) = a(g + 1:2 * g, g + 1:g + ny)
        return
      end if
      associate (send_up => self%buffer(:, 1), recv_low => self%buffer(:, 2), send_low => self%buffer(:, 3), &
                 recv_up => self%buffer(:, 4))
        send_up = reshape(a(nx + 1:nx + g, g + 1:g + ny), [g * ny])
        send_low = reshape(a(g + 1:2 * g, g + 1:g + ny), [g * ny])
        call MPI_Sendrecv(send_up, g * ny, MPI_DOUBLE_PRECISION, self%upper(1), 1, recv_low, g * ny, &
                          MPI_DOUBLE_PRECISION, self%lower(1), 1, self%comm, MPI_STATUS_IGNORE)
        call MPI_Sendrecv(send_low, g * ny, MPI_DOUBLE_PRECISION, self%lower(1), 2, recv_up, g * ny, &
                          MPI_DOUBLE_PRECISION, self%upper(1), 2, self%comm, MPI_STATUS_IGNORE)
        a(1:g, g + 1:g + ny) = reshape(recv_low, [g, ny])
        a(g + nx + 1:mx, g + 1:g + ny) = reshape(recv_up, [g, ny])
      end associate
    end subroutine exchange_x

  end subroutine cart_fill_halo

end module hfc_mpi_cartesian
