!> Reconstructions of left and right face states from cell averages.
!>
!> Input u(1-g:n+g) (halo filled); outputs ul(k), ur(k) for faces k = 1..n+1, where face k
!> lies between cells k-1 and k: ul comes from the cell on the left (k-1), ur from the
!> cell on the right (k). Right states use the mirror image of the left-state stencil.
module hfc_reconstruct
  use hfc_kinds, only: wp
  implicit none
  private

  real(wp), parameter, public :: WENO_EPS = 1.0e-6_wp   !< WENO5-JS epsilon (Jiang & Shu)

  public :: reconstruct_constant, reconstruct_fv3, reconstruct_weno5
  public :: fv3_value, weno5_value

contains

  !> First order: the face states are the adjacent cell averages (needs g >= 1).
  pure subroutine reconstruct_constant(n, g, u, ul, ur)
    integer, intent(in) :: n, g
    real(wp), intent(in) :: u(1 - g:n + g)
    real(wp), intent(out) :: ul(n + 1), ur(n + 1)
    ul = u(0:n)
    ur = u(1:n + 1)
  end subroutine reconstruct_constant

  !> Standard third-order FV value at the right face of the middle cell (cells a, b, c).
  elemental function fv3_value(a, b, c) result(v)
    real(wp), intent(in) :: a, b, c
    real(wp) :: v
    v = (-a + 5.0_wp * b + 2.0_wp * c) / 6.0_wp
  end function fv3_value

  !> Third-order FV reconstruction (needs g >= 2).
  pure subroutine reconstruct_fv3(n, g, u, ul, ur)
    integer, intent(in) :: n, g
    real(wp), intent(in) :: u(1 - g:n + g)
    real(wp), intent(out) :: ul(n + 1), ur(n + 1)
    ul = fv3_value(u(-1:n - 1), u(0:n), u(1:n + 1))
    ur = fv3_value(u(2:n + 2), u(1:n + 1), u(0:n))
  end subroutine reconstruct_fv3

  !> WENO5-JS value at the right face i+1/2 of the middle cell of (a,b,c,d,e) =
  !> (u(i-2), u(i-1), u(i), u(i+1), u(i+2)); smoothness indicators of Jiang & Shu (1996),
  !> linear weights (1, 6, 3)/10, alpha_k = d_k / (eps + beta_k)^2.
  elemental function weno5_value(a, b, c, d, e) result(v)
    real(wp), intent(in) :: a, b, c, d, e
    real(wp) :: v
    real(wp), parameter :: c13 = 13.0_wp / 12.0_wp
    real(wp) :: b0, b1, b2, a0, a1, a2, q0, q1, q2

    b0 = c13 * (a - 2.0_wp * b + c)**2 + 0.25_wp * (a - 4.0_wp * b + 3.0_wp * c)**2
    b1 = c13 * (b - 2.0_wp * c + d)**2 + 0.25_wp * (b - d)**2
    b2 = c13 * (c - 2.0_wp * d + e)**2 + 0.25_wp * (3.0_wp * c - 4.0_wp * d + e)**2
    a0 = 0.1_wp / (WENO_EPS + b0)**2
    a1 = 0.6_wp / (WENO_EPS + b1)**2
    a2 = 0.3_wp / (WENO_EPS + b2)**2
    q0 = (2.0_wp * a - 7.0_wp * b + 11.0_wp * c) / 6.0_wp
    q1 = (-b + 5.0_wp * c + 2.0_wp * d) / 6.0_wp
    q2 = (2.0_wp * c + 5.0_wp * d - e) / 6.0_wp
    v = (a0 * q0 + a1 * q1 + a2 * q2) / (a0 + a1 + a2)
  end function weno5_value

  !> WENO5-JS reconstruction (needs g >= 3).
  pure subroutine reconstruct_weno5(n, g, u, ul, ur)
    integer, intent(in) :: n, g
    real(wp), intent(in) :: u(1 - g:n + g)
    real(wp), intent(out) :: ul(n + 1), ur(n + 1)
    ul = weno5_value(u(-2:n - 2), u(-1:n - 1), u(0:n), u(1:n + 1), u(2:n + 2))
    ur = weno5_value(u(3:n + 3), u(2:n + 2), u(1:n + 1), u(0:n), u(-1:n - 1))
  end subroutine reconstruct_weno5

end module hfc_reconstruct
