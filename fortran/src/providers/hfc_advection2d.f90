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
  use hfc_transport, only: hfc_upwind_flux, hfc_vanleer_flux
  use hfc_reconstruct, only: weno5_pair
  implicit none
  private

  integer, parameter, public :: HFC_ADV_UPWIND = 1
  integer, parameter, public :: HFC_ADV_VANLEER = 2
  integer, parameter, public :: HFC_ADV_WENO5 = 3

  !> A 2D advection provider; make it with hfc_advection2d_init.
  type, extends(hfc_flux_provider), public :: hfc_advection2d_flux
    integer :: scheme = HFC_ADV_VANLEER
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
    integer :: ku, kv, nx, ny, g

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
    call fluxes(u, aux(ku)%values, aux(kv)%values, flux(1:(nx + 1) * ny), flux((nx + 1) * ny + 1:))

  contains

    !> The x-fluxes fx (faces 1..nx+1 of rows 1..ny) and y-fluxes fy of the state c.
    subroutine fluxes(c, vx, vy, fx, fy)
      real(wp), intent(in) :: c(1 - g:nx + g, 1 - g:ny + g), vx(1 - g:nx + g, 1 - g:ny + g), &
                              vy(1 - g:nx + g, 1 - g:ny + g)
      real(wp), intent(out) :: fx(1:nx + 1, 1:ny), fy(1:nx, 1:ny + 1)
      real(wp), allocatable :: gx(:, :), gy(:, :), cx(:, :), cy(:, :), r(:, :), l(:, :)

      select case (self%scheme)
      case (HFC_ADV_UPWIND)
        fx = hfc_upwind_flux(c(0:nx, 1:ny), c(1:nx + 1, 1:ny), vx(1:nx + 1, 1:ny))
        fy = hfc_upwind_flux(c(1:nx, 0:ny), c(1:nx, 1:ny + 1), vy(1:nx, 1:ny + 1))
      case (HFC_ADV_VANLEER)
        allocate(gx(nx + 1, ny + 4), gy(nx + 4, ny + 1), cx(nx, ny + 4), cy(nx + 4, ny))
        ! fluxes of c itself across the rows (columns) the transverse predictor needs
        gx = hfc_vanleer_flux(c(-1:nx - 1, -1:ny + 2), c(0:nx, -1:ny + 2), c(1:nx + 1, -1:ny + 2), &
                              c(2:nx + 2, -1:ny + 2), vx(1:nx + 1, -1:ny + 2), abs(vx(1:nx + 1, -1:ny + 2)) * (dt / grid%dx(1)))
        gy = hfc_vanleer_flux(c(-1:nx + 2, -1:ny - 1), c(-1:nx + 2, 0:ny), c(-1:nx + 2, 1:ny + 1), &
                              c(-1:nx + 2, 2:ny + 2), vy(-1:nx + 2, 1:ny + 1), abs(vy(-1:nx + 2, 1:ny + 1)) * (dt / grid%dx(2)))
        ! predictors: cx = c + A_x(c)/2 on columns 1..nx, rows -1..ny+2; cy = c + A_y(c)/2
        cx = c(1:nx, -1:ny + 2) - (0.5_wp * dt / grid%dx(1)) * ((gx(2:nx + 1, :) - gx(1:nx, :)) - &
             c(1:nx, -1:ny + 2) * (vx(2:nx + 1, -1:ny + 2) - vx(1:nx, -1:ny + 2)))
        cy = c(-1:nx + 2, 1:ny) - (0.5_wp * dt / grid%dx(2)) * ((gy(:, 2:ny + 1) - gy(:, 1:ny)) - &
             c(-1:nx + 2, 1:ny) * (vy(-1:nx + 2, 2:ny + 1) - vy(-1:nx + 2, 1:ny)))
        ! cy(i, j) is cell (i - 2, j); cx(i, j) is cell (i, j - 2)
        fx = hfc_vanleer_flux(cy(1:nx + 1, :), cy(2:nx + 2, :), cy(3:nx + 3, :), cy(4:nx + 4, :), vx(1:nx + 1, 1:ny), &
                              abs(vx(1:nx + 1, 1:ny)) * (dt / grid%dx(1)))
        fy = hfc_vanleer_flux(cx(:, 1:ny + 1), cx(:, 2:ny + 2), cx(:, 3:ny + 3), cx(:, 4:ny + 4), vy(1:nx, 1:ny + 1), &
                              abs(vy(1:nx, 1:ny + 1)) * (dt / grid%dx(2)))
      case default
        ! r: the state at the upper face of cells 0..nx+1 (lower side of that face), l: at the
        ! lower face (upper side); face k gets r of cell k-1 and l of cell k
        allocate(r(0:nx + 1, 1:ny), l(0:nx + 1, 1:ny))
        call weno5_pair(c(-2:nx - 1, 1:ny), c(-1:nx, 1:ny), c(0:nx + 1, 1:ny), c(1:nx + 2, 1:ny), c(2:nx + 3, 1:ny), &
                        r, l)
        fx = hfc_upwind_flux(r(0:nx, :), l(1:nx + 1, :), vx(1:nx + 1, 1:ny))
        deallocate(r, l)
        allocate(r(1:nx, 0:ny + 1), l(1:nx, 0:ny + 1))
        call weno5_pair(c(1:nx, -2:ny - 1), c(1:nx, -1:ny), c(1:nx, 0:ny + 1), c(1:nx, 1:ny + 2), c(1:nx, 2:ny + 3), &
                        r, l)
        fy = hfc_upwind_flux(r(:, 0:ny), l(:, 1:ny + 1), vy(1:nx, 1:ny + 1))
      end select
    end subroutine fluxes

  end subroutine advection2d_compute

end module hfc_advection2d
