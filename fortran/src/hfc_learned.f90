!> The learned flux provider of the Fortran host: face fluxes from an ONNX model run by
!> ONNX Runtime in this process (module hfc_onnx), no Python involved.
module hfc_learned
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t, HFC_EQ_BURGERS, HFC_EQ_ADVECTION
  use hfc_provider, only: hfc_flux_provider
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_metadata, hfc_onnx_face_fluxes, hfc_onnx_loaded
  implicit none
  private

  !> Keeps a pointer to the caller's model, which must outlive the provider.
  type, extends(hfc_flux_provider), public :: hfc_learned_flux
    type(hfc_onnx_model_t), pointer :: model => null()
  contains
    procedure :: face_fluxes => learned_face_fluxes
    procedure :: halo_width => learned_halo_width
  end type hfc_learned_flux

  public :: hfc_learned_init

contains

  !> Bind a loaded model to a host of n cells on a domain of the given length, after checking
  !> that the model was trained for this equation, one space dimension, this grid spacing
  !> (relative 1e-9) and, for Burgers, this viscosity (relative 1e-12).
  subroutine hfc_learned_init(p, model, eq, n, length, stat, errmsg)
    type(hfc_learned_flux), intent(out) :: p
    type(hfc_onnx_model_t), intent(in), target :: model
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(in) :: n
    real(wp), intent(in) :: length
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=256) :: value
    character(len=16) :: host_equation
    character(len=64) :: found
    real(wp) :: number, dx

    stat = HFC_OK
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: no model loaded')
      return
    end if
    host_equation = merge('burgers  ', 'advection', eq%kind == HFC_EQ_BURGERS)
    call hfc_onnx_metadata(model, 'equation', value, stat, errmsg)
    if (stat /= HFC_OK) return
    if (value /= host_equation) then
      call mismatch('equation = ' // trim(value) // ', the host solves ' // trim(host_equation))
      return
    end if
    call hfc_onnx_metadata(model, 'space_dimensions', value, stat, errmsg)
    if (stat /= HFC_OK) return
    if (value /= '1') then
      call mismatch('space_dimensions = ' // trim(value) // ', the host is 1D')
      return
    end if
    dx = length / n
    call number_of('dx', number)
    if (stat /= HFC_OK) return
    if (abs(number - dx) > 1.0e-9_wp * dx) then
      write(found, '(es16.9)') dx
      call mismatch('dx = ' // trim(value) // ', the host has dx =' // trim(found) // &
                    '; use a grid with the model''s spacing')
      return
    end if
    if (eq%kind == HFC_EQ_BURGERS .or. eq%kind == HFC_EQ_ADVECTION) then
      call number_of('viscosity', number)
      if (stat /= HFC_OK) return
      if (abs(number - eq%viscosity) > 1.0e-12_wp * abs(eq%viscosity)) then
        write(found, '(g0)') eq%viscosity
        call mismatch('viscosity = ' // trim(value) // ', the host has ' // trim(found))
        return
      end if
    end if
    p%model => model

  contains

    subroutine number_of(key, x)
      character(len=*), intent(in) :: key
      real(wp), intent(out) :: x
      integer :: ios
      x = 0.0_wp
      call hfc_onnx_metadata(model, key, value, stat, errmsg)
      if (stat /= HFC_OK) return
      read(value, *, iostat=ios) x
      if (ios /= 0) call mismatch(key // " = '" // trim(value) // "' is not a number")
    end subroutine number_of

    subroutine mismatch(what)
      character(len=*), intent(in) :: what
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: model metadata ' // what)
    end subroutine mismatch

  end subroutine hfc_learned_init

  pure integer function learned_halo_width(self) result(g)
    class(hfc_learned_flux), intent(in) :: self
    g = -1
    if (associated(self%model)) g = self%model%halo
  end function learned_halo_width

  subroutine learned_face_fluxes(self, grid, u, t, flux, stat, errmsg)
    class(hfc_learned_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(1 - grid%g:)
    real(wp), intent(in) :: t
    real(wp), intent(out) :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    if (.not. associated(self%model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: not initialised')
      return
    end if
    call hfc_onnx_face_fluxes(self%model, u(1 - grid%g:grid%n + grid%g), flux, stat, errmsg)
    if (stat /= HFC_OK) return
    if (.not. all(abs(flux) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_NONFINITE, 'learned provider: the model returned non-finite fluxes')
    end if
  end subroutine learned_face_fluxes

end module hfc_learned
