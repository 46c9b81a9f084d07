!> The given velocity of passive-scalar advection in 2D (Zhuang et al. 2021): face
!> velocities u on the x-faces and v on the y-faces of the whole periodic grid, times a law
!> in time. The caller (Python: coupler/problems/flows.py) computes them as exact edge
!> averages of a stream function sampled at the cell corners, so the discrete divergence of
!> every cell is zero to round-off; this module only stores, places and scales them.
!>
!> Laws: steady, or the deformational flow's cos(pi t / period) (LeVeque 1996; the paper's
!> Eq. 8 with T = period). The velocities at a stage are those of the stage time.
!>
!> Bound to a block, the flow holds the block's faces with halo in the layout
!> HFC_AT_LOWER_FACES of hfc_provider (entry (i, j) the face on the lower side of cell (i, j)),
!> taken from the global arrays by periodic index: no halo exchange, the same bits on every
!> decomposition.
module hfc_flow
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str, hfc_all_finite
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  integer, parameter, public :: HFC_FLOW_STEADY = 1   !< u, v as given, at every time
  integer, parameter, public :: HFC_FLOW_COSINE = 2   !< u, v times cos(pi t / period)

  real(wp), parameter :: PI = acos(-1.0_wp)

  !> Face velocities and their law in time; make it with hfc_flow_init.
  type, public :: hfc_flow_t
    integer :: law = HFC_FLOW_STEADY
    real(wp) :: period = 0.0_wp
    real(wp) :: peak_rate = 0.0_wp                   !< max(max |u| / dx, max |v| / dy) over all times
    real(wp), allocatable :: u_global(:, :), v_global(:, :)   !< (nx, ny): face (i, j) left of / below cell (i, j)
    real(wp), allocatable :: u0(:), v0(:)            !< the block's faces with halo, at factor 1
  contains
    procedure :: bind => flow_bind
    procedure :: velocities => flow_velocities
    procedure :: stable_dt => flow_stable_dt
  end type hfc_flow_t

  public :: hfc_flow_init

contains

  !> A flow from the face velocities of the whole grid, u(nx, ny) on the x-faces (face (i, j)
  !> left of cell (i, j); periodic, so the right face of cell nx is face 1) and v(nx, ny) on
  !> the y-faces (face (i, j) below cell (i, j)); law HFC_FLOW_STEADY or HFC_FLOW_COSINE
  !> with its period > 0; dx, dy the grid's cell widths (for the Courant rate).
  subroutine hfc_flow_init(flow, u, v, law, period, dx, dy, stat, errmsg)
    type(hfc_flow_t), intent(out) :: flow
    real(wp), intent(in) :: u(:, :), v(:, :)
    integer, intent(in) :: law
    real(wp), intent(in) :: period, dx, dy
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (any(shape(u) /= shape(v))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: u has shape (' // hfc_str(size(u, 1)) // ', ' // &
        hfc_str(size(u, 2)) // '), v (' // hfc_str(size(v, 1)) // ', ' // hfc_str(size(v, 2)) // '): both need (nx, ny)')
    else if (.not. (hfc_all_finite(reshape(u, [size(u)])) .and. hfc_all_finite(reshape(v, [size(v)])))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the face velocities are not finite')
    else if (law /= HFC_FLOW_STEADY .and. law /= HFC_FLOW_COSINE) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: unknown law ' // hfc_str(law) // &
        ' (1 steady, 2 cos(pi t / period))')
    else if (law == HFC_FLOW_COSINE .and. .not. (period > 0.0_wp .and. period <= huge(period))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the period must be positive and finite, got ' // &
        hfc_str(period))
    else if (.not. (dx > 0.0_wp .and. dy > 0.0_wp)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the cell widths must be positive')
    end if
    if (stat /= 0) return
    flow%law = law
    flow%period = period
    flow%u_global = u
    flow%v_global = v
    flow%peak_rate = max(maxval(abs(u)) / dx, maxval(abs(v)) / dy)   ! |cos| <= 1
  end subroutine hfc_flow_init

  !> Place the flow on a block of its grid: the faces of every cell of the block, halo
  !> included, by periodic global index.
  subroutine flow_bind(self, grid, stat, errmsg)
    class(hfc_flow_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: i, j, g, mx, my, ix, jy, k

    call hfc_clear(stat, errmsg)
    if (grid%ndim /= 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: defined on 2D grids')
      return
    end if
    if (size(self%u_global, 1) /= grid%n_global(1) .or. size(self%u_global, 2) /= grid%n_global(2)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the velocities are given on ' // &
        hfc_str(size(self%u_global, 1)) // ' x ' // hfc_str(size(self%u_global, 2)) // ' cells, the grid has ' // &
        hfc_str(grid%n_global(1)) // ' x ' // hfc_str(grid%n_global(2)))
      return
    end if
    g = grid%g
    mx = grid%n(1) + 2 * g
    my = grid%n(2) + 2 * g
    if (allocated(self%u0)) deallocate(self%u0, self%v0)
    allocate(self%u0(mx * my), self%v0(mx * my))
    do j = 1, my
      jy = modulo(grid%offset(2) + j - g - 1, grid%n_global(2)) + 1
      do i = 1, mx
        ix = modulo(grid%offset(1) + i - g - 1, grid%n_global(1)) + 1
        k = (j - 1) * mx + i
        self%u0(k) = self%u_global(ix, jy)
        self%v0(k) = self%v_global(ix, jy)
      end do
    end do
  end subroutine flow_bind

  !> The block's face velocities at time t (layout HFC_AT_LOWER_FACES).
  subroutine flow_velocities(self, t, u, v)
    class(hfc_flow_t), intent(in) :: self
    real(wp), intent(in) :: t
    real(wp), intent(inout) :: u(:), v(:)
    real(wp) :: factor
    if (self%law == HFC_FLOW_STEADY) then
      u = self%u0
      v = self%v0
    else
      factor = cos(PI * t / self%period)
      u = factor * self%u0
      v = factor * self%v0
    end if
  end subroutine flow_velocities

  !> The time-step rule of 2D advection: cfl / max(max |u| / dx, max |v| / dy), the peak
  !> over all times (so the deformational flow keeps the paper's fixed step: dt = 0.5 dx at
  !> peak speed 1); huge() for a flow at rest. The same on every rank (global velocities).
  pure real(wp) function flow_stable_dt(self, cfl) result(dt)
    class(hfc_flow_t), intent(in) :: self
    real(wp), intent(in) :: cfl
    dt = huge(dt)
    if (self%peak_rate > 0.0_wp) dt = cfl / self%peak_rate
  end function flow_stable_dt

end module hfc_flow
