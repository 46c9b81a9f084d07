!> The conservation law being solved: which exact flux, its parameters, and the stable
!> explicit time step it allows.
module hfc_equation
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  integer, parameter, public :: HFC_EQ_BURGERS = 1     !< J = u^2/2 - eta du/dx
  integer, parameter, public :: HFC_EQ_ADVECTION = 2   !< J = a u - eta du/dx

  type, public :: hfc_equation_t
    integer :: kind = HFC_EQ_BURGERS
    real(wp) :: viscosity = 0.0_wp   !< eta >= 0
    real(wp) :: velocity = 0.0_wp    !< a, advection only
  end type hfc_equation_t

  public :: hfc_equation_init, hfc_equation_parse, hfc_max_wave_speed, hfc_stable_dt, hfc_stable_dt_for_speed

contains

  !> Map an equation name ('burgers' or 'advection') to its code.
  subroutine hfc_equation_parse(name, kind, stat, errmsg)
    character(len=*), intent(in) :: name
    integer, intent(out) :: kind
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    stat = HFC_OK
    kind = 0
    select case (trim(adjustl(name)))
    case ('burgers')
      kind = HFC_EQ_BURGERS
    case ('advection')
      kind = HFC_EQ_ADVECTION
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        "unknown equation '" // trim(adjustl(name)) // "' (expected burgers or advection)")
    end select
  end subroutine hfc_equation_parse

  subroutine hfc_equation_init(eq, name, viscosity, velocity, stat, errmsg)
    type(hfc_equation_t), intent(out) :: eq
    character(len=*), intent(in) :: name
    real(wp), intent(in) :: viscosity, velocity
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_equation_parse(name, eq%kind, stat, errmsg)
    if (stat /= HFC_OK) return
    if (.not. (viscosity >= 0.0_wp) .or. viscosity > huge(viscosity)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'equation: the viscosity must be finite and >= 0')
      return
    end if
    if (abs(velocity) > huge(velocity) .or. velocity /= velocity) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'equation: the velocity must be finite')
      return
    end if
    eq%viscosity = viscosity
    eq%velocity = velocity
  end subroutine hfc_equation_init

  !> Largest characteristic speed |f'(u)| over the interior cells.
  pure function hfc_max_wave_speed(eq, u) result(s)
    type(hfc_equation_t), intent(in) :: eq
    real(wp), intent(in) :: u(:)
    real(wp) :: s
    select case (eq%kind)
    case (HFC_EQ_BURGERS)
      s = maxval(abs(u))
    case default
      s = abs(eq%velocity)
    end select
  end function hfc_max_wave_speed

  !> Largest stable step for SSP-RK3 at Courant number cfl: cfl times the smaller of the
  !> advective limit dx / max|f'(u)| and the diffusive limit dx^2 / (2 eta).
  !> Returns huge() when neither limit applies (u = 0 and eta = 0).
  pure function hfc_stable_dt(eq, grid, u, cfl) result(dt)
    type(hfc_equation_t), intent(in) :: eq
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: u(:)
    real(wp), intent(in) :: cfl
    real(wp) :: dt
    dt = hfc_stable_dt_for_speed(eq, grid, hfc_max_wave_speed(eq, u), cfl)
  end function hfc_stable_dt

  !> The same from a given largest wave speed s (e.g. the maximum over all MPI ranks).
  pure function hfc_stable_dt_for_speed(eq, grid, s, cfl) result(dt)
    type(hfc_equation_t), intent(in) :: eq
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: s, cfl
    real(wp) :: dt
    dt = huge(dt)
    if (s > 0.0_wp) dt = min(dt, cfl * grid%dx / s)
    if (eq%viscosity > 0.0_wp) dt = min(dt, cfl * grid%dx**2 / (2.0_wp * eq%viscosity))
  end function hfc_stable_dt_for_speed

end module hfc_equation
