!> Iterative linear solvers with a fixed iteration count K (the PRDP paper's appendix B:
!> Jacobi, steepest descent, conjugate gradients, restarted GMRES(m) where one iteration is
!> one whole m-dimensional Krylov space), matrix-free over an abstract operator, every
!> solver starting from x = 0 and running exactly K iterations (K is the refinement level a
!> PRDP-trained model declares; no early exit).
!>
!> The same algorithms, operation for operation, as training/linear_solvers.py, so that a
!> model trained through K torch iterations meets the same K iterations here (tested equal
!> to 1e-12 in float64). A zero denominator (an exactly converged residual) divides by one,
!> as there.
!>
!> An operator supplies y = A x and A's diagonal (Jacobi); its inner product is a type-bound
!> procedure so that a decomposed operator can sum over ranks.
module hfc_linear_solver
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  implicit none
  private

  integer, parameter, public :: HFC_SOLVER_JACOBI = 1
  integer, parameter, public :: HFC_SOLVER_SD = 2
  integer, parameter, public :: HFC_SOLVER_CG = 3
  integer, parameter, public :: HFC_SOLVER_GMRES = 4

  !> The solver, its iteration count K and GMRES's restart length m.
  type, public :: hfc_solver_config_t
    integer :: method = HFC_SOLVER_JACOBI
    integer :: iterations = 10
    integer :: restart = 10
  end type hfc_solver_config_t

  !> A linear operator on vectors of `size` values.
  type, abstract, public :: hfc_linear_operator_t
  contains
    procedure(apply_iface), deferred :: apply
    procedure(diagonal_iface), deferred :: diagonal
    procedure :: dot => local_dot
  end type hfc_linear_operator_t

  abstract interface
    !> y = A x.
    subroutine apply_iface(self, x, y)
      import :: hfc_linear_operator_t, wp
      class(hfc_linear_operator_t), intent(inout) :: self
      real(wp), intent(in) :: x(:)
      real(wp), intent(out) :: y(:)
    end subroutine apply_iface

    !> The diagonal of A.
    subroutine diagonal_iface(self, d)
      import :: hfc_linear_operator_t, wp
      class(hfc_linear_operator_t), intent(inout) :: self
      real(wp), intent(out) :: d(:)
    end subroutine diagonal_iface
  end interface

  public :: hfc_linear_solve, hfc_solver_check

contains

  real(wp) function local_dot(self, a, b)
    class(hfc_linear_operator_t), intent(inout) :: self
    real(wp), intent(in) :: a(:), b(:)
    local_dot = sum(a * b)
  end function local_dot

  !> x where it is non-zero, else 1 (a converged 0 / 0 becomes 0 / 1).
  elemental real(wp) function safe(x)
    real(wp), intent(in) :: x
    safe = merge(1.0_wp, x, x == 0.0_wp)
  end function safe

  !> A usable configuration: a known method, K >= 0, m >= 1.
  subroutine hfc_solver_check(config, stat, errmsg)
    type(hfc_solver_config_t), intent(in) :: config
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    if (config%method < HFC_SOLVER_JACOBI .or. config%method > HFC_SOLVER_GMRES) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
                         'linear solver: unknown method (1 Jacobi, 2 steepest descent, 3 CG, 4 GMRES)')
    else if (config%iterations < 0 .or. config%restart < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
                         'linear solver: the iterations must be >= 0 and the GMRES restart length >= 1')
    end if
  end subroutine hfc_solver_check

  !> x = K iterations of the configured solver on A x = b, from x = 0.
  subroutine hfc_linear_solve(op, config, b, x, stat, errmsg)
    class(hfc_linear_operator_t), intent(inout) :: op
    type(hfc_solver_config_t), intent(in) :: config
    real(wp), intent(in) :: b(:)
    real(wp), intent(out) :: x(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_solver_check(config, stat, errmsg)
    if (stat /= HFC_OK) return
    if (size(x) /= size(b)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'linear solver: x and b differ in size')
      return
    end if
    select case (config%method)
    case (HFC_SOLVER_JACOBI)
      call jacobi(op, b, config%iterations, x)
    case (HFC_SOLVER_SD)
      call steepest_descent(op, b, config%iterations, x)
    case (HFC_SOLVER_CG)
      call conjugate_gradients(op, b, config%iterations, x)
    case (HFC_SOLVER_GMRES)
      call gmres(op, b, config%iterations, config%restart, x)
    end select
  end subroutine hfc_linear_solve

  !> x <- x + D^-1 (b - A x).
  subroutine jacobi(op, b, k, x)
    class(hfc_linear_operator_t), intent(inout) :: op
    real(wp), intent(in) :: b(:)
    integer, intent(in) :: k
    real(wp), intent(out) :: x(:)
    real(wp) :: d(size(b)), ax(size(b))
    integer :: i
    call op%diagonal(d)
    x = 0.0_wp
    do i = 1, k
      call op%apply(x, ax)
      x = x + (b - ax) / d
    end do
  end subroutine jacobi

  !> The residual direction with the optimal step r.r / r.Ar (A symmetric positive definite).
  subroutine steepest_descent(op, b, k, x)
    class(hfc_linear_operator_t), intent(inout) :: op
    real(wp), intent(in) :: b(:)
    integer, intent(in) :: k
    real(wp), intent(out) :: x(:)
    real(wp) :: r(size(b)), ar(size(b)), alpha
    integer :: i
    x = 0.0_wp
    r = b
    do i = 1, k
      call op%apply(r, ar)
      alpha = op%dot(r, r) / safe(op%dot(r, ar))
      x = x + alpha * r
      r = r - alpha * ar
    end do
  end subroutine steepest_descent

  !> Conjugate gradients (Hestenes-Stiefel; A symmetric positive definite).
  subroutine conjugate_gradients(op, b, k, x)
    class(hfc_linear_operator_t), intent(inout) :: op
    real(wp), intent(in) :: b(:)
    integer, intent(in) :: k
    real(wp), intent(out) :: x(:)
    real(wp) :: r(size(b)), p(size(b)), ap(size(b)), rr, rr_next, alpha
    integer :: i
    x = 0.0_wp
    r = b
    p = r
    rr = op%dot(r, r)
    do i = 1, k
      call op%apply(p, ap)
      alpha = rr / safe(op%dot(p, ap))
      x = x + alpha * p
      r = r - alpha * ap
      rr_next = op%dot(r, r)
      p = r + rr_next / safe(rr) * p
      rr = rr_next
    end do
  end subroutine conjugate_gradients

  !> k restarts, each an m-dimensional Krylov basis (Arnoldi with modified Gram-Schmidt) and
  !> the least-squares y minimising ||beta e1 - H y|| over the (m+1) x m Hessenberg matrix
  !> (Givens rotations; the torch version takes H's pseudo-inverse: the same y while H has
  !> full column rank, i.e. before the Krylov space is exhausted).
  subroutine gmres(op, b, k, m, x)
    class(hfc_linear_operator_t), intent(inout) :: op
    real(wp), intent(in) :: b(:)
    integer, intent(in) :: k, m
    real(wp), intent(out) :: x(:)
    real(wp) :: v(size(b), m + 1), w(size(b)), h(m + 1, m), g(m + 1), y(m), beta, norm
    integer :: restart, i, j
    x = 0.0_wp
    do restart = 1, k
      call op%apply(x, w)
      w = b - w
      beta = sqrt(op%dot(w, w))
      v(:, 1) = w / safe(beta)
      h = 0.0_wp
      do j = 1, m
        call op%apply(v(:, j), w)
        do i = 1, j
          h(i, j) = op%dot(v(:, i), w)
          w = w - h(i, j) * v(:, i)
        end do
        norm = sqrt(op%dot(w, w))
        h(j + 1, j) = norm
        v(:, j + 1) = w / safe(norm)
      end do
      g = 0.0_wp
      g(1) = beta
      call least_squares(h, g, y)
      do j = 1, m
        x = x + y(j) * v(:, j)
      end do
    end do
  end subroutine gmres

  !> y minimising ||g - H y|| for H of full column rank ((m+1) x m), by Givens rotations
  !> and back substitution; a zero pivot leaves its component at 0.
  pure subroutine least_squares(h, g, y)
    real(wp), intent(in) :: h(:, :)
    real(wp), intent(in) :: g(:)
    real(wp), intent(out) :: y(:)
    real(wp) :: r(size(h, 1), size(h, 2)), q(size(g)), c, s, t, a
    integer :: j, i, m
    m = size(h, 2)
    r = h
    q = g
    do j = 1, m
      t = hypot(r(j, j), r(j + 1, j))
      if (t == 0.0_wp) cycle
      c = r(j, j) / t
      s = r(j + 1, j) / t
      do i = j, m
        a = r(j, i)
        r(j, i) = c * a + s * r(j + 1, i)
        r(j + 1, i) = -s * a + c * r(j + 1, i)
      end do
      a = q(j)
      q(j) = c * a + s * q(j + 1)
      q(j + 1) = -s * a + c * q(j + 1)
    end do
    y = 0.0_wp
    do j = m, 1, -1
      if (r(j, j) == 0.0_wp) cycle
      y(j) = (q(j) - sum(r(j, j + 1:m) * y(j + 1:m))) / r(j, j)
    end do
  end subroutine least_squares

end module hfc_linear_solver
