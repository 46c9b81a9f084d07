!> Classical flux providers for Burgers and advection: a reconstruction (first order,
!> third-order FV, WENO5-JS), an exact Riemann flux for the convective part, and the centred
!> viscous flux. (KdV and KS need derivative terms these schemes do not have: their
!> classical scheme is the polynomial stencil of hfc_polynomial.)
module hfc_classical
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t, HFC_EQ_BURGERS, HFC_EQ_ADVECTION
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  use hfc_riemann, only: godunov_burgers, upwind_linear
  use hfc_reconstruct, only: reconstruct_constant, reconstruct_fv3, reconstruct_weno5
  implicit none
  private

  integer, parameter, public :: HFC_SCHEME_GODUNOV = 1   !< first order (piecewise constant)
  integer, parameter, public :: HFC_SCHEME_FV3 = 2       !< standard third-order FV
  integer, parameter, public :: HFC_SCHEME_WENO5 = 3     !< WENO5-JS

  !> A reconstruction + Riemann flux (+ viscous flux) provider; make it with hfc_classical_init.
  type, extends(hfc_flux_provider), public :: hfc_classical_flux
    type(hfc_equation_t) :: eq
    integer :: scheme = HFC_SCHEME_WENO5
    real(wp), allocatable, private :: ul(:), ur(:)   !< face-state workspace
  contains
    procedure :: compute => classical_compute
    procedure :: halo_width => classical_halo_width
    procedure :: name => classical_name
  end type hfc_classical_flux

  public :: hfc_classical_init, hfc_scheme_parse, hfc_viscous_flux

contains

  !> Map a scheme name ('godunov', 'fv3', 'weno5') to its code.
  subroutine hfc_scheme_parse(name, scheme, stat, errmsg)
    character(len=*), intent(in) :: name
    integer, intent(out) :: scheme
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
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

  !> The classical provider `scheme_name` for the equation eq (Burgers or advection).
  subroutine hfc_classical_init(p, eq, scheme_name, stat, errmsg)
    type(hfc_classical_flux), intent(out) :: p
    type(hfc_equation_t), intent(in) :: eq
    character(len=*), intent(in) :: scheme_name
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    p%eq = eq
    call hfc_scheme_parse(scheme_name, p%scheme, stat, errmsg)
    if (stat /= 0) return
    if (eq%kind /= HFC_EQ_BURGERS .and. eq%kind /= HFC_EQ_ADVECTION) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "scheme '" // trim(adjustl(scheme_name)) // &
        "' serves burgers and advection; the classical scheme for " // trim(eq%name) // " is 'polynomial'")
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

  pure function classical_name(self) result(text)
    class(hfc_classical_flux), intent(in) :: self
    character(len=:), allocatable :: text
    select case (self%scheme)
    case (HFC_SCHEME_GODUNOV)
      text = 'godunov'
    case (HFC_SCHEME_FV3)
      text = 'fv3'
    case default
      text = 'weno5'
    end select
  end function classical_name

  subroutine classical_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_classical_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: n, g

    call hfc_clear(stat, errmsg)
    n = grid%n(1)
    g = grid%g
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
    if (self%eq%viscosity > 0.0_wp) call hfc_viscous_flux(n, g, u, grid%dx(1), self%eq%viscosity, flux)
  end subroutine classical_compute

  !> Add the second-order centred viscous flux -eta (u_k - u_{k-1}) / dx at faces 1..n+1
  !> of the state u(1-g:n+g).
  pure subroutine hfc_viscous_flux(n, g, u, dx, eta, flux)
    integer, intent(in) :: n, g
    real(wp), intent(in) :: u(1 - g:n + g)
    real(wp), intent(in) :: dx, eta
    real(wp), intent(inout) :: flux(n + 1)
    flux = flux - (eta / dx) * (u(1:n + 1) - u(0:n))
  end subroutine hfc_viscous_flux

end module hfc_classical
