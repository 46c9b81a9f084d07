!> A flux provider that asks Python for the face fluxes (through the f2py callback in
!> hfc_python_callback.f90). Lives in the Python extension only, never in libhfc.
module hfc_python_provider
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_PROVIDER, HFC_ERR_NONFINITE, hfc_set_error
  use hfc_grid, only: hfc_grid_t
  use hfc_provider, only: hfc_flux_provider
  implicit none
  private

  interface
    subroutine hfc_python_flux_callback(nu, nf, u, t, flux, stat)
      import :: wp
      integer, intent(in) :: nu, nf
      real(wp), intent(in) :: u(nu)
      real(wp), intent(in) :: t
      real(wp), intent(inout) :: flux(nf)
      integer, intent(out) :: stat
    end subroutine hfc_python_flux_callback
  end interface

  type, extends(hfc_flux_provider), public :: hfc_python_flux
    integer :: g = 0   !< halo width the Python function needs
  contains
    procedure :: face_fluxes => python_face_fluxes
    procedure :: halo_width => python_halo_width
  end type hfc_python_flux

contains

  pure integer function python_halo_width(self) result(g)
    class(hfc_python_flux), intent(in) :: self
    g = self%g
  end function python_halo_width

  subroutine python_face_fluxes(self, grid, u, t, flux, stat, errmsg)
    class(hfc_python_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(1 - grid%g:)
    real(wp), intent(in) :: t
    real(wp), intent(out) :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    flux = 0.0_wp
    call hfc_python_flux_callback(size(u), size(flux), u, t, flux, stat)
    if (stat /= HFC_OK) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider failed')
      return
    end if
    if (.not. all(abs(flux) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'python flux provider returned non-finite fluxes')
    end if
  end subroutine python_face_fluxes

end module hfc_python_provider
