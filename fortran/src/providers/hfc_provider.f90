!> The flux-provider interface: the one contract between the time loop (or a user's own
!> loop) and any source of face fluxes (classical schemes, a Python callback, a learned
!> model).
!>
!> Given the halo-filled state u on a block (grid layout, hfc_grid) at time t, the step dt
!> the flux is for (0 when the caller has none: the semi-discrete flux), and any auxiliary
!> fields the host supplies (e.g. face velocities, named), a provider returns the total
!> flux (convective and diffusive) at the faces of the block's interior, in the face layout
!> of hfc_grid (1D: n + 1 faces, face k between cells k-1 and k; 2D: the x-faces, then the
!> y-faces). Sources are not fluxes: the host adds them, and the host applies the
!> divergence. Most providers ignore dt; a flux-form scheme whose fluxes depend on the step
!> (Van Leer with its Courant correction, Zhuang et al. 2021) reads it.
!>
!> Callers use face_fluxes, which is the same for every provider: it checks the sizes
!> (naming what it found and expected), that the block's halo is at least the provider's
!> (a wider halo is fine: providers read their cells relative to the block's interior),
!> calls the provider's compute, and fails with HFC_ERR_NONFINITE when any flux is not
!> finite. A provider therefore cannot return a silently wrong or non-finite flux.
!>
!> A time loop brackets the stages of each step with begin_step and end_step. Between them
!> a provider may reuse what it computed at the step's first stage (the learned provider's
!> opt-in coefficient reuse across Runge-Kutta stages); outside them every call stands
!> alone. Providers that reuse nothing ignore both (the defaults do nothing).
module hfc_provider
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error, hfc_clear, hfc_str, &
                       hfc_all_finite
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  integer, parameter, public :: HFC_AT_CELLS = 1   !< an auxiliary cell field with halo
  integer, parameter, public :: HFC_AT_FACES = 2   !< an auxiliary face field
  !> A face field in the layout of a cell field with halo: entry (i, j) is the value on the
  !> lower face of cell (i, j) in the field's direction (the x-face left of it for 'u', the
  !> y-face below it for 'v'). Halo included, so a provider can read faces beyond its block
  !> (the transverse terms of Van Leer), and the halo fill of cells serves it too.
  integer, parameter, public :: HFC_AT_LOWER_FACES = 3
  !> Numbers about the whole domain, the same on every rank: 'c_range' is the minimum and
  !> maximum of the state over all ranks' interiors (the host supplies it to a provider
  !> whose needs_range() is true, once per stage: one reduction over the ranks).
  integer, parameter, public :: HFC_GLOBAL = 4

  !> An auxiliary input of a flux evaluation, named as the provider (or model) expects it.
  type, public :: hfc_aux_t
    character(len=32) :: name = ''
    integer :: location = HFC_AT_FACES
    real(wp), allocatable :: values(:)
  end type hfc_aux_t

  !> The contract: extend it (compute, halo_width, name; optionally check_grid) to plug in
  !> your own fluxes; call face_fluxes.
  type, abstract, public :: hfc_flux_provider
  contains
    procedure(compute_iface), deferred :: compute
    procedure(halo_width_iface), deferred :: halo_width
    procedure(name_iface), deferred :: name
    procedure :: check_grid => provider_check_grid
    procedure :: needs_range => provider_needs_range
    procedure :: begin_step => provider_step_bracket
    procedure :: end_step => provider_step_bracket
    procedure, non_overridable :: face_fluxes => provider_face_fluxes
  end type hfc_flux_provider

  abstract interface
    !> The provider's fluxes, called by face_fluxes with checked sizes: u has grid%cells()
    !> values with halo grid%g >= halo_width(), flux grid%faces() values.
    subroutine compute_iface(self, grid, u, aux, t, dt, flux, stat, errmsg)
      import :: hfc_flux_provider, hfc_grid_t, hfc_aux_t, wp
      class(hfc_flux_provider), intent(inout) :: self
      type(hfc_grid_t), intent(in) :: grid
      real(wp), intent(in), contiguous, target :: u(:)
      type(hfc_aux_t), intent(in) :: aux(:)
      real(wp), intent(in) :: t, dt
      real(wp), intent(inout), contiguous, target :: flux(:)
      integer, intent(out) :: stat
      character(len=*), intent(inout) :: errmsg
    end subroutine compute_iface

    !> Halo cells per side the provider reads.
    pure integer function halo_width_iface(self)
      import :: hfc_flux_provider
      class(hfc_flux_provider), intent(in) :: self
    end function halo_width_iface

    !> What the provider is, for messages ('weno5', 'learned provider', ...).
    pure function name_iface(self) result(text)
      import :: hfc_flux_provider
      class(hfc_flux_provider), intent(in) :: self
      character(len=:), allocatable :: text
    end function name_iface
  end interface

  public :: hfc_check_sizes, hfc_find_aux

contains

  !> Whether the provider can serve this grid (dimensions, spacing, ...). The host and the
  !> coupler call it once, when they are created. This default accepts every grid.
  subroutine provider_check_grid(self, grid, stat, errmsg)
    class(hfc_flux_provider), intent(in) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
  end subroutine provider_check_grid

  !> Whether the provider reads the aux field 'c_range' (HFC_GLOBAL). This default: no.
  pure logical function provider_needs_range(self)
    class(hfc_flux_provider), intent(in) :: self
    provider_needs_range = .false.
  end function provider_needs_range

  !> begin_step and end_step of a provider that reuses nothing: nothing to do.
  subroutine provider_step_bracket(self)
    class(hfc_flux_provider), intent(inout) :: self
  end subroutine provider_step_bracket

  !> Face fluxes of the halo-filled state u at time t (see the module header).
  subroutine provider_face_fluxes(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_flux_provider), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_check_sizes(self, grid, size(u), size(flux), stat, errmsg)
    if (stat /= HFC_OK) return
    call self%compute(grid, u, aux, t, dt, flux, stat, errmsg)
    if (stat /= HFC_OK) return
    if (.not. hfc_all_finite(flux)) &
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, self%name() // ' returned non-finite fluxes')
  end subroutine provider_face_fluxes

  !> The size checks of face_fluxes: an initialised grid whose halo covers the provider's,
  !> a state of grid%cells() values and grid%faces() fluxes.
  subroutine hfc_check_sizes(provider, grid, cells, faces, stat, errmsg)
    class(hfc_flux_provider), intent(in) :: provider
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(in) :: cells, faces
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (grid%ndim < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, provider%name() // ': the grid is not initialised')
    else if (grid%g < provider%halo_width()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, provider%name() // ': the grid has halo ' // &
        hfc_str(grid%g) // ', the provider reads ' // hfc_str(provider%halo_width()) // ' cells per side')
    else if (cells /= grid%cells()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, provider%name() // ': the state has ' // hfc_str(cells) // &
        ' values, the grid needs ' // needed())
    else if (faces /= grid%faces()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, provider%name() // ': the flux array has ' // &
        hfc_str(faces) // ' values, the grid has ' // hfc_str(grid%faces()) // ' faces')
    end if

  contains

    !> 'n + 2g = 64 + 2*3 = 70', or in 2D '(nx + 2g)(ny + 2g) = (24 + 2*2)(16 + 2*2) = 560'.
    function needed() result(text)
      character(len=:), allocatable :: text
      if (grid%ndim == 1) then
        text = 'n + 2g = ' // hfc_str(grid%n(1)) // ' + 2*' // hfc_str(grid%g) // ' = ' // hfc_str(grid%cells())
      else
        text = '(nx + 2g)(ny + 2g) = (' // hfc_str(grid%n(1)) // ' + 2*' // hfc_str(grid%g) // ')(' // &
               hfc_str(grid%n(2)) // ' + 2*' // hfc_str(grid%g) // ') = ' // hfc_str(grid%cells())
      end if
    end function needed
  end subroutine hfc_check_sizes

  !> The index in aux of the field `name` (0 when there is none).
  pure integer function hfc_find_aux(aux, name) result(k)
    type(hfc_aux_t), intent(in) :: aux(:)
    character(len=*), intent(in) :: name
    do k = 1, size(aux)
      if (aux(k)%name == name) return
    end do
    k = 0
  end function hfc_find_aux

end module hfc_provider
