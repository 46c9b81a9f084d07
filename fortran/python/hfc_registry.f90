!> The Fortran objects the Python side holds, by integer id (f90wrap passes ids, never the
!> objects): ONNX models, flux providers (with the equation they serve) and hosts. Lives in
!> the Python extension only. Ids run from 1; 0 means "none".
module hfc_registry
  use hfc_kinds, only: HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_equation, only: hfc_equation_t
  use hfc_provider, only: hfc_flux_provider
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_loaded
  use hfc_host, only: hfc_host_t
  use hfc_ivp_evaluator, only: hfc_ivp_evaluator_t
  implicit none
  private

  integer, parameter, public :: MAX_MODELS = 64, MAX_PROVIDERS = 64, MAX_HOSTS = 64

  !> A provider and the equation it was made for (the host's time-step rule needs it).
  type, public :: provider_slot_t
    class(hfc_flux_provider), allocatable :: p
    type(hfc_equation_t) :: eq
  end type provider_slot_t

  type(hfc_onnx_model_t), target, public :: models(MAX_MODELS)
  integer, public :: model_halo(MAX_MODELS) = -1    !< the halo of each loaded model
  type(hfc_ivp_evaluator_t), public :: evaluators(MAX_MODELS)   !< a loaded Neural-IVP evaluator's description
  type(provider_slot_t), target, public :: providers(MAX_PROVIDERS)
  type(hfc_host_t), target, public :: hosts(MAX_HOSTS)

  public :: free_model_id, free_provider_id, free_host_id, model_check, provider_check, host_check

contains

  integer function free_model_id() result(id)
    do id = 1, MAX_MODELS
      if (.not. hfc_onnx_loaded(models(id))) return
    end do
    id = 0
  end function free_model_id

  integer function free_provider_id() result(id)
    do id = 1, MAX_PROVIDERS
      if (.not. allocated(providers(id)%p)) return
    end do
    id = 0
  end function free_provider_id

  integer function free_host_id() result(id)
    do id = 1, MAX_HOSTS
      if (.not. hosts(id)%ready) return
    end do
    id = 0
  end function free_host_id

  !> A loaded model's id, as a status and message for the entry points.
  logical function model_check(id, stat, errmsg) result(ok)
    integer, intent(in) :: id
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    ok = .false.
    if (id >= 1 .and. id <= MAX_MODELS) ok = hfc_onnx_loaded(models(id))
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no loaded model with id ' // hfc_str(id))
  end function model_check

  logical function provider_check(id, stat, errmsg) result(ok)
    integer, intent(in) :: id
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    ok = .false.
    if (id >= 1 .and. id <= MAX_PROVIDERS) ok = allocated(providers(id)%p)
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'provider: none with id ' // hfc_str(id))
  end function provider_check

  !> A host id in range; whether it is created, hfc_host's own guard reports.
  logical function host_check(id, stat, errmsg) result(ok)
    integer, intent(in) :: id
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    ok = id >= 1 .and. id <= MAX_HOSTS
    if (.not. ok) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'host: no host with id ' // hfc_str(id))
  end function host_check

end module hfc_registry
