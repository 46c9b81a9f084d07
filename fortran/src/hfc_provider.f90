!> The flux-provider interface: the one contract between the time loop and any source of
!> face fluxes (classical schemes, a Python callback, a learned model).
!>
!> Given the halo-filled state u(1-g:n+g) at time t, a provider returns the total flux
!> (convective and diffusive) at the n+1 faces of the interior, face k between cells k-1
!> and k. Sources are not fluxes: the host adds them.
module hfc_provider
  use hfc_kinds, only: wp
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  type, abstract, public :: hfc_flux_provider
  contains
    procedure(face_fluxes_iface), deferred :: face_fluxes
    procedure(halo_width_iface), deferred :: halo_width
  end type hfc_flux_provider

  abstract interface
    subroutine face_fluxes_iface(self, grid, u, t, flux, stat, errmsg)
      import :: hfc_flux_provider, hfc_grid_t, wp
      class(hfc_flux_provider), intent(inout) :: self
      type(hfc_grid_t), intent(in) :: grid
      real(wp), intent(in) :: u(1 - grid%g:)
      real(wp), intent(in) :: t
      real(wp), intent(out) :: flux(:)
      integer, intent(out) :: stat
      character(len=*), intent(inout) :: errmsg
    end subroutine face_fluxes_iface

    !> Halo cells per side the provider reads.
    pure integer function halo_width_iface(self)
      import :: hfc_flux_provider
      class(hfc_flux_provider), intent(in) :: self
    end function halo_width_iface
  end interface

end module hfc_provider
