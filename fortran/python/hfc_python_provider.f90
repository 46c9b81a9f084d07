!> A flux provider that asks Python for the face fluxes (through the C hook in
!> hfc_python_callback.c). Lives in the Python extension only, never in libhfc.
!>
!> Python gets the block's whole state with the host's halo (coupler.host trims it to the
!> function's), the stage time and step, the flux array to fill, and the auxiliary fields
!> one after the other in one buffer (2D advection: the face velocities 'u', 'v').
module hfc_python_provider
  use, intrinsic :: iso_c_binding, only: c_int, c_double
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_PROVIDER, hfc_set_error, hfc_clear
  use hfc_grid, only: hfc_grid_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t, hfc_find_aux, HFC_GLOBAL
  implicit none
  private

  interface
    !> The registered Python callable on the state and flux arrays; 0 on success.
    integer(c_int) function python_flux_call(nu, u, t, dt, nf, flux, na, aux, nr, range) &
        bind(C, name='hfc_python_flux_call')
      import :: c_int, c_double
      integer(c_int), value :: nu, nf, na, nr
      real(c_double), intent(in) :: u(*), aux(*), range(*)
      real(c_double), value :: t, dt
      real(c_double), intent(inout) :: flux(*)
    end function python_flux_call
  end interface

  !> The Python function sees the state with exactly `g` halo cells per side.
  type, extends(hfc_flux_provider), public :: hfc_python_flux
    integer :: g = 0   !< halo width the Python function needs
    logical :: range = .false.   !< hand the function the state's range over the whole domain
    real(wp), allocatable :: aux_values(:)   !< the auxiliary fields, one after the other
  contains
    procedure :: compute => python_compute
    procedure :: halo_width => python_halo_width
    procedure :: name => python_name
    procedure :: needs_range => python_needs_range
  end type hfc_python_flux

contains

  pure integer function python_halo_width(self) result(g)
    class(hfc_python_flux), intent(in) :: self
    g = self%g
  end function python_halo_width

  pure logical function python_needs_range(self)
    class(hfc_python_flux), intent(in) :: self
    python_needs_range = self%range
  end function python_needs_range

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
    integer :: k, nu, nfields, kr
    real(wp) :: range(2)

    call hfc_clear(stat, errmsg)
    nu = size(u)
    nfields = count(aux(:)%location /= HFC_GLOBAL)
    kr = hfc_find_aux(aux, 'c_range')
    if (any([(size(aux(k)%values) /= nu .and. aux(k)%location /= HFC_GLOBAL, k = 1, size(aux))])) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider: the auxiliary fields must be cell ' // &
        'fields with halo (the layout of the state)')
      return
    end if
    if (self%range .and. kr == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider: the host gave no c_range')
      return
    end if
    if (.not. allocated(self%aux_values)) allocate(self%aux_values(nu * nfields))
    if (size(self%aux_values) /= nu * nfields) then
      deallocate(self%aux_values)
      allocate(self%aux_values(nu * nfields))
    end if
    nfields = 0
    do k = 1, size(aux)
      if (aux(k)%location == HFC_GLOBAL) cycle
      nfields = nfields + 1
      self%aux_values((nfields - 1) * nu + 1:nfields * nu) = aux(k)%values
    end do
    range = 0.0_wp
    if (kr > 0) range = aux(kr)%values(1:2)
    flux = 0.0_wp
    stat = python_flux_call(nu, u, t, dt, size(flux), flux, nfields, self%aux_values, merge(2, 0, self%range), range)
    if (stat /= HFC_OK) call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, 'python flux provider failed')
  end subroutine python_compute

end module hfc_python_provider
