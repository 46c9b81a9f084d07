!> Flux providers of 2D passive-scalar advection c_t + (u c)_x + (v c)_y = 0 (Zhuang et
!> al. 2021), on a 2D block whose face velocities the host supplies as the auxiliary fields
!> 'u' and 'v' (layout HFC_AT_LOWER_FACES, halo included; hfc_flow). Schemes:
!> - 'upwind': first-order upwind in each direction (unsplit);
!> - 'vanleer': the paper's baseline, a symmetrised unsplit step with transverse predictors
!>     c^{n+1} = c + T_x(c + A_y(c)/2) + T_y(c + A_x(c)/2),
!>   T the 1D Van Leer update in flux form with Lin et al. (1994)'s slope and the Courant
!>   correction (hfc_transport), the full dt in every operator. In flux form: the x-fluxes
!>   are those of the predictor c + A_y(c)/2, the y-fluxes those of c + A_x(c)/2, so the
!>   host's divergence with forward Euler is exactly that step (with dt = 0 it is the
!>   dimension-by-dimension MUSCL flux for Runge-Kutta steppers).
!>   Where we differ from the reference code: it uses the flux-form T for the predictors
!>   too (A = T). Then a constant tracer does not stay constant in a non-uniform
!>   divergence-free flow (T_y of a constant is -c dt dv/dy, not 0): in check_host's strained
!>   flow 0.7 drifted by 0.18 in 15 steps, new extrema. We use Lin & Rood (1996)'s advective
!>   inner operators, A_x(c) = T_x(c) + c (dt/dx)(u_{i+1/2} - u_{i-1/2}), which keep a
!>   constant exactly with a discretely divergence-free flow; for a uniform velocity A = T
!>   and the step is the reference's bit for bit;
!> - 'weno5': WENO5-JS face states dimension by dimension with the upwind flux (for SSP-RK3;
!>   a strong baseline the paper did not use).
!> Every kernel is elemental and applied to whole slices in the same order along x and
!> along y, so transposing the tracer and the velocities transposes the fluxes bit for bit.
module hfc_advection2d
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t, hfc_find_aux
  use hfc_transport, only: hfc_lin_slopes, hfc_upwind_fluxes, hfc_vanleer_fluxes
  use hfc_reconstruct, only: weno5_pairs
  implicit none
  private

  integer, parameter, public :: HFC_ADV_UPWIND = 1
  integer, parameter, public :: HFC_ADV_VANLEER = 2
  integer, parameter, public :: HFC_ADV_WENO5 = 3

  integer, parameter :: STRIP_CELLS = 16384   !< cells of a strip of Van Leer (intermediates in cache)

  !> A 2D advection provider; make it with hfc_advection2d_init.
  type, extends(hfc_flux_provider), public :: hfc_advection2d_flux
    integer :: scheme = HFC_ADV_VANLEER
    real(wp), allocatable :: work(:)   !< the scheme's intermediate fields, kept between calls
  contains
    procedure :: compute => advection2d_compute
    procedure :: halo_width => advection2d_halo_width
    procedure :: name => advection2d_name
    procedure :: check_grid => advection2d_check_grid
  end type hfc_advection2d_flux

  public :: hfc_advection2d_init

contains

  !> The provider of scheme `name` ('upwind', 'vanleer', 'weno5').
  subroutine hfc_advection2d_init(p, name, stat, errmsg)
    type(hfc_advection2d_flux), intent(out) :: p
    character(len=*), intent(in) :: name
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    select case (trim(adjustl(name)))
    case ('upwind')
      p%scheme = HFC_ADV_UPWIND
    case ('vanleer')
      p%scheme = HFC_ADV_VANLEER
    case ('weno5')
      p%scheme = HFC_ADV_WENO5
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "unknown scheme '" // trim(adjustl(name)) // &
        "' for advection2d (expected upwind, vanleer or weno5)")
    end select
  end subroutine hfc_advection2d_init

  pure integer function advection2d_halo_width(self) result(g)
    class(hfc_advection2d_flux), intent(in) :: self
    g = self%scheme        ! upwind 1, Van Leer 2 (with corners: the transverse predictor), WENO5 3
  end function advection2d_halo_width

  pure function advection2d_name(self) result(text)
    class(hfc_advection2d_flux), intent(in) :: self
    character(len=:), allocatable :: text
    select case (self%scheme)
    case (HFC_ADV_UPWIND)
      text = 'upwind'
    case (HFC_ADV_VANLEER)
      text = 'vanleer'
    case default
      text = 'weno5'
    end select
  end function advection2d_name

  subroutine advection2d_check_grid(self, grid, stat, errmsg)
    class(hfc_advection2d_flux), intent(in) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    if (grid%ndim /= 2) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, self%name() // &
      ': advection2d schemes need a 2D grid')
  end subroutine advection2d_check_grid

  subroutine advection2d_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_advection2d_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: ku, kv, nx, ny, g, m, strip, j0, rows, fields(3)

    call hfc_clear(stat, errmsg)
    ku = hfc_find_aux(aux, 'u')
    kv = hfc_find_aux(aux, 'v')
    if (ku == 0 .or. kv == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, self%name() // ': no face velocities u, v (give the host a ' // &
        'flow: hfc_host_set_flow)')
      return
    end if
    nx = grid%n(1)
    ny = grid%n(2)
    g = grid%g
    if (.not. allocated(self%work)) allocate(self%work(0))
    strip = min(ny, max(8, STRIP_CELLS / (nx + 4)))
    m = (nx + 4) * (merge(strip, ny, self%scheme == HFC_ADV_VANLEER) + 4)   ! one intermediate field
    fields = [0, 6, 2]                     ! upwind none, Van Leer six per strip, WENO5 two
    if (size(self%work) < fields(self%scheme) * m) then
      deallocate(self%work)
      allocate(self%work(fields(self%scheme) * m))
    end if
    associate (c => u, vx => aux(ku)%values, vy => aux(kv)%values, fx => flux(1:(nx + 1) * ny), &
               fy => flux((nx + 1) * ny + 1:), w => self%work)
      select case (self%scheme)
      case (HFC_ADV_UPWIND)
        call upwind(c, vx, vy, fx, fy)
      case (HFC_ADV_VANLEER)
        ! strips of rows, so that the intermediate fields stay in cache; a strip's last row of
        ! y-faces is the next strip's first, computed again from the same cells (same bits)
        do j0 = 1, ny, strip
          rows = min(strip, ny - j0 + 1)
          call vanleer(rows, c(row(j0 - g) + 1:), vx(row(j0 - g) + 1:), vy(row(j0 - g) + 1:), &
                       fx((j0 - 1) * (nx + 1) + 1:), fy((j0 - 1) * nx + 1:), w(1:m), w(m + 1:2 * m), &
                       w(2 * m + 1:3 * m), w(3 * m + 1:4 * m), w(4 * m + 1:5 * m), w(5 * m + 1:6 * m))
        end do
      case default
        call weno5_x(c, vx, fx, w(1:m), w(m + 1:2 * m))
        call weno5_y(c, vy, fy, w(1:m), w(m + 1:2 * m))
      end select
    end associate

  contains

    !> Flat index just before row j (from 1 - g) of a cell field with halo.
    pure integer function row(j)
      integer, intent(in) :: j
      row = (j - 1 + g) * (nx + 2 * g)
    end function row

    ! The schemes on explicit-shape arrays of the block (cells with halo; faces as in
    ! hfc_grid), the work arrays passed in as well: the compiler then knows that nothing
    ! aliases and makes no temporaries.

    subroutine upwind(c, vx, vy, fx, fy)
      real(wp), intent(in) :: c(1 - g:nx + g, 1 - g:ny + g), vx(1 - g:nx + g, 1 - g:ny + g), &
                              vy(1 - g:nx + g, 1 - g:ny + g)
      real(wp), intent(out) :: fx(1:nx + 1, 1:ny), fy(1:nx, 1:ny + 1)
      integer :: j
      do j = 1, ny
        call hfc_upwind_fluxes(nx + 1, c(0:nx, j), c(1:nx + 1, j), vx(1:nx + 1, j), fx(:, j))
      end do
      do j = 1, ny + 1
        call hfc_upwind_fluxes(nx, c(1:nx, j - 1), c(1:nx, j), vy(1:nx, j), fy(:, j))
      end do
    end subroutine upwind

    !> gx, gy: the fluxes of c itself across the rows (columns) the transverse predictor
    !> needs; cx = c + A_x(c)/2 on columns 1..nx, rows -1..ny+2; cy = c + A_y(c)/2. Slopes:
    !> sx of one row along x, sy(:, j) of row j along y (each cell's once per sweep). On a
    !> strip of ny rows (the block's, or fewer: see advection2d_compute).
    subroutine vanleer(ny, c, vx, vy, fx, fy, gx, gy, cx, cy, sy, sx)
      integer, intent(in) :: ny
      real(wp), intent(in) :: c(1 - g:nx + g, 1 - g:ny + g), vx(1 - g:nx + g, 1 - g:ny + g), &
                              vy(1 - g:nx + g, 1 - g:ny + g)
      real(wp), intent(out) :: fx(1:nx + 1, 1:ny), fy(1:nx, 1:ny + 1)
      real(wp), intent(out) :: gx(1:nx + 1, -1:ny + 2), gy(-1:nx + 2, 1:ny + 1), cx(1:nx, -1:ny + 2), &
                               cy(-1:nx + 2, 1:ny), sy(-1:nx + 2, 0:ny + 1), sx(0:nx + 1)
      real(wp) :: dt_dx, dt_dy
      integer :: j
      dt_dx = dt / grid%dx(1)
      dt_dy = dt / grid%dx(2)
      do j = -1, ny + 2
        call hfc_lin_slopes(nx + 2, c(-1:nx, j), c(0:nx + 1, j), c(1:nx + 2, j), sx)
        call hfc_vanleer_fluxes(nx + 1, c(0:nx, j), sx(0:nx), c(1:nx + 1, j), sx(1:nx + 1), vx(1:nx + 1, j), dt_dx, &
                                gx(:, j))
        cx(:, j) = c(1:nx, j) - (0.5_wp * dt_dx) * ((gx(2:nx + 1, j) - gx(1:nx, j)) - &
                   c(1:nx, j) * (vx(2:nx + 1, j) - vx(1:nx, j)))
      end do
      do j = 0, ny + 1
        call hfc_lin_slopes(nx + 4, c(-1:nx + 2, j - 1), c(-1:nx + 2, j), c(-1:nx + 2, j + 1), sy(:, j))
      end do
      do j = 1, ny + 1
        call hfc_vanleer_fluxes(nx + 4, c(-1:nx + 2, j - 1), sy(:, j - 1), c(-1:nx + 2, j), sy(:, j), vy(-1:nx + 2, j), &
                                dt_dy, gy(:, j))
      end do
      do j = 1, ny
        cy(:, j) = c(-1:nx + 2, j) - (0.5_wp * dt_dy) * ((gy(:, j + 1) - gy(:, j)) - &
                   c(-1:nx + 2, j) * (vy(-1:nx + 2, j + 1) - vy(-1:nx + 2, j)))
        call hfc_lin_slopes(nx + 2, cy(-1:nx, j), cy(0:nx + 1, j), cy(1:nx + 2, j), sx)
        call hfc_vanleer_fluxes(nx + 1, cy(0:nx, j), sx(0:nx), cy(1:nx + 1, j), sx(1:nx + 1), vx(1:nx + 1, j), dt_dx, &
                                fx(:, j))
      end do
      do j = 0, ny + 1                     ! the slopes along y of cx, in sy(1:nx, j)
        call hfc_lin_slopes(nx, cx(:, j - 1), cx(:, j), cx(:, j + 1), sy(1:nx, j))
      end do
      do j = 1, ny + 1
        call hfc_vanleer_fluxes(nx, cx(:, j - 1), sy(1:nx, j - 1), cx(:, j), sy(1:nx, j), vy(1:nx, j), dt_dy, fy(:, j))
      end do
    end subroutine vanleer

    !> WENO5 along x, then along y. r: the state at the upper face of a cell (the lower side
    !> of that face), l: at its lower face (the upper side); face k gets r of cell k-1 and l
    !> of cell k.
    subroutine weno5_x(c, vx, fx, r, l)
      real(wp), intent(in) :: c(1 - g:nx + g, 1 - g:ny + g), vx(1 - g:nx + g, 1 - g:ny + g)
      real(wp), intent(out) :: fx(1:nx + 1, 1:ny)
      real(wp), intent(out) :: r(0:nx + 1), l(0:nx + 1)
      integer :: j
      do j = 1, ny
        call weno5_pairs(nx + 2, c(-2:nx - 1, j), c(-1:nx, j), c(0:nx + 1, j), c(1:nx + 2, j), c(2:nx + 3, j), r, l)
        call hfc_upwind_fluxes(nx + 1, r(0:nx), l(1:nx + 1), vx(1:nx + 1, j), fx(:, j))
      end do
    end subroutine weno5_x

    subroutine weno5_y(c, vy, fy, r, l)
      real(wp), intent(in) :: c(1 - g:nx + g, 1 - g:ny + g), vy(1 - g:nx + g, 1 - g:ny + g)
      real(wp), intent(out) :: fy(1:nx, 1:ny + 1)
      real(wp), intent(out) :: r(1:nx, 0:ny + 1), l(1:nx, 0:ny + 1)
      integer :: j
      do j = 0, ny + 1
        call weno5_pairs(nx, c(1:nx, j - 2), c(1:nx, j - 1), c(1:nx, j), c(1:nx, j + 1), c(1:nx, j + 2), r(:, j), l(:, j))
      end do
      do j = 1, ny + 1
        call hfc_upwind_fluxes(nx, r(:, j - 1), l(:, j), vy(1:nx, j), fy(:, j))
      end do
    end subroutine weno5_y

  end subroutine advection2d_compute

end module hfc_advection2d
