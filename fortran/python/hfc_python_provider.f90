!> A flux provider that asks Python for the face fluxes (through the C hook in
!> hfc_python_callback.c). Lives in the Python extension only, never in libhfc.
module hfc_python_provider
  use, intrinsic :: iso_c_binding, only: c_int, c_double
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_PROVIDER, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  implicit none
  private

  interface
    !> The registered Python callable on the state and flux arrays; 0 on success.
    integer(c_int) function python_flux_call(nu, nf, u, t, flux) bind(C, name='hfc_python_flux_call')
      import :: c_int, c_double
      integer(c_int), value :: nu, nf
      real(c_double), intent(in) :: u(*)
      real(c_double), value :: t
      real(c_double), intent(inout) :: flux(*)
    end function python_flux_call
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

  subroutine python_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_python_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: first

    call hfc_clear(stat, errmsg)
    first = grid%g - self%g     ! cells the block's halo holds beyond the function's
    flux = 0.0_wp
    stat = python_flux_call(size(u) - 2 * first, size(flux), u(first + 1:), t, flux)
    if (stat /= HFC_OK) call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider failed')
  end subroutine python_compute

end module hfc_python_provider
