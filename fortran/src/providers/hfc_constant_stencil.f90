!> A trained constant-coefficient model (Bar-Sinai et al.'s "optimized constant
!> coefficients", kind "constant" of training/models.py) run natively: its stencils come
!> from the exported model's metadata (stencil_size; stencil_value, or stencil_left and
!> stencil_right with the Godunov flux; stencil_d<order> for each derivative term) into the
!> polynomial provider, so no network runs at all. The ONNX file stays the exchange format;
!> a model without these keys runs through hfc_learned.
module hfc_constant_stencil
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_equation, only: hfc_equation_t
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_metadata, hfc_onnx_has_metadata
  use hfc_model_meta, only: hfc_model_meta_t, hfc_meta_read, hfc_meta_check_equation
  use hfc_polynomial, only: hfc_polynomial_flux, hfc_polynomial_init_coefficients
  implicit none
  private

  public :: hfc_constant_has_stencil, hfc_constant_init

contains

  !> Does the model carry a constant stencil (the metadata stencil_size)?
  logical function hfc_constant_has_stencil(model)
    type(hfc_onnx_model_t), intent(in) :: model
    hfc_constant_has_stencil = hfc_onnx_has_metadata(model, 'stencil_size')
  end function hfc_constant_has_stencil

  !> The native provider p of a constant model for the equation eq (checked against the
  !> model's metadata as for a learned provider).
  subroutine hfc_constant_init(p, model, eq, stat, errmsg)
    type(hfc_polynomial_flux), intent(out) :: p
    type(hfc_onnx_model_t), intent(in) :: model
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_model_meta_t) :: meta
    character(len=8192) :: value
    real(wp), allocatable :: alpha(:, :), right(:)
    integer :: s, i, ios
    logical :: godunov

    call hfc_clear(stat, errmsg)
    call hfc_meta_read(model, meta, stat, errmsg)
    if (stat == HFC_OK) call hfc_meta_check_equation(meta, eq, stat, errmsg)
    if (stat == HFC_OK) call hfc_onnx_metadata(model, 'stencil_size', value, stat, errmsg)
    if (stat /= HFC_OK) return
    read(value, *, iostat=ios) s
    if (ios /= 0 .or. s < 2 .or. s > 64) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "constant stencil: metadata stencil_size = '" // &
        trim(value) // "' is not an integer in [2, 64]")
      return
    end if
    allocate(alpha(s, 0:eq%terms), right(s))
    godunov = hfc_onnx_has_metadata(model, 'stencil_left')
    if (godunov) then
      call coefficients('stencil_left', alpha(:, 0))
      call coefficients('stencil_right', right)
    else
      call coefficients('stencil_value', alpha(:, 0))
    end if
    do i = 1, eq%terms
      call coefficients('stencil_d' // hfc_str(eq%order(i)), alpha(:, i))
    end do
    if (stat /= HFC_OK) return
    if (godunov) then
      call hfc_polynomial_init_coefficients(p, eq, alpha, stat, errmsg, right)
    else
      call hfc_polynomial_init_coefficients(p, eq, alpha, stat, errmsg)
    end if

  contains

    !> The s coefficients of metadata `key` (space-separated numbers).
    subroutine coefficients(key, c)
      character(len=*), intent(in) :: key
      real(wp), intent(out) :: c(:)
      c = 0.0_wp
      if (stat /= HFC_OK) return
      call hfc_onnx_metadata(model, key, value, stat, errmsg)
      if (stat /= HFC_OK) return
      read(value, *, iostat=ios) c
      if (ios /= 0 .or. any(.not. abs(c) <= huge(1.0_wp))) &
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'constant stencil: metadata ' // key // &
          ' does not hold ' // hfc_str(size(c)) // ' finite numbers')
    end subroutine coefficients

  end subroutine hfc_constant_init

end module hfc_constant_stencil
