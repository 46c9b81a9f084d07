!> The classical baseline of every registry equation: the standard polynomial stencil of N
!> cells around each face (default 6, the width of the learned models) for the face value
!> and each derivative the flux needs, and the equation's exact flux law
!> J = c v^2 + a v + sum_l b_l d^l v. This is the 'baseline' kind of training/models.py,
!> the fixed part of the learned models' constraint layer; no upwinding, so it rings at
!> shocks (as in the paper), but it is the scheme KdV and KS are compared with.
module hfc_polynomial
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t, HFC_MAX_TERMS
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  use hfc_stencil, only: hfc_face_offsets, hfc_standard_coefficients
  use hfc_riemann, only: godunov_square
  implicit none
  private

  !> The standard-stencil provider; make it with hfc_polynomial_init.
  type, extends(hfc_flux_provider), public :: hfc_polynomial_flux
    type(hfc_equation_t) :: eq
    integer :: size = 6                                  !< cells around each face
    real(wp), allocatable :: alpha(:, :)                 !< (size, 0:terms): value, then each term's derivative
    real(wp), allocatable :: right(:)                    !< (size): a right value; then alpha(:, 0) is the left
                                                         !< one and the quadratic term takes their Godunov flux
    logical :: trained = .false.                         !< coefficients given (a constant model), not standard
    real(wp), allocatable, private :: q(:, :)            !< face quantities workspace
  contains
    procedure :: compute => polynomial_compute
    procedure :: halo_width => polynomial_halo_width
    procedure :: name => polynomial_name
  end type hfc_polynomial_flux

  public :: hfc_polynomial_init, hfc_polynomial_init_coefficients

contains

  !> The polynomial stencil of `size` cells (even, >= 2; default 6) for the equation eq.
  subroutine hfc_polynomial_init(p, eq, stat, errmsg, size)
    type(hfc_polynomial_flux), intent(out) :: p
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer, intent(in), optional :: size
    real(wp), allocatable :: h(:)
    integer :: i

    call hfc_clear(stat, errmsg)
    p%eq = eq
    if (present(size)) p%size = size
    if (p%size < 2 .or. mod(p%size, 2) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'polynomial: the stencil needs an even number of cells >= 2')
      return
    end if
    allocate(h(p%size), p%alpha(p%size, 0:eq%terms))
    call hfc_face_offsets(p%size, h)
    call hfc_standard_coefficients(h, 0, p%alpha(:, 0), stat, errmsg)
    do i = 1, eq%terms
      if (stat == 0) call hfc_standard_coefficients(h, eq%order(i), p%alpha(:, i), stat, errmsg)
    end do
  end subroutine hfc_polynomial_init

  !> The stencil of given coefficients (a trained constant-coefficient model, run without a
  !> network): alpha(size, 0:eq%terms) for the face value and each term's derivative (cells
  !> k - size/2 .. k + size/2 - 1 of face k, before the division by dx^order); with `right`,
  !> alpha(:, 0) and right are left and right face values whose quadratic term is the exact
  !> Godunov flux (quadratic coefficient > 0) and whose linear term takes their mean.
  subroutine hfc_polynomial_init_coefficients(p, eq, alpha, stat, errmsg, right)
    type(hfc_polynomial_flux), intent(out) :: p
    type(hfc_equation_t), intent(in) :: eq
    real(wp), intent(in) :: alpha(:, 0:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), intent(in), optional :: right(:)

    call hfc_clear(stat, errmsg)
    p%eq = eq
    p%size = size(alpha, 1)
    if (p%size < 2 .or. mod(p%size, 2) /= 0 .or. ubound(alpha, 2) /= eq%terms) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'polynomial: the coefficients must be (even size >= 2, ' // &
        '0:terms of the equation)')
    else if (present(right)) then
      if (size(right) /= p%size .or. .not. eq%quadratic > 0.0_wp) &
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'polynomial: a right-value stencil needs the size of ' // &
          'the others and an equation with a convex quadratic term (Godunov)')
    end if
    if (stat /= 0) return
    p%alpha = alpha
    p%trained = .true.
    if (present(right)) p%right = right
  end subroutine hfc_polynomial_init_coefficients

  pure integer function polynomial_halo_width(self) result(g)
    class(hfc_polynomial_flux), intent(in) :: self
    g = self%size / 2
  end function polynomial_halo_width

  pure function polynomial_name(self) result(text)
    class(hfc_polynomial_flux), intent(in) :: self
    character(len=:), allocatable :: text
    if (self%trained) then
      text = 'constant stencil'
    else
      text = 'polynomial'
    end if
  end function polynomial_name

  subroutine polynomial_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_polynomial_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g, i, j, first
    real(wp) :: scale

    call hfc_clear(stat, errmsg)
    n = grid%n(1)
    g = grid%g
    if (allocated(self%q)) then
      if (size(self%q, 1) /= n + 1) deallocate(self%q)
    end if
    if (.not. allocated(self%q)) allocate(self%q(n + 1, 0:self%eq%terms))
    ! face k (1..n+1) reads cells k - size/2 .. k + size/2 - 1; cell c is u(g + c)
    first = g - self%size / 2
    do i = 0, self%eq%terms
      self%q(:, i) = 0.0_wp
      do j = 1, self%size
        self%q(:, i) = self%q(:, i) + self%alpha(j, i) * u(first + j:first + j + n)
      end do
      if (i > 0) then
        scale = grid%dx(1)**self%eq%order(i)
        self%q(:, i) = self%q(:, i) / scale
      end if
    end do
    if (allocated(self%right)) then                 ! q(:, 0) is the left value
      flux = 0.0_wp
      do j = 1, self%size
        flux = flux + self%right(j) * u(first + j:first + j + n)
      end do
      flux = godunov_square(self%q(:, 0), flux, self%eq%quadratic) + self%eq%velocity * 0.5_wp * (self%q(:, 0) + flux)
    else
      flux = self%eq%quadratic * self%q(:, 0)**2 + self%eq%velocity * self%q(:, 0)
    end if
    do i = 1, self%eq%terms
      flux = flux + self%eq%coefficient(i) * self%q(:, i)
    end do
  end subroutine polynomial_compute

end module hfc_polynomial
