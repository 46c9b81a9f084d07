!> Wall-clock time for the host's own timers (halo exchange share, benchmarks).
module hfc_timer
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp
  implicit none
  private
  public :: hfc_wtime

contains

  !> Wall-clock seconds from an arbitrary origin (system_clock: no MPI needed).
  real(wp) function hfc_wtime()
    integer(int64) :: count, rate
    call system_clock(count, rate)
    hfc_wtime = real(count, wp) / real(rate, wp)
  end function hfc_wtime

end module hfc_timer
