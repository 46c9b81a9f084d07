!> Standard finite-volume stencils: the unique coefficients alpha_j that give the
!> derivative of order l at a face, from the cell averages of the N cells around it, exactly
!> for every polynomial of degree < N (Bar-Sinai et al. 2019, SI Appendix III, the fixed part
!> of the constrained layer; training/constraints.py computes the same in Python).
!>
!> Offsets h_j are the cell centres relative to the face in units of dx; the conditions are
!> sum_j alpha_j M(k, j) = l! delta_(k,l), k = 0..N-1, with M(k, j) the cell average of x^k
!> over [h_j - 1/2, h_j + 1/2]. Coefficients are for dx = 1: divide by dx^l.
module hfc_stencil
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  implicit none
  private
  public :: hfc_face_offsets, hfc_standard_coefficients

contains

  !> Offsets of `size` cells centred on a face: -(size-1)/2 .. (size-1)/2.
  pure subroutine hfc_face_offsets(size, h)
    integer, intent(in) :: size
    real(wp), intent(out) :: h(size)
    integer :: j
    h = [(real(j, wp) - 0.5_wp * real(size - 1, wp), j = 0, size - 1)]
  end subroutine hfc_face_offsets

  !> alpha(1:N) for the derivative of order `order` on the cells at offsets h (Gaussian
  !> elimination with partial pivoting on the N x N moment system).
  subroutine hfc_standard_coefficients(h, order, alpha, stat, errmsg)
    real(wp), intent(in) :: h(:)
    integer, intent(in) :: order
    real(wp), intent(out) :: alpha(size(h))
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp) :: a(size(h), size(h)), b(size(h)), row(size(h)), factor, swap
    integer :: n, k, j, pivot

    call hfc_clear(stat, errmsg)
    n = size(h)
    if (order < 0 .or. order >= n) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'stencil: a derivative of this order needs more cells')
      alpha = 0.0_wp
      return
    end if
    do k = 0, n - 1
      a(k + 1, :) = ((h + 0.5_wp)**(k + 1) - (h - 0.5_wp)**(k + 1)) / real(k + 1, wp)
    end do
    b = 0.0_wp
    b(order + 1) = real(factorial(order), wp)
    do k = 1, n
      pivot = k - 1 + maxloc(abs(a(k:n, k)), dim=1)
      if (pivot /= k) then
        row = a(k, :)
        a(k, :) = a(pivot, :)
        a(pivot, :) = row
        swap = b(k)
        b(k) = b(pivot)
        b(pivot) = swap
      end if
      do j = k + 1, n
        factor = a(j, k) / a(k, k)
        a(j, k:n) = a(j, k:n) - factor * a(k, k:n)
        b(j) = b(j) - factor * b(k)
      end do
    end do
    do k = n, 1, -1
      alpha(k) = (b(k) - sum(a(k, k + 1:n) * alpha(k + 1:n))) / a(k, k)
    end do
  end subroutine hfc_standard_coefficients

  pure integer function factorial(m)
    integer, intent(in) :: m
    integer :: i
    factorial = 1
    do i = 2, m
      factorial = factorial * i
    end do
  end function factorial

end module hfc_stencil
