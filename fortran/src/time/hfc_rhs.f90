!> The right-hand side a time stepper advances: du/dt = f(u, t) for a cell field with halo.
!> The host's finite-volume operator (hfc_fv_rhs) is one. An IMEX stepper splits it into an
!> explicit part (eval) and an implicit part D that it asks the same object to solve for:
!> (I - dt D) u_new = u (solve_implicit).
module hfc_rhs
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error
  implicit none
  private

  !> A right-hand side: extend it with eval (and solve_implicit, if it has an implicit part).
  type, abstract, public :: hfc_rhs_t
  contains
    procedure(eval_iface), deferred :: eval
    procedure :: solve_implicit => no_implicit_part
    procedure :: begin_step => no_step_bracket
    procedure :: end_step => no_step_bracket
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

contains

  !> begin_step / end_step: a stepper calls them before the first and after the last stage
  !> of each step (the host's operator passes them to its flux provider, hfc_provider).
  !> This default has nothing to do.
  subroutine no_step_bracket(self)
    class(hfc_rhs_t), intent(inout) :: self
  end subroutine no_step_bracket

  !> (I - dt D) u_new = u for the implicit part D, u replaced by u_new (cell field with halo;
  !> the halo may be overwritten). This default has no implicit part and says so.
  subroutine no_implicit_part(self, u, dt, stat, errmsg)
    class(hfc_rhs_t), intent(inout) :: self
    real(wp), intent(inout), contiguous :: u(:)
    real(wp), intent(in) :: dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: this right-hand side has no implicit part')
  end subroutine no_implicit_part

end module hfc_rhs
