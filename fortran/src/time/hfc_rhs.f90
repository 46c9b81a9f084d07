!> The right-hand side a time stepper advances: du/dt = f(u, t) for a cell field with halo.
!> The host's finite-volume operator (hfc_fv_rhs) is one; an implicit or IMEX stepper will
!> ask the same object for its operator.
module hfc_rhs
  use hfc_kinds, only: wp
  implicit none
  private

  !> A right-hand side: extend it with eval.
  type, abstract, public :: hfc_rhs_t
  contains
    procedure(eval_iface), deferred :: eval
  end type hfc_rhs_t

  abstract interface
    !> dudt = f(u, t). u is a cell field with halo; eval may fill its halo (intent inout).
    !> dudt has u's layout; its halo entries stay zero. dt is the step the stage belongs to
    !> (for fluxes that depend on it, hfc_provider).
    subroutine eval_iface(self, u, t, dt, dudt, stat, errmsg)
      import :: hfc_rhs_t, wp
      class(hfc_rhs_t), intent(inout) :: self
      real(wp), intent(inout), contiguous, target :: u(:)
      real(wp), intent(in) :: t, dt
      real(wp), intent(inout), contiguous :: dudt(:)
      integer, intent(out) :: stat
      character(len=*), intent(inout) :: errmsg
    end subroutine eval_iface
  end interface

end module hfc_rhs
