!> Stop requests from signals. `hfc_stop_on(HFC_SIGTERM)` makes SIGTERM (what batch
!> schedulers send) a request the host's time loop honours between steps: the advance
!> returns HFC_ERR_INTERRUPTED, the ranks agree, and the program can remove its partial
!> output and exit with 128 + the signal. A handler already installed (Python's, say) keeps
!> being called. The record lives in hfc_signal.c (a sig_atomic_t: the one thing a handler
!> may write).
module hfc_signal
  use, intrinsic :: iso_c_binding, only: c_int
  implicit none
  private
  public :: hfc_stop_on, hfc_stop_requested

  integer, parameter, public :: HFC_SIGINT = 2, HFC_SIGTERM = 15   !< POSIX numbers (Linux, macOS)

  interface
    function c_stop_on(signum) result(rc) bind(C, name='hfc_stop_on')
      import :: c_int
      integer(c_int), value :: signum
      integer(c_int) :: rc
    end function c_stop_on
    function c_stop_requested() result(signum) bind(C, name='hfc_stop_requested')
      import :: c_int
      integer(c_int) :: signum
    end function c_stop_requested
  end interface

contains

  !> Record signal signum from now on; false if it cannot be caught.
  logical function hfc_stop_on(signum)
    integer, intent(in) :: signum
    hfc_stop_on = c_stop_on(int(signum, c_int)) == 0
  end function hfc_stop_on

  !> The signal recorded since the last call (0: none); reading it clears it.
  integer function hfc_stop_requested()
    hfc_stop_requested = int(c_stop_requested())
  end function hfc_stop_requested
end module hfc_signal
