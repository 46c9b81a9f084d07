!> Working precision, status codes and the error-reporting helper shared by all modules.
!>
!> Library routines never stop the program: they return an integer status (HFC_OK on
!> success) and a message the caller may print, log or turn into an exception.
module hfc_kinds
  use, intrinsic :: iso_fortran_env, only: real64
  implicit none
  private

  integer, parameter, public :: wp = real64
  integer, parameter, public :: HFC_ERRMSG_LEN = 256

  integer, parameter, public :: HFC_OK = 0
  integer, parameter, public :: HFC_ERR_ARGUMENT = 1    !< invalid argument or configuration
  integer, parameter, public :: HFC_ERR_NONFINITE = 2   !< NaN or Inf in state or fluxes
  integer, parameter, public :: HFC_ERR_PROVIDER = 3    !< a flux provider reported failure
  integer, parameter, public :: HFC_ERR_IO = 4          !< file could not be read

  public :: hfc_set_error

contains

  !> Record an error: status code and message (truncated to the caller's buffer).
  pure subroutine hfc_set_error(stat, errmsg, code, message)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer, intent(in) :: code
    character(len=*), intent(in) :: message
    stat = code
    errmsg = message
  end subroutine hfc_set_error

end module hfc_kinds
