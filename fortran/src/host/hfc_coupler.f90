!> Own-loop coupling: face fluxes for a legacy model that keeps its own state, time loop and
!> (possibly) its own domain decomposition and ghost cells.
!>
!>   call hfc_coupler_create(c, n, dx, provider, stat, errmsg [, offset, n_global, decomp])
!>   ... in the model's own RK stages:
!>   call hfc_coupler_face_fluxes(c, q(1, :), t, flux, stat, errmsg [, ghosts])
!>   dqdt(i) = -(flux(i + 1) - flux(i)) / dx + sources
!>
!> The state may be the caller's interior alone (n cells, no halo: the coupler fills the
!> provider's halo by the periodic wrap, or through `decomp`, e.g. hfc_mpi_ring(comm)), or
!> the caller's array with its own `ghosts` cells per side already filled (any ghosts >= the
!> provider's halo: the cells next to the interior are used). Strided arrays (a row q(k, :)
!> of a state q(meqn, n)) are accepted as they are. The returned fluxes are those of the
!> faces of the n interior cells, face i between cells i-1 and i.
module hfc_coupler
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t, hfc_grid_init_spacing, hfc_grid_block, hfc_set_interior
  use hfc_decomposition, only: hfc_decomposition_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  implicit none
  private

  !> The coupler of one block: the provider (a copy), the block with the provider's halo, the
  !> decomposition that fills it, and the work array of the state with halo.
  type, public :: hfc_coupler_t
    logical :: ready = .false.
    type(hfc_grid_t) :: grid                              !< the caller's block, with the provider's halo
    class(hfc_flux_provider), allocatable :: provider
    class(hfc_decomposition_t), allocatable :: decomp
    type(hfc_aux_t), allocatable :: aux(:)
    real(wp), allocatable :: work(:)                      !< the state with the provider's halo
  end type hfc_coupler_t

  public :: hfc_coupler_create, hfc_coupler_face_fluxes, hfc_coupler_free

contains

  !> A coupler for the caller's block of n cells of width dx, global cells offset + 1 ..
  !> offset + n of a periodic domain of n_global cells (defaults: offset 0, n_global = n:
  !> the whole domain). With decomp (an MPI decomposition) the blocks are the caller's own
  !> and are checked to tile the domain in rank order; the provider is checked against the
  !> grid (dx, dimensions). The provider is copied into the coupler.
  subroutine hfc_coupler_create(c, n, dx, provider, stat, errmsg, offset, n_global, decomp)
    type(hfc_coupler_t), intent(out) :: c
    integer, intent(in) :: n
    real(wp), intent(in) :: dx
    class(hfc_flux_provider), intent(in) :: provider
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer, intent(in), optional :: offset, n_global
    class(hfc_decomposition_t), intent(in), optional :: decomp
    type(hfc_grid_t) :: global
    integer :: first, total

    call hfc_clear(stat, errmsg)
    first = 0
    total = n
    if (present(offset)) first = offset
    if (present(n_global)) total = n_global
    if (present(decomp)) then
      allocate(c%decomp, source=decomp)
    else
      allocate(c%decomp)
    end if
    call hfc_grid_init_spacing(global, total, dx, stat, errmsg)
    if (stat == HFC_OK) call hfc_grid_block(global, n, first, provider%halo_width(), c%grid, stat, errmsg)
    call c%decomp%agree(stat, errmsg)                      ! every rank reaches check_block, or none
    if (stat /= HFC_OK) return
    call c%decomp%check_block(c%grid, stat, errmsg)
    if (stat == HFC_OK) call provider%check_grid(c%grid, stat, errmsg)
    call c%decomp%agree(stat, errmsg)
    if (stat /= HFC_OK) return
    allocate(c%provider, source=provider)
    allocate(c%aux(0))
    allocate(c%work(c%grid%cells()), source=0.0_wp)
    c%ready = .true.
  end subroutine hfc_coupler_create

  !> Face fluxes flux(1:n+1) of the caller's state u at time t. Without `ghosts` (or with
  !> ghosts = 0) u holds the n interior cells and the halo is filled here; with ghosts = k
  !> >= the provider's halo, u holds n + 2k cells whose k ghost cells per side the caller
  !> has filled. Sizes are checked (the message names what was found and expected);
  !> non-finite fluxes fail with HFC_ERR_NONFINITE. Collective with an MPI decomposition, in
  !> both modes: the ranks agree on failure, so one rank's error is every rank's. dt: the
  !> step the fluxes are for, when the provider's fluxes depend on it (default 0: the
  !> semi-discrete flux).
  subroutine hfc_coupler_face_fluxes(c, u, t, flux, stat, errmsg, ghosts, dt)
    type(hfc_coupler_t), intent(inout) :: c
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: t
    real(wp), intent(inout) :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer, intent(in), optional :: ghosts
    real(wp), intent(in), optional :: dt
    integer :: n, g, k
    real(wp) :: step

    call hfc_clear(stat, errmsg)
    if (.not. c%ready) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        'coupler: not created (hfc_coupler_create was not called, or it failed: check its stat)')
      return
    end if
    n = c%grid%n(1)
    g = c%grid%g
    k = 0
    if (present(ghosts)) k = ghosts
    step = 0.0_wp
    if (present(dt)) step = dt
    if (size(flux) /= n + 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'coupler: the flux array has ' // hfc_str(size(flux)) // &
        ' values, the ' // hfc_str(n) // ' cells have ' // hfc_str(n + 1) // ' faces')
    else if (k == 0 .and. size(u) /= n) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'coupler: the state has ' // hfc_str(size(u)) // &
        ' cells, expected the ' // hfc_str(n) // ' interior cells (or give ghosts=)')
    else if (k /= 0 .and. k < g) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'coupler: the state has ' // hfc_str(k) // &
        ' ghost cells per side, the ' // c%provider%name() // ' reads ' // hfc_str(g))
    else if (k /= 0 .and. size(u) /= n + 2 * k) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'coupler: the state has ' // hfc_str(size(u)) // &
        ' values, expected n + 2 ghosts = ' // hfc_str(n) // ' + 2*' // hfc_str(k) // ' = ' // hfc_str(n + 2 * k))
    end if
    call c%decomp%agree(stat, errmsg)                      ! every rank fills its halo, or none
    if (stat /= HFC_OK) return
    if (k == 0) then
      call hfc_set_interior(c%grid, u, c%work)
      call c%decomp%fill_halo(c%grid, c%work, stat, errmsg)
      if (stat == HFC_OK) call c%provider%face_fluxes(c%grid, c%work, c%aux, t, step, flux, stat, errmsg)
    else   ! the g ghost cells next to the interior, and the interior: in place when contiguous
      call c%provider%face_fluxes(c%grid, u(k - g + 1:k + n + g), c%aux, t, step, flux, stat, errmsg)
    end if
    call c%decomp%agree(stat, errmsg)
  end subroutine hfc_coupler_face_fluxes

  !> Release the coupler (safe to call twice).
  subroutine hfc_coupler_free(c)
    type(hfc_coupler_t), intent(inout) :: c
    c%ready = .false.
    if (allocated(c%provider)) deallocate(c%provider)
    if (allocated(c%decomp)) deallocate(c%decomp)
    if (allocated(c%work)) deallocate(c%work)
    if (allocated(c%aux)) deallocate(c%aux)
  end subroutine hfc_coupler_free

end module hfc_coupler
