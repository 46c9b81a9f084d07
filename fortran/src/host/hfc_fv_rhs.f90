!> The host's finite-volume right-hand side: fill the halo (through the decomposition),
!> set the auxiliary fields of the stage time (the face velocities of a flow), take the face
!> fluxes from the provider (with the guard for non-finite fluxes), apply the flux-form
!> divergence and add the sources:
!>   1D: du_i/dt = -(F_{i+1/2} - F_{i-1/2}) / dx + S_i(t);
!>   2D: du_ij/dt = -(F_{i+1/2,j} - F_{i-1/2,j}) / dx - (G_{i,j+1/2} - G_{i,j-1/2}) / dy.
!> Conservation holds by construction: the provider only ever supplies fluxes. Under IMEX
!> Euler the diffusion the host solves implicitly (hfc_implicit_diffusion) is the implicit
!> part; the provider then supplies the fluxes of the rest of the law.
module hfc_fv_rhs
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error, hfc_clear, hfc_all_finite
  use hfc_timer, only: hfc_wtime
  use hfc_grid, only: hfc_grid_t
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t, HFC_AT_LOWER_FACES, HFC_GLOBAL
  use hfc_source, only: hfc_source_t
  use hfc_flow, only: hfc_flow_t, HFC_FLOW_STEADY
  use hfc_rhs, only: hfc_rhs_t
  use hfc_implicit_diffusion, only: hfc_implicit_diffusion_t
  implicit none
  private

  integer, parameter, public :: HFC_ON_NONFINITE_ABORT = 1      !< fail with HFC_ERR_NONFINITE
  integer, parameter, public :: HFC_ON_NONFINITE_FALLBACK = 2   !< the classical fallback flux at the affected faces

  !> What to do when a provider returns non-finite fluxes. A non-finite state always fails:
  !> no flux can repair it.
  type, public :: hfc_guard_config_t
    integer :: on_nonfinite = HFC_ON_NONFINITE_ABORT
  end type hfc_guard_config_t

  type :: source_slot_t
    class(hfc_source_t), allocatable :: source
  end type source_slot_t

  !> The flux-form operator of one block: what the host owns besides its state and stepper.
  type, extends(hfc_rhs_t), public :: hfc_fv_rhs_t
    type(hfc_grid_t) :: grid                                !< this rank's block
    class(hfc_decomposition_t), allocatable :: decomp
    class(hfc_flux_provider), allocatable :: provider
    class(hfc_flux_provider), allocatable :: fallback       !< for HFC_ON_NONFINITE_FALLBACK
    type(hfc_guard_config_t) :: guard
    type(source_slot_t), allocatable :: sources(:)
    type(hfc_aux_t), allocatable :: aux(:)                  !< auxiliary inputs of the provider (none in 1D)
    integer :: range_aux = 0                                !< the index of 'c_range' in aux, if the provider needs it
    type(hfc_flow_t), allocatable :: flow                   !< the face velocities 'u', 'v' (aux 1, 2) of 2D advection
    real(wp), allocatable :: flux(:), flux_fallback(:)
    integer(int64) :: fallback_faces = 0                    !< faces whose flux came from the fallback
    real(wp) :: halo_seconds = 0.0_wp                       !< wall time in halo fills (the MPI exchange)
    type(hfc_implicit_diffusion_t), allocatable :: implicit !< the implicit part under IMEX Euler
  contains
    procedure :: eval => fv_eval
    procedure :: solve_implicit => fv_solve_implicit
    procedure :: begin_step => fv_begin_step
    procedure :: end_step => fv_end_step
  end type hfc_fv_rhs_t

  public :: hfc_fv_rhs_add_source, hfc_fv_rhs_set_flow

contains

  !> Add a source, bound to the block here. Collective: the ranks agree on the binding, and
  !> the source joins on every rank or on none.
  subroutine hfc_fv_rhs_add_source(rhs, source, stat, errmsg)
    type(hfc_fv_rhs_t), intent(inout) :: rhs
    class(hfc_source_t), intent(in) :: source
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(source_slot_t), allocatable :: more(:)
    class(hfc_source_t), allocatable :: bound
    integer :: k, i

    allocate(bound, source=source)
    call bound%bind(rhs%grid, stat, errmsg)
    call rhs%decomp%agree(stat, errmsg)
    if (stat /= HFC_OK) return
    k = 0
    if (allocated(rhs%sources)) k = size(rhs%sources)
    allocate(more(k + 1))
    do i = 1, k
      call move_alloc(rhs%sources(i)%source, more(i)%source)
    end do
    call move_alloc(bound, more(k + 1)%source)
    call move_alloc(more, rhs%sources)
  end subroutine hfc_fv_rhs_add_source

  !> Give the operator the face velocities of 2D advection (the aux fields 'u' and 'v' of
  !> its provider), bound to the block here.
  subroutine hfc_fv_rhs_set_flow(rhs, flow, stat, errmsg)
    type(hfc_fv_rhs_t), intent(inout) :: rhs
    type(hfc_flow_t), intent(in) :: flow
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_flow_t), allocatable :: bound

    allocate(bound, source=flow)
    call bound%bind(rhs%grid, stat, errmsg)
    call rhs%decomp%agree(stat, errmsg)
    if (stat /= HFC_OK) return
    call move_alloc(bound, rhs%flow)
    if (allocated(rhs%aux)) deallocate(rhs%aux)
    rhs%range_aux = merge(3, 0, rhs%provider%needs_range())
    allocate(rhs%aux(2 + merge(1, 0, rhs%range_aux > 0)))
    rhs%aux(1)%name = 'u'
    rhs%aux(2)%name = 'v'
    rhs%aux(1:2)%location = HFC_AT_LOWER_FACES
    allocate(rhs%aux(1)%values(size(rhs%flow%u0, 1)), rhs%aux(2)%values(size(rhs%flow%v0, 1)))
    if (rhs%range_aux > 0) then
      rhs%aux(3)%name = 'c_range'
      rhs%aux(3)%location = HFC_GLOBAL
      allocate(rhs%aux(3)%values(2))
    end if
    call rhs%flow%velocities(0.0_wp, rhs%aux(1)%values, rhs%aux(2)%values)   ! a steady flow's, once
  end subroutine hfc_fv_rhs_set_flow

  !> The minimum and maximum of the interior of u over all ranks (collective).
  subroutine state_range(self, u, range)
    class(hfc_fv_rhs_t), intent(inout) :: self
    real(wp), intent(in) :: u(:)
    real(wp), intent(out) :: range(2)
    integer :: nx, ny, g, mx, j
    real(wp) :: low, high
    nx = self%grid%n(1)
    ny = self%grid%n(2)
    g = self%grid%g
    mx = nx + 2 * g
    low = huge(1.0_wp)
    high = -huge(1.0_wp)
    do j = g + 1, g + ny
      low = min(low, minval(u((j - 1) * mx + g + 1:(j - 1) * mx + g + nx)))
      high = max(high, maxval(u((j - 1) * mx + g + 1:(j - 1) * mx + g + nx)))
    end do
    range = [-self%decomp%global_max(-low), self%decomp%global_max(high)]
  end subroutine state_range

  !> dudt = -div F + S(t) (see the module header); fills the halo of u first. Collective:
  !> the ranks agree on failure after the fluxes, so one rank's error stops all here.
  subroutine fv_eval(self, u, t, dt, dudt, stat, errmsg)
    class(hfc_fv_rhs_t), intent(inout) :: self
    real(wp), intent(inout), contiguous, target :: u(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous :: dudt(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g, k
    real(wp) :: start

    n = self%grid%n(1)
    g = self%grid%g
    start = hfc_wtime()
    call self%decomp%fill_halo(self%grid, u, stat, errmsg)
    self%halo_seconds = self%halo_seconds + (hfc_wtime() - start)
    if (allocated(self%flow)) then
      if (self%flow%law /= HFC_FLOW_STEADY) call self%flow%velocities(t, self%aux(1)%values, self%aux(2)%values)
    end if
    if (self%range_aux > 0 .and. stat == HFC_OK) call state_range(self, u, self%aux(self%range_aux)%values)
    if (stat == HFC_OK) call self%provider%face_fluxes(self%grid, u, self%aux, t, dt, self%flux, stat, errmsg)
    if (stat == HFC_ERR_NONFINITE .and. self%guard%on_nonfinite == HFC_ON_NONFINITE_FALLBACK) &
      call fallback_fluxes(self, u, t, dt, stat, errmsg)
    call self%decomp%agree(stat, errmsg)
    if (stat /= HFC_OK) return
    if (self%grid%ndim == 1) then
      dudt(g + 1:g + n) = -(self%flux(2:n + 1) - self%flux(1:n)) / self%grid%dx(1)
    else
      call divergence_2d(n, self%grid%n(2), g, self%grid%dx(1), self%grid%dx(2), self%flux(1:(n + 1) * self%grid%n(2)), &
                         self%flux((n + 1) * self%grid%n(2) + 1:), dudt)
    end if
    if (allocated(self%sources)) then
      do k = 1, size(self%sources)
        call self%sources(k)%source%add(self%grid, t, dudt)
      end do
    end if
  end subroutine fv_eval

  !> The step's stages begin and end: the provider's bracket (hfc_provider).
  subroutine fv_begin_step(self)
    class(hfc_fv_rhs_t), intent(inout) :: self
    call self%provider%begin_step()
  end subroutine fv_begin_step

  subroutine fv_end_step(self)
    class(hfc_fv_rhs_t), intent(inout) :: self
    call self%provider%end_step()
  end subroutine fv_end_step

  !> (I - dt nu d2/dx2) u_new = u by the host's implicit diffusion. Collective.
  subroutine fv_solve_implicit(self, u, dt, stat, errmsg)
    class(hfc_fv_rhs_t), intent(inout) :: self
    real(wp), intent(inout), contiguous :: u(:)
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. allocated(self%implicit)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: the host has no implicit part (IMEX needs one)')
      return
    end if
    call self%implicit%solve(u, dt, stat, errmsg)
  end subroutine fv_solve_implicit

  !> The 2D flux divergence on the interior of dudt(1-g:nx+g, 1-g:ny+g), from the x-fluxes
  !> fx(nx + 1, ny) and the y-fluxes fy(nx, ny + 1). (-a) - b = (-b) - a exactly, so swapping
  !> x and y transposes the result bit for bit.
  pure subroutine divergence_2d(nx, ny, g, dx, dy, fx, fy, dudt)
    integer, intent(in) :: nx, ny, g
    real(wp), intent(in) :: dx, dy
    real(wp), intent(in) :: fx(nx + 1, ny), fy(nx, ny + 1)
    real(wp), intent(inout) :: dudt(1 - g:nx + g, 1 - g:ny + g)
    dudt(1:nx, 1:ny) = -(fx(2:nx + 1, :) - fx(1:nx, :)) / dx - (fy(:, 2:ny + 1) - fy(:, 1:ny)) / dy
  end subroutine divergence_2d

  !> Replace the non-finite face fluxes by the fallback's on the same halo-filled state, and
  !> count them. Fails when the state itself is not finite (then no flux is trustworthy).
  subroutine fallback_fluxes(self, u, t, dt, stat, errmsg)
    type(hfc_fv_rhs_t), intent(inout) :: self
    real(wp), intent(in), contiguous, target :: u(:)
    real(wp), intent(in) :: t, dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    logical :: bad(size(self%flux))

    if (.not. hfc_all_finite(u)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'guard: the state is not finite; no fallback can repair it')
      return
    end if
    call self%fallback%face_fluxes(self%grid, u, self%aux, t, dt, self%flux_fallback, stat, errmsg)
    if (stat /= HFC_OK) return
    bad = .not. (abs(self%flux) <= huge(1.0_wp))
    where (bad) self%flux = self%flux_fallback
    ! the upper faces of the interior cells: each face of the domain once (a block's first
    ! face is the previous block's last, or its periodic image), so the count does not
    ! depend on the decomposition
    self%fallback_faces = self%fallback_faces + count_upper_faces(self%grid, bad)
  end subroutine fallback_fluxes

  !> Faces flagged in a face field, counting only the upper face of each interior cell in
  !> each direction (1D: faces 2..n+1; 2D: x-faces 2..nx+1 of every row, y-faces 2..ny+1).
  pure integer function count_upper_faces(grid, flagged) result(k)
    type(hfc_grid_t), intent(in) :: grid
    logical, intent(in) :: flagged(:)
    integer :: nx, ny, j
    nx = grid%n(1)
    if (grid%ndim == 1) then
      k = count(flagged(2:nx + 1))
      return
    end if
    ny = grid%n(2)
    k = 0
    do j = 1, ny
      k = k + count(flagged((j - 1) * (nx + 1) + 2:j * (nx + 1)))
    end do
    k = k + count(flagged((nx + 1) * ny + nx + 1:))
  end function count_upper_faces

end module hfc_fv_rhs
