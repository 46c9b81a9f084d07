!> Gauss-Legendre quadrature on [-1, 1]: q nodes exact for polynomials of degree 2q - 1.
!> Used to turn a pointwise field (a Neural-IVP evaluator) into the cell averages a
!> finite-volume host advances.
module hfc_quadrature
  use hfc_kinds, only: wp
  implicit none
  private

  integer, parameter, public :: HFC_GAUSS_MAX = 32

  public :: hfc_gauss_legendre

contains

  !> The q nodes (ascending) and weights (summing to 2) of Gauss-Legendre quadrature on
  !> [-1, 1], 1 <= q <= HFC_GAUSS_MAX: Newton on the Legendre polynomial P_q from the
  !> first guesses cos(pi (i - 1/4) / (q + 1/2)), to machine precision.
  pure subroutine hfc_gauss_legendre(q, nodes, weights)
    integer, intent(in) :: q
    real(wp), intent(out) :: nodes(q), weights(q)
    real(wp), parameter :: pi = acos(-1.0_wp)
    real(wp) :: x, p, dp, dx
    integer :: i, it

    do i = 1, (q + 1) / 2
      x = cos(pi * (i - 0.25_wp) / (q + 0.5_wp))
      do it = 1, 100
        call legendre(x, p, dp)
        dx = p / dp
        x = x - dx
        if (abs(dx) <= 2 * epsilon(1.0_wp)) exit
      end do
      call legendre(x, p, dp)
      nodes(i) = -x
      nodes(q + 1 - i) = x
      weights(i) = 2.0_wp / ((1.0_wp - x * x) * dp * dp)
      weights(q + 1 - i) = weights(i)
    end do
    if (mod(q, 2) == 1) nodes((q + 1) / 2) = 0.0_wp

  contains

    !> P_q(x) by the three-term recurrence, and P_q'(x) = q (x P_q - P_(q-1)) / (x^2 - 1).
    pure subroutine legendre(x, p, dp)
      real(wp), intent(in) :: x
      real(wp), intent(out) :: p, dp
      real(wp) :: previous, next
      integer :: k
      previous = 1.0_wp
      p = x
      do k = 2, q
        next = ((2 * k - 1) * x * p - (k - 1) * previous) / k
        previous = p
        p = next
      end do
      dp = q * (x * p - previous) / (x * x - 1.0_wp)
    end subroutine legendre

  end subroutine hfc_gauss_legendre

end module hfc_quadrature
