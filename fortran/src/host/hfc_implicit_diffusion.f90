!> The host's implicit part under IMEX Euler: diffusion with coefficient nu, solved by K
!> iterations of a linear solver (hfc_linear_solver) on this rank's block:
!>   (I - r L) u_new = u,  r = nu dt / dx^2,  L u_i = u_{i-1} - 2 u_i + u_{i+1}
!> (1D, periodic: the PRDP paper's heat BTCS system, D.2). The Laplacian reads the halo,
!> filled by the decomposition at every product; inner products are the decomposition's
!> reproducible global sums, so every solver gives the same bits for every split of the
!> ring. Created once with the host; the step size enters at each solve.
module hfc_implicit_diffusion
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_linear_solver, only: hfc_linear_operator_t, hfc_solver_config_t, hfc_linear_solve, hfc_solver_check
  implicit none
  private

  !> Diffusion nu with its solver, on a block of a decomposition.
  type, extends(hfc_linear_operator_t), public :: hfc_implicit_diffusion_t
    real(wp) :: nu = 0.0_wp
    type(hfc_solver_config_t) :: solver
    real(wp) :: r = 0.0_wp                               !< nu dt / dx^2 of the current solve
    type(hfc_grid_t) :: grid
    class(hfc_decomposition_t), allocatable :: decomp
    real(wp), allocatable :: work(:), b(:), x(:)          !< a field with halo; the right side and solution
  contains
    procedure :: apply => diffusion_apply
    procedure :: diagonal => diffusion_diagonal
    procedure :: dot => diffusion_dot
    procedure :: solve => diffusion_solve
  end type hfc_implicit_diffusion_t

  public :: hfc_implicit_diffusion_init

contains

  !> Diffusion nu >= 0 solved by `solver` on `grid` (a 1D block of decomp).
  subroutine hfc_implicit_diffusion_init(op, nu, solver, grid, decomp, stat, errmsg)
    type(hfc_implicit_diffusion_t), intent(out) :: op
    real(wp), intent(in) :: nu
    type(hfc_solver_config_t), intent(in) :: solver
    type(hfc_grid_t), intent(in) :: grid
    class(hfc_decomposition_t), intent(in) :: decomp
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_solver_check(solver, stat, errmsg)
    if (stat /= HFC_OK) return
    if (grid%ndim /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: the implicit (IMEX) step is for 1D grids')
    else if (.not. (nu >= 0.0_wp .and. nu <= huge(nu))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: the implicit diffusion must be >= 0 and finite')
    else if (solver%iterations < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: the implicit solve needs at least one iteration ' // &
                         '(every solver starts from zero)')
    else if (grid%g < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: the implicit step needs a halo of at least one cell')
    end if
    if (stat /= HFC_OK) return
    op%nu = nu
    op%solver = solver
    op%grid = grid
    allocate(op%decomp, source=decomp)
    allocate(op%work(grid%cells()), source=0.0_wp)
    allocate(op%b(grid%n(1)), op%x(grid%n(1)), source=0.0_wp)
  end subroutine hfc_implicit_diffusion_init

  !> (I - dt nu d2/dx2) u_new = u on the interior of the field u (with halo). Collective.
  subroutine diffusion_solve(self, u, dt, stat, errmsg)
    class(hfc_implicit_diffusion_t), intent(inout) :: self
    real(wp), intent(inout) :: u(:)
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g
    n = self%grid%n(1)
    g = self%grid%g
    call hfc_clear(stat, errmsg)
    self%r = self%nu * dt / self%grid%dx(1)**2
    self%b = u(g + 1:g + n)
    call hfc_linear_solve(self, self%solver, self%b, self%x, stat, errmsg)
    if (stat == HFC_OK) u(g + 1:g + n) = self%x
  end subroutine diffusion_solve

  subroutine diffusion_apply(self, x, y)
    class(hfc_implicit_diffusion_t), intent(inout) :: self
    real(wp), intent(in) :: x(:)
    real(wp), intent(out) :: y(:)
    integer :: n, g, stat
    character(len=64) :: errmsg
    n = self%grid%n(1)
    g = self%grid%g
    self%work(g + 1:g + n) = x
    call self%decomp%fill_halo(self%grid, self%work, stat, errmsg)    ! cannot fail: the field is the block's
    y = x - self%r * (self%work(g:g + n - 1) - 2.0_wp * x + self%work(g + 2:g + n + 1))
  end subroutine diffusion_apply

  subroutine diffusion_diagonal(self, d)
    class(hfc_implicit_diffusion_t), intent(inout) :: self
    real(wp), intent(out) :: d(:)
    d = 1.0_wp + 2.0_wp * self%r
  end subroutine diffusion_diagonal

  real(wp) function diffusion_dot(self, a, b)
    class(hfc_implicit_diffusion_t), intent(inout) :: self
    real(wp), intent(in) :: a(:), b(:)
    diffusion_dot = self%decomp%global_sum(a * b)
  end function diffusion_dot

end module hfc_implicit_diffusion
