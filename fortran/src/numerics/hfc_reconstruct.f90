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
  public :: fv3_value, weno5_pair, weno5_pairs

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

  !> Both WENO5-JS values of the middle cell c of (a,b,c,d,e) = (u(i-2), ..., u(i+2)):
  !> vp at its right face, vm at its left face (Jiang & Shu 1996 smoothness indicators,
  !> linear weights (1, 6, 3)/10, eps = 1e-6, p = 2). The two share the smoothness
  !> indicators (the mirrored stencil of vm has the same beta_k in reverse order), and
  !> multiplying the weights alpha_k = d_k / s_k, s_k = (eps + beta_k)^2, through by
  !> s0 s1 s2 leaves one division per value instead of four. Equal to the textbook form
  !> (training/fluxes.py) up to round-off.
  elemental subroutine weno5_pair(a, b, c, d, e, vp, vm)
    real(wp), intent(in) :: a, b, c, d, e
    real(wp), intent(out) :: vp, vm
    real(wp), parameter :: c13 = 13.0_wp / 12.0_wp, sixth = 1.0_wp / 6.0_wp
    real(wp) :: s0, s1, s2, p01, p02, p12, wp0, wp1, wp2, wm0, wm1, wm2

    s0 = WENO_EPS + c13 * (a - 2.0_wp * b + c)**2 + 0.25_wp * (a - 4.0_wp * b + 3.0_wp * c)**2
    s1 = WENO_EPS + c13 * (b - 2.0_wp * c + d)**2 + 0.25_wp * (b - d)**2
    s2 = WENO_EPS + c13 * (c - 2.0_wp * d + e)**2 + 0.25_wp * (3.0_wp * c - 4.0_wp * d + e)**2
    s0 = s0 * s0
    s1 = s1 * s1
    s2 = s2 * s2
    p01 = s0 * s1
    p02 = s0 * s2
    p12 = s1 * s2
    wp0 = 0.1_wp * p12
    wp1 = 0.6_wp * p02
    wp2 = 0.3_wp * p01
    wm0 = 0.1_wp * p01
    wm1 = wp1
    wm2 = 0.3_wp * p12
    vp = sixth * (wp0 * (2.0_wp * a - 7.0_wp * b + 11.0_wp * c) + wp1 * (-b + 5.0_wp * c + 2.0_wp * d) &
                  + wp2 * (2.0_wp * c + 5.0_wp * d - e)) / (wp0 + wp1 + wp2)
    vm = sixth * (wm0 * (2.0_wp * e - 7.0_wp * d + 11.0_wp * c) + wm1 * (-d + 5.0_wp * c + 2.0_wp * b) &
                  + wm2 * (2.0_wp * c + 5.0_wp * b - a)) / (wm0 + wm1 + wm2)
  end subroutine weno5_pair

  !> WENO5-JS reconstruction (needs g >= 3): one pass over the cells, each giving the
  !> left state of its right face and the right state of its left face.
  pure subroutine reconstruct_weno5(n, g, u, ul, ur)
    integer, intent(in) :: n, g
    real(wp), intent(in) :: u(1 - g:n + g)
    real(wp), intent(out) :: ul(n + 1), ur(n + 1)
    real(wp) :: unused
    integer :: i
    do i = 1, n
      call weno5_pair(u(i - 2), u(i - 1), u(i), u(i + 1), u(i + 2), ul(i + 1), ur(i))
    end do
    call weno5_pair(u(-2), u(-1), u(0), u(1), u(2), ul(1), unused)
    call weno5_pair(u(n - 1), u(n), u(n + 1), u(n + 2), u(n + 3), unused, ur(n + 1))
  end subroutine reconstruct_weno5

  !> weno5_pair on a row of n cells (here, where it is inlined and vectorised).
  pure subroutine weno5_pairs(n, a, b, c, d, e, vp, vm)
    integer, intent(in) :: n
    real(wp), intent(in) :: a(n), b(n), c(n), d(n), e(n)
    real(wp), intent(out) :: vp(n), vm(n)
    call weno5_pair(a, b, c, d, e, vp, vm)
  end subroutine weno5_pairs

end module hfc_reconstruct
