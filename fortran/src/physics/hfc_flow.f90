!> The given velocity of passive-scalar advection in 2D (Zhuang et al. 2021): face
!> velocities u on the x-faces and v on the y-faces of the whole periodic grid, times a law
!> in time. The caller (Python: coupler/problems/flows.py) computes them as exact edge
!> averages of a stream function sampled at the cell corners, so the discrete divergence of
!> every cell is zero to round-off; this module only stores, places and scales them.
!>
!> Laws: steady; the deformational flow's cos(pi t / period) (LeVeque 1996; the paper's
!> Eq. 8 with T = period); or frames: velocities given at times t_1 < ... < t_m (snapshots of
!> a decaying-turbulence run), linear in time between them (a linear combination of
!> divergence-free fields is divergence-free). The velocities at a stage are those of the
!> stage time; a host refuses to advance beyond the frames (hfc_flow_t%covers).
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
  integer, parameter, public :: HFC_FLOW_FRAMES = 3   !< frames u(:, :, k) at times(k), linear in between

  real(wp), parameter :: PI = acos(-1.0_wp)

  !> Face velocities and their law in time; make it with hfc_flow_init.
  type, public :: hfc_flow_t
    integer :: law = HFC_FLOW_STEADY
    real(wp) :: period = 0.0_wp
    real(wp) :: peak_rate = 0.0_wp                   !< max(max |u| / dx, max |v| / dy) over all times
    real(wp), allocatable :: times(:)                !< the frames' times (one frame, t = 0, unless law FRAMES)
    real(wp), allocatable :: u_global(:, :, :), v_global(:, :, :)   !< (nx, ny, frames): face (i, j) left of / below cell (i, j)
    real(wp), allocatable :: u0(:, :), v0(:, :)      !< the block's faces with halo per frame (the cosine's factor 1)
  contains
    procedure :: bind => flow_bind
    procedure :: velocities => flow_velocities
    procedure :: stable_dt => flow_stable_dt
    procedure :: covers => flow_covers
  end type hfc_flow_t

  !> A flow from the face velocities of the whole grid:
  !> `hfc_flow_init(flow, u, v, law, period, dx, dy, stat, errmsg)` with u(nx, ny), v(nx, ny)
  !> and law HFC_FLOW_STEADY or HFC_FLOW_COSINE (its period > 0); or
  !> `hfc_flow_init(flow, u, v, times, dx, dy, stat, errmsg)` with frames u(nx, ny, m),
  !> v(nx, ny, m) at increasing times(m) (law HFC_FLOW_FRAMES). u is on the x-faces (face
  !> (i, j) left of cell (i, j); periodic, so the right face of cell nx is face 1), v on the
  !> y-faces (face (i, j) below cell (i, j)); dx, dy the grid's cell widths (for the Courant
  !> rate).
  interface hfc_flow_init
    module procedure flow_init_law, flow_init_frames
  end interface hfc_flow_init

  public :: hfc_flow_init

contains

  subroutine flow_init_law(flow, u, v, law, period, dx, dy, stat, errmsg)
    type(hfc_flow_t), intent(out) :: flow
    real(wp), intent(in) :: u(:, :), v(:, :)
    integer, intent(in) :: law
    real(wp), intent(in) :: period, dx, dy
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (law /= HFC_FLOW_STEADY .and. law /= HFC_FLOW_COSINE) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: unknown law ' // hfc_str(law) // &
        ' (1 steady, 2 cos(pi t / period); frames have their own hfc_flow_init)')
    else if (law == HFC_FLOW_COSINE .and. .not. (period > 0.0_wp .and. period <= huge(period))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the period must be positive and finite, got ' // &
        hfc_str(period))
    else if (any(shape(u) /= shape(v))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: u has shape (' // hfc_str(size(u, 1)) // ', ' // &
        hfc_str(size(u, 2)) // '), v (' // hfc_str(size(v, 1)) // ', ' // hfc_str(size(v, 2)) // '): both need (nx, ny)')
    end if
    if (stat == 0) call store(flow, reshape(u, [shape(u), 1]), reshape(v, [shape(v), 1]), [0.0_wp], dx, dy, stat, errmsg)
    if (stat /= 0) return
    flow%law = law
    flow%period = period
  end subroutine flow_init_law

  subroutine flow_init_frames(flow, u, v, times, dx, dy, stat, errmsg)
    type(hfc_flow_t), intent(out) :: flow
    real(wp), intent(in) :: u(:, :, :), v(:, :, :), times(:)
    real(wp), intent(in) :: dx, dy
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: m

    call hfc_clear(stat, errmsg)
    m = size(times)
    if (m < 2 .or. .not. hfc_all_finite(times)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: frames need finite times, at least two (a steady ' // &
        'flow is one frame: the other hfc_flow_init), got ' // hfc_str(m))
    else if (any(times(2:) <= times(:m - 1))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the frames'' times must increase')
    end if
    if (stat == 0) call store(flow, u, v, times, dx, dy, stat, errmsg)
    if (stat == 0) flow%law = HFC_FLOW_FRAMES
  end subroutine flow_init_frames

  !> Check and keep the frames u, v (nx, ny, frames) at `times`, and their peak Courant rate.
  subroutine store(flow, u, v, times, dx, dy, stat, errmsg)
    type(hfc_flow_t), intent(inout) :: flow
    real(wp), intent(in) :: u(:, :, :), v(:, :, :), times(:)
    real(wp), intent(in) :: dx, dy
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (any(shape(u) /= shape(v)) .or. size(u, 3) /= size(times)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: u has shape (' // hfc_str(size(u, 1)) // ', ' // &
        hfc_str(size(u, 2)) // ', ' // hfc_str(size(u, 3)) // '), v (' // hfc_str(size(v, 1)) // ', ' // &
        hfc_str(size(v, 2)) // ', ' // hfc_str(size(v, 3)) // '): both need (nx, ny, frames), ' // &
        hfc_str(size(times)) // ' frames')
    else if (.not. (hfc_all_finite(reshape(u, [size(u)])) .and. hfc_all_finite(reshape(v, [size(v)])))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the face velocities are not finite')
    else if (.not. (dx > 0.0_wp .and. dy > 0.0_wp)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: the cell widths must be positive')
    end if
    if (stat /= 0) return
    flow%times = times
    flow%u_global = u
    flow%v_global = v
    flow%peak_rate = max(maxval(abs(u)) / dx, maxval(abs(v)) / dy)   ! |cos| <= 1; between frames, within theirs
  end subroutine store

  !> Place the flow on a block of its grid: the faces of every cell of the block, halo
  !> included, by periodic global index. The whole grid's velocities are then released
  !> (a flow binds once; bind a copy for another block).
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
    if (.not. allocated(self%u_global)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'flow: not initialised, or bound already')
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
    allocate(self%u0(mx * my, size(self%times)), self%v0(mx * my, size(self%times)))
    do j = 1, my
      jy = modulo(grid%offset(2) + j - g - 1, grid%n_global(2)) + 1
      do i = 1, mx
        ix = modulo(grid%offset(1) + i - g - 1, grid%n_global(1)) + 1
        k = (j - 1) * mx + i
        self%u0(k, :) = self%u_global(ix, jy, :)
        self%v0(k, :) = self%v_global(ix, jy, :)
      end do
    end do
    deallocate(self%u_global, self%v_global)
  end subroutine flow_bind

  !> The block's face velocities at time t (layout HFC_AT_LOWER_FACES). Frames: linear
  !> between the two around t, w = (t - t_k) / (t_{k+1} - t_k), u = (1 - w) u_k + w u_{k+1}
  !> (the end frames beyond their times: a host checks covers() first).
  subroutine flow_velocities(self, t, u, v)
    class(hfc_flow_t), intent(in) :: self
    real(wp), intent(in) :: t
    real(wp), intent(inout) :: u(:), v(:)
    real(wp) :: factor, w
    integer :: k
    select case (self%law)
    case (HFC_FLOW_STEADY)
      u = self%u0(:, 1)
      v = self%v0(:, 1)
    case (HFC_FLOW_COSINE)
      factor = cos(PI * t / self%period)
      u = factor * self%u0(:, 1)
      v = factor * self%v0(:, 1)
    case default
      k = max(1, min(size(self%times) - 1, count(self%times <= t)))
      w = max(0.0_wp, min(1.0_wp, (t - self%times(k)) / (self%times(k + 1) - self%times(k))))
      u = (1.0_wp - w) * self%u0(:, k) + w * self%u0(:, k + 1)
      v = (1.0_wp - w) * self%v0(:, k) + w * self%v0(:, k + 1)
    end select
  end subroutine flow_velocities

  !> Whether the flow is defined over [t0, t1]: always, except frames beyond their times.
  pure logical function flow_covers(self, t0, t1) result(ok)
    class(hfc_flow_t), intent(in) :: self
    real(wp), intent(in) :: t0, t1
    ok = self%law /= HFC_FLOW_FRAMES
    if (.not. ok) ok = t0 >= self%times(1) .and. t1 <= self%times(size(self%times))
  end function flow_covers

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
