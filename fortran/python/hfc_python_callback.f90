! The Fortran -> Python call. f2py turns `pyflux` into a module-level callback: Python
! sets `coupler._fortran_bindings.pyflux = func`, and func(u, t, flux, nu, nf) receives
! zero-copy views of the halo-filled state and of the flux array it must fill, and returns
! 0 on success. Kept outside any module so f2py wraps nothing else here.
subroutine hfc_python_flux_callback(nu, nf, u, t, flux, stat)
  use, intrinsic :: iso_fortran_env, only: real64
  implicit none
  integer, intent(in) :: nu, nf
  real(real64), intent(in) :: u(nu)
  real(real64), intent(in) :: t
  real(real64), intent(inout) :: flux(nf)
  integer, intent(out) :: stat
  !f2py intent(callback, hide) pyflux
  external pyflux
  integer :: pyflux
  stat = pyflux(nu, nf, u, t, flux)
end subroutine hfc_python_flux_callback
