!> Working precision, status codes and the error-reporting helpers shared by all modules.
!>
!> Library routines never stop the program: they return an integer status (HFC_OK on
!> success, with errmsg blank) and a message the caller may print, log or turn into an
!> exception.
module hfc_kinds
  use, intrinsic :: iso_fortran_env, only: real64, int64
  implicit none
  private

  integer, parameter, public :: wp = real64
  integer, parameter, public :: HFC_ERRMSG_LEN = 256

  integer, parameter, public :: HFC_OK = 0
  integer, parameter, public :: HFC_ERR_ARGUMENT = 1    !< invalid argument, configuration or call order
  integer, parameter, public :: HFC_ERR_NONFINITE = 2   !< NaN or Inf in state or fluxes
  integer, parameter, public :: HFC_ERR_PROVIDER = 3    !< a flux provider (or ONNX Runtime) reported failure
  integer, parameter, public :: HFC_ERR_IO = 4          !< a file could not be read
  integer, parameter, public :: HFC_ERR_INTERRUPTED = 5 !< a signal asked to stop (hfc_signal)

  public :: hfc_set_error, hfc_clear, hfc_str, hfc_all_finite

  !> Text of a number for messages: integers and whole reals plainly, other reals with 9
  !> significant digits.
  interface hfc_str
    module procedure str_int, str_int64, str_real
  end interface hfc_str

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

  !> Success: status HFC_OK and a blank message (what every public routine starts with).
  pure subroutine hfc_clear(stat, errmsg)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    stat = HFC_OK
    errmsg = ''
  end subroutine hfc_clear

  !> True when every element of x is finite (no NaN, no Inf): its exponent bits are not all
  !> set. An integer maximum over the exponents is one vectorised pass with no early exit
  !> and no floating-point operation (so no trap in a build with -ffpe-trap), unlike
  !> all(abs(x) <= huge) (a loop that stops at the first failure and does not vectorise).
  pure logical function hfc_all_finite(x)
    real(wp), intent(in) :: x(:)
    integer(int64), parameter :: EXPONENT = int(z'7FF0000000000000', int64)
    integer(int64) :: top
    integer :: i
    top = 0
    do i = 1, size(x)
      top = max(top, iand(transfer(x(i), 0_int64), EXPONENT))
    end do
    hfc_all_finite = top /= EXPONENT
  end function hfc_all_finite

  pure function str_int(i) result(text)
    integer, intent(in) :: i
    character(len=:), allocatable :: text
    character(len=24) :: buffer
    write(buffer, '(i0)') i
    text = trim(buffer)
  end function str_int

  pure function str_int64(i) result(text)
    integer(int64), intent(in) :: i
    character(len=:), allocatable :: text
    character(len=24) :: buffer
    write(buffer, '(i0)') i
    text = trim(buffer)
  end function str_int64

  pure function str_real(x) result(text)
    real(wp), intent(in) :: x
    character(len=:), allocatable :: text
    character(len=32) :: buffer
    if (x == aint(x) .and. abs(x) < 1.0e9_wp) then   ! whole numbers plainly: 0, 10, -3
      write(buffer, '(i0)') int(x)
    else if (abs(x) >= 1.0e-99_wp .and. abs(x) < 1.0e100_wp) then
      write(buffer, '(es16.9)') x
    else
      write(buffer, '(es16.9e3)') x   ! a three-digit exponent keeps its E: 1.0E-300
    end if
    text = trim(adjustl(buffer))
  end function str_real

end module hfc_kinds
