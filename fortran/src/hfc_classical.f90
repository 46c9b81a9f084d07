!> Classical flux providers: a reconstruction (first-order, third-order FV, WENO5-JS), an
!> exact Riemann flux for the convective part, and the centred viscous flux.
module hfc_classical
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t, HFC_EQ_BURGERS
  use hfc_provider, only: hfc_flux_provider
  use hfc_riemann, only: godunov_burgers, upwind_linear
  use hfc_reconstruct, only: reconstruct_constant, reconstruct_fv3, reconstruct_weno5
  implicit none
  private

  integer, parameter, public :: HFC_SCHEME_GODUNOV = 1   !< first order (piecewise constant)
  integer, parameter, public :: HFC_SCHEME_FV3 = 2       !< standard third-order FV
  integer, parameter, public :: HFC_SCHEME_WENO5 = 3     !< WENO5-JS

  type, extends(hfc_flux_provider), public :: hfc_classical_flux
    type(hfc_equation_t) :: eq
    integer :: scheme = HFC_SCHEME_WENO5
    real(wp), allocatable, private :: ul(:), ur(:)   !< face-state workspace
  contains
    procedure :: face_fluxes => classical_face_fluxes
    procedure :: halo_width => classical_halo_width
  end type hfc_classical_flux

  public :: hfc_classical_init, hfc_scheme_parse, hfc_viscous_flux

contains

  !> Map a scheme name ('godunov', 'fv3', 'weno5') to its code.
  subroutine hfc_scheme_parse(name, scheme, stat, errmsg)
    character(len=*), intent(in) :: name
    integer, intent(out) :: scheme
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    stat = HFC_OK
    scheme = 0
    select case (trim(adjustl(name)))
    case ('godunov')
      scheme = HFC_SCHEME_GODUNOV
    case ('fv3')
      scheme = HFC_SCHEME_FV3
    case ('weno5')
      scheme = HFC_SCHEME_WENO5
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        "unknown scheme '" // trim(adjustl(name)) // "' (expected godunov, fv3 or weno5)")
    end select
  end subroutine hfc_scheme_parse

  subroutine hfc_classical_init(p, eq, scheme_name, stat, errmsg)
    type(hfc_classical_flux), intent(out) :: p
    type(hfc_equation_t), intent(in) :: eq
    character(len=*), intent(in) :: scheme_name
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    p%eq = eq
    call hfc_scheme_parse(scheme_name, p%scheme, stat, errmsg)
  end subroutine hfc_classical_init

  pure integer function classical_halo_width(self) result(g)
    class(hfc_classical_flux), intent(in) :: self
    select case (self%scheme)
    case (HFC_SCHEME_GODUNOV)
      g = 1
    case (HFC_SCHEME_FV3)
      g = 2
    case default
      g = 3
    end select
  end function classical_halo_width

  subroutine classical_face_fluxes(self, grid, u, t, flux, stat, errmsg)
    class(hfc_classical_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(1 - grid%g:)
    real(wp), intent(in) :: t
    real(wp), intent(out) :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g

    stat = HFC_OK
    n = grid%n
    g = grid%g
    if (g < self%halo_width()) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'classical flux: halo narrower than the stencil needs')
      return
    end if
    if (size(flux) /= n + 1 .or. size(u) /= n + 2 * g) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'classical flux: array sizes do not match the grid')
      return
    end if
    if (allocated(self%ul)) then
      if (size(self%ul) /= n + 1) deallocate(self%ul, self%ur)
    end if
    if (.not. allocated(self%ul)) allocate(self%ul(n + 1), self%ur(n + 1))

    select case (self%scheme)
    case (HFC_SCHEME_GODUNOV)
      call reconstruct_constant(n, g, u, self%ul, self%ur)
    case (HFC_SCHEME_FV3)
      call reconstruct_fv3(n, g, u, self%ul, self%ur)
    case default
      call reconstruct_weno5(n, g, u, self%ul, self%ur)
    end select

    if (self%eq%kind == HFC_EQ_BURGERS) then
      flux = godunov_burgers(self%ul, self%ur)
    else
      flux = upwind_linear(self%ul, self%ur, self%eq%velocity)
    end if
    if (self%eq%viscosity > 0.0_wp) call hfc_viscous_flux(grid, u, self%eq%viscosity, flux)
  end subroutine classical_face_fluxes

  !> Add the second-order centred viscous flux -eta (u_k - u_{k-1}) / dx at faces 1..n+1.
  pure subroutine hfc_viscous_flux(grid, u, eta, flux)
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(1 - grid%g:)
    real(wp), intent(in) :: eta
    real(wp), intent(inout) :: flux(:)
    integer :: n
    n = grid%n
    flux = flux - (eta / grid%dx) * (u(1:n + 1) - u(0:n))
  end subroutine hfc_viscous_flux

end module hfc_classical
