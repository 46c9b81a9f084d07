!> A flux provider that asks Python for the face fluxes (through the f2py callback in
!> hfc_python_callback.f90). Lives in the Python extension only, never in libhfc.
module hfc_python_provider
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_PROVIDER, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
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

  !> The Python function sees the state with exactly `g` halo cells per side.
  type, extends(hfc_flux_provider), public :: hfc_python_flux
    integer :: g = 0   !< halo width the Python function needs
  contains
    procedure :: compute => python_compute
    procedure :: halo_width => python_halo_width
    procedure :: name => python_name
  end type hfc_python_flux

contains

  pure integer function python_halo_width(self) result(g)
    class(hfc_python_flux), intent(in) :: self
    g = self%g
  end function python_halo_width

  pure function python_name(self) result(text)
    class(hfc_python_flux), intent(in) :: self
    character(len=:), allocatable :: text
    text = 'python flux provider'
  end function python_name

  subroutine python_compute(self, grid, u, aux, t, flux, stat, errmsg)
    class(hfc_python_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: first

    call hfc_clear(stat, errmsg)
    first = grid%g - self%g     ! cells the block's halo holds beyond the function's
    flux = 0.0_wp
    call hfc_python_flux_callback(size(u) - 2 * first, size(flux), u(first + 1:size(u) - first), t, flux, stat)
    if (stat /= HFC_OK) call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider failed')
  end subroutine python_compute

end module hfc_python_provider
