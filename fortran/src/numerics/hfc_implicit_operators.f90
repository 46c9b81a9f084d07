!> The implicit-step matrices of the PRDP paper's appendix D on a periodic 1D grid, as
!> hfc_linear_operator_t (the same as training/operators.py, which holds the derivations):
!>
!> - heat BTCS (D.2): A = I - nu dt L, L the periodic three-point Laplacian / dx^2;
!> - Burgers Oseen (D.5): A(w) = I + dt Gamma(w) - nu dt L, upwind convection with the
!>   winds of the previous state w: (w_{i-1} + w_i) / 2 at the left face where positive
!>   (backward difference), (w_i + w_{i+1}) / 2 at the right face where negative (forward).
module hfc_implicit_operators
  use hfc_kinds, only: wp
  use hfc_linear_solver, only: hfc_linear_operator_t
  implicit none
  private

  !> I - r L with r = nu dt / dx^2 (L unscaled: u_{i-1} - 2 u_i + u_{i+1}).
  type, extends(hfc_linear_operator_t), public :: hfc_heat_btcs_t
    real(wp) :: r = 0.0_wp
  contains
    procedure :: apply => heat_apply
    procedure :: diagonal => heat_diagonal
  end type hfc_heat_btcs_t

  !> I + dt Gamma(w) - nu dt L, with the winds of w.
  type, extends(hfc_linear_operator_t), public :: hfc_burgers_oseen_t
    real(wp) :: dt = 0.0_wp, dx = 1.0_wp, nu = 0.0_wp
    real(wp), allocatable :: positive(:), negative(:)   !< winds at the left and right faces
  contains
    procedure :: apply => oseen_apply
    procedure :: diagonal => oseen_diagonal
  end type hfc_burgers_oseen_t

  public :: hfc_burgers_oseen_init

contains

  pure function laplacian(x) result(y)
    real(wp), intent(in) :: x(:)
    real(wp) :: y(size(x))
    y = cshift(x, -1) - 2.0_wp * x + cshift(x, 1)
  end function laplacian

  subroutine heat_apply(self, x, y)
    class(hfc_heat_btcs_t), intent(inout) :: self
    real(wp), intent(in) :: x(:)
    real(wp), intent(out) :: y(:)
    y = x - self%r * laplacian(x)
  end subroutine heat_apply

  subroutine heat_diagonal(self, d)
    class(hfc_heat_btcs_t), intent(inout) :: self
    real(wp), intent(out) :: d(:)
    d = 1.0_wp + 2.0_wp * self%r
  end subroutine heat_diagonal

  !> The Oseen operator linearised around w.
  subroutine hfc_burgers_oseen_init(op, w, dx, dt, nu)
    type(hfc_burgers_oseen_t), intent(out) :: op
    real(wp), intent(in) :: w(:), dx, dt, nu
    op%dx = dx
    op%dt = dt
    op%nu = nu
    op%positive = max((cshift(w, -1) + w) / 2.0_wp, 0.0_wp)
    op%negative = min((w + cshift(w, 1)) / 2.0_wp, 0.0_wp)
  end subroutine hfc_burgers_oseen_init

  subroutine oseen_apply(self, x, y)
    class(hfc_burgers_oseen_t), intent(inout) :: self
    real(wp), intent(in) :: x(:)
    real(wp), intent(out) :: y(:)
    y = x + self%dt * (self%positive * (x - cshift(x, -1)) + self%negative * (cshift(x, 1) - x)) / self%dx &
        - self%dt * self%nu / self%dx**2 * laplacian(x)
  end subroutine oseen_apply

  subroutine oseen_diagonal(self, d)
    class(hfc_burgers_oseen_t), intent(inout) :: self
    real(wp), intent(out) :: d(:)
    d = 1.0_wp + self%dt * (self%positive - self%negative) / self%dx + 2.0_wp * self%dt * self%nu / self%dx**2
  end subroutine oseen_diagonal

end module hfc_implicit_operators
