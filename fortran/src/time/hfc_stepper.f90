!> Time steppers over an abstract right-hand side (hfc_rhs): one step u(t) -> u(t + dt).
!>
!> - SSP-RK3, the three-stage strong-stability-preserving Runge-Kutta method of Shu & Osher
!>   (1988), stages at t, t + dt, t + dt/2 (the host's default);
!> - forward Euler (first order; the scheme Zhuang et al. 2021 integrate with);
!> - IMEX Euler: forward Euler on the explicit part, then the implicit part by backward
!>   Euler: (I - dt D) u_new = u + dt f(u) (hfc_rhs's solve_implicit; the host: diffusion
!>   solved by K iterations of a linear solver, the PRDP paper's implicit steps).
!>
!> Steppers work on whole cell fields with halo (flat arrays): the update is the same on
!> every cell, interior or halo, and the right-hand side refills the halo at each stage, so
!> one stepper serves every grid dimension and decomposition. An implicit or IMEX stepper
!> implements the same `step`. Each step brackets its stages with the right-hand side's
!> begin_step and end_step (hfc_rhs), success or not.
module hfc_stepper
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  use hfc_rhs, only: hfc_rhs_t
  implicit none
  private

  integer, parameter, public :: HFC_SSPRK3 = 1
  integer, parameter, public :: HFC_FORWARD_EULER = 2
  integer, parameter, public :: HFC_IMEX_EULER = 3

  !> A one-step method over an hfc_rhs_t; hfc_stepper_create makes the library's ones.
  type, abstract, public :: hfc_stepper_t
  contains
    procedure(step_iface), deferred :: step
    procedure(stages_iface), deferred :: stages
  end type hfc_stepper_t

  abstract interface
    !> One step of size dt from time t; u is replaced by the new state. On failure u is
    !> left in an unspecified state (the host keeps its own copy policy).
    subroutine step_iface(self, rhs, u, t, dt, stat, errmsg)
      import :: hfc_stepper_t, hfc_rhs_t, wp
      class(hfc_stepper_t), intent(inout) :: self
      class(hfc_rhs_t), intent(inout) :: rhs
      real(wp), intent(inout), contiguous, target :: u(:)
      real(wp), intent(in) :: t, dt
      integer, intent(out) :: stat
      character(len=*), intent(inout) :: errmsg
    end subroutine step_iface

    !> Evaluations of the right-hand side per step.
    pure integer function stages_iface(self)
      import :: hfc_stepper_t
      class(hfc_stepper_t), intent(in) :: self
    end function stages_iface
  end interface

  !> SSP-RK3 (Shu & Osher 1988) with its stage buffers.
  type, extends(hfc_stepper_t), public :: hfc_ssprk3_t
    real(wp), allocatable :: u1(:), u2(:), dudt(:)
  contains
    procedure :: step => ssprk3_step
    procedure :: stages => ssprk3_stages
  end type hfc_ssprk3_t

  !> Forward Euler with its tendency buffer.
  type, extends(hfc_stepper_t), public :: hfc_euler_t
    real(wp), allocatable :: dudt(:)
  contains
    procedure :: step => euler_step
    procedure :: stages => euler_stages
  end type hfc_euler_t

  !> IMEX Euler: forward Euler on eval, then solve_implicit.
  type, extends(hfc_euler_t), public :: hfc_imex_euler_t
  contains
    procedure :: step => imex_step
  end type hfc_imex_euler_t

  public :: hfc_stepper_create

contains

  !> A stepper of the given method for cell fields of `cells` values.
  subroutine hfc_stepper_create(stepper, method, cells, stat, errmsg)
    class(hfc_stepper_t), allocatable, intent(out) :: stepper
    integer, intent(in) :: method, cells
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    select case (method)
    case (HFC_SSPRK3)
      allocate(hfc_ssprk3_t :: stepper)
    case (HFC_FORWARD_EULER)
      allocate(hfc_euler_t :: stepper)
    case (HFC_IMEX_EULER)
      allocate(hfc_imex_euler_t :: stepper)
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'time: unknown method (1 SSP-RK3, 2 forward Euler, ' // &
                         '3 IMEX Euler)')
      return
    end select
    select type (stepper)
    type is (hfc_ssprk3_t)
      allocate(stepper%u1(cells), stepper%u2(cells), stepper%dudt(cells), source=0.0_wp)
    class is (hfc_euler_t)
      allocate(stepper%dudt(cells), source=0.0_wp)
    end select
  end subroutine hfc_stepper_create

  !> SSP-RK3 in Shu-Osher form: u1 = u + dt L(u); u2 = 3/4 u + 1/4 (u1 + dt L(u1));
  !> u = 1/3 u + 2/3 (u2 + dt L(u2)).
  subroutine ssprk3_step(self, rhs, u, t, dt, stat, errmsg)
    class(hfc_ssprk3_t), intent(inout) :: self
    class(hfc_rhs_t), intent(inout) :: rhs
    real(wp), intent(inout), contiguous, target :: u(:)
    real(wp), intent(in) :: t, dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call rhs%begin_step()
    call rhs%eval(u, t, dt, self%dudt, stat, errmsg)
    if (stat == HFC_OK) then
      self%u1 = u + dt * self%dudt
      call rhs%eval(self%u1, t + dt, dt, self%dudt, stat, errmsg)
    end if
    if (stat == HFC_OK) then
      self%u2 = 0.75_wp * u + 0.25_wp * (self%u1 + dt * self%dudt)
      call rhs%eval(self%u2, t + 0.5_wp * dt, dt, self%dudt, stat, errmsg)
    end if
    if (stat == HFC_OK) u = (1.0_wp / 3.0_wp) * u + (2.0_wp / 3.0_wp) * (self%u2 + dt * self%dudt)
    call rhs%end_step()
  end subroutine ssprk3_step

  pure integer function ssprk3_stages(self)
    class(hfc_ssprk3_t), intent(in) :: self
    ssprk3_stages = 3
  end function ssprk3_stages

  !> Forward Euler: u = u + dt L(u).
  subroutine euler_step(self, rhs, u, t, dt, stat, errmsg)
    class(hfc_euler_t), intent(inout) :: self
    class(hfc_rhs_t), intent(inout) :: rhs
    real(wp), intent(inout), contiguous, target :: u(:)
    real(wp), intent(in) :: t, dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call rhs%begin_step()
    call rhs%eval(u, t, dt, self%dudt, stat, errmsg)
    if (stat == HFC_OK) u = u + dt * self%dudt
    call rhs%end_step()
  end subroutine euler_step

  !> IMEX Euler: u = u + dt f(u), then (I - dt D) u_new = u.
  subroutine imex_step(self, rhs, u, t, dt, stat, errmsg)
    class(hfc_imex_euler_t), intent(inout) :: self
    class(hfc_rhs_t), intent(inout) :: rhs
    real(wp), intent(inout), contiguous, target :: u(:)
    real(wp), intent(in) :: t, dt
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call euler_step(self, rhs, u, t, dt, stat, errmsg)
    if (stat == HFC_OK) call rhs%solve_implicit(u, dt, stat, errmsg)
  end subroutine imex_step

  pure integer function euler_stages(self)
    class(hfc_euler_t), intent(in) :: self
    euler_stages = 1
  end function euler_stages

end module hfc_stepper
