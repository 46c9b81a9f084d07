!> The ONNX models the Python side has loaded through the Fortran path, by integer id.
!> Lives in the Python extension only (f90wrap sees integer ids, never the model objects).
module hfc_model_registry
  use hfc_kinds, only: HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_loaded
  implicit none
  private

  integer, parameter, public :: MAX_MODELS = 16
  type(hfc_onnx_model_t), target, public :: registry(MAX_MODELS)

  public :: registry_free_slot, registry_valid, registry_check

contains

  !> The first unused id, or 0 when all are taken.
  integer function registry_free_slot() result(id)
    do id = 1, MAX_MODELS
      if (.not. hfc_onnx_loaded(registry(id))) return
    end do
    id = 0
  end function registry_free_slot

  logical function registry_valid(id)
    integer, intent(in) :: id
    registry_valid = .false.
    if (id >= 1 .and. id <= MAX_MODELS) registry_valid = hfc_onnx_loaded(registry(id))
  end function registry_valid

  !> registry_valid, as a status and message for the entry points.
  logical function registry_check(id, stat, errmsg) result(ok)
    integer, intent(in) :: id
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    ok = registry_valid(id)
    stat = HFC_OK
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no loaded model with this id')
  end function registry_check

end module hfc_model_registry
