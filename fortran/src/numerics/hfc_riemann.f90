!> Numerical fluxes from left and right face states (exact Riemann solutions).
module hfc_riemann
  use hfc_kinds, only: wp
  implicit none
  private
  public :: godunov_burgers, godunov_square, upwind_linear

contains

  !> Exact Godunov flux for f(u) = u^2/2 (convex): the flux of the exact Riemann solution
  !> at the face. Rarefaction (ul <= ur): min of f on [ul, ur], which is 0 when the fan
  !> spans u = 0 (transonic); shock (ul > ur): max of f(ul), f(ur).
  !> Branch-free (vectorizable): on a rarefaction, min f = max(max(ul,0)^2, min(ur,0)^2)/2.
  elemental function godunov_burgers(ul, ur) result(f)
    real(wp), intent(in) :: ul, ur
    real(wp) :: f
    f = 0.5_wp * merge(max(ul * ul, ur * ur), max(max(ul, 0.0_wp)**2, min(ur, 0.0_wp)**2), ul > ur)
  end function godunov_burgers

  !> Exact Godunov flux for f(v) = c v^2, c > 0 (Burgers is c = 1/2): c times the same
  !> branch-free form, as training/equations.py's godunov_convex_square.
  elemental function godunov_square(ul, ur, c) result(f)
    real(wp), intent(in) :: ul, ur, c
    real(wp) :: f
    f = c * merge(max(ul * ul, ur * ur), max(max(ul, 0.0_wp)**2, min(ur, 0.0_wp)**2), ul > ur)
  end function godunov_square

  !> Upwind flux for f(u) = a u.
  elemental function upwind_linear(ul, ur, a) result(f)
    real(wp), intent(in) :: ul, ur, a
    real(wp) :: f
    if (a >= 0.0_wp) then
      f = a * ul
    else
      f = a * ur
    end if
  end function upwind_linear

end module hfc_riemann
