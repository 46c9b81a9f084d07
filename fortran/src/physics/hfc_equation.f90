!> The registry of conservation laws v_t + J_x = S the host solves, each with its exact flux
!> law and the stable explicit time step it allows.
!>
!> Every equation's flux is J = c v^2 + a v + sum_l b_l d^l v / dx^l:
!>
!> | name | c | a | terms (l, b_l) |
!> | --- | --- | --- | --- |
!> | burgers | 1/2 | 0 | (1, -eta) |
!> | advection | 0 | velocity | (1, -eta) |
!> | kdv | 3 | 0 | (2, 1) |
!> | ks | 1/2 | 0 | (1, 1), (3, 1) |
!>
!> (Bar-Sinai et al. 2019, SI Eqs. S-3 to S-5.) And one law in 2D:
!>
!> | advection2d | c_t + (u c)_x + (v c)_y = 0, u, v given face velocities (hfc_flow) |
!>
!> (Zhuang et al. 2021), whose time-step rule is the flow's (hfc_flow: cfl over the peak
!> Courant rate). The same table lives in Python
!> (coupler/problems/equations.py); tests/test_equations.py holds the two equal.
module hfc_equation
  use hfc_kinds, only: wp, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear
  implicit none
  private

  integer, parameter, public :: HFC_EQ_BURGERS = 1
  integer, parameter, public :: HFC_EQ_ADVECTION = 2
  integer, parameter, public :: HFC_EQ_KDV = 3
  integer, parameter, public :: HFC_EQ_KS = 4
  integer, parameter, public :: HFC_EQ_ADVECTION2D = 5
  integer, parameter, public :: HFC_MAX_TERMS = 3

  !> One equation of the registry with its parameters bound.
  type, public :: hfc_equation_t
    integer :: kind = 0
    character(len=16) :: name = ''
    integer :: ndim = 1                 !< space dimensions of the law
    real(wp) :: quadratic = 0.0_wp      !< c in c v^2
    real(wp) :: velocity = 0.0_wp       !< a in a v
    real(wp) :: viscosity = 0.0_wp      !< eta (Burgers, advection)
    integer :: terms = 0                !< derivative terms b_l d^l v (those with b_l /= 0)
    integer :: order(HFC_MAX_TERMS) = 0
    real(wp) :: coefficient(HFC_MAX_TERMS) = 0.0_wp
  contains
    procedure :: max_wave_speed => equation_max_wave_speed
    procedure :: stable_dt => equation_stable_dt
  end type hfc_equation_t

  public :: hfc_equation_init

contains

  !> The registry entry `name` ('burgers', 'advection', 'kdv', 'ks', 'advection2d') with its parameters:
  !> viscosity eta >= 0 (Burgers and advection) and velocity a (advection). Parameters an
  !> equation does not have must be 0.
  subroutine hfc_equation_init(eq, name, viscosity, velocity, stat, errmsg)
    type(hfc_equation_t), intent(out) :: eq
    character(len=*), intent(in) :: name
    real(wp), intent(in) :: viscosity, velocity
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (.not. (viscosity >= 0.0_wp) .or. viscosity > huge(viscosity)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'equation: the viscosity must be finite and >= 0')
      return
    end if
    if (.not. abs(velocity) <= huge(velocity)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'equation: the velocity must be finite')
      return
    end if
    eq%name = trim(adjustl(name))
    select case (eq%name)
    case ('burgers')
      eq%kind = HFC_EQ_BURGERS
      eq%quadratic = 0.5_wp
      call add_term(1, -viscosity)
      call refuse(velocity /= 0.0_wp, 'velocity')
    case ('advection')
      eq%kind = HFC_EQ_ADVECTION
      eq%velocity = velocity
      call add_term(1, -viscosity)
    case ('kdv')
      eq%kind = HFC_EQ_KDV
      eq%quadratic = 3.0_wp
      call add_term(2, 1.0_wp)
      call refuse(viscosity /= 0.0_wp, 'viscosity')
      call refuse(velocity /= 0.0_wp, 'velocity')
    case ('ks')
      eq%kind = HFC_EQ_KS
      eq%quadratic = 0.5_wp
      call add_term(1, 1.0_wp)
      call add_term(3, 1.0_wp)
      call refuse(viscosity /= 0.0_wp, 'viscosity')
      call refuse(velocity /= 0.0_wp, 'velocity')
    case ('advection2d')
      eq%kind = HFC_EQ_ADVECTION2D
      eq%ndim = 2
      call refuse(viscosity /= 0.0_wp, 'viscosity')
      call refuse(velocity /= 0.0_wp, 'velocity')   ! its velocity is a field (hfc_flow)
    case default
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        "unknown equation '" // trim(eq%name) // "' (expected burgers, advection, kdv, ks or advection2d)")
      return
    end select
    eq%viscosity = viscosity

  contains

    subroutine add_term(order, coefficient)
      integer, intent(in) :: order
      real(wp), intent(in) :: coefficient
      if (coefficient == 0.0_wp) return
      eq%terms = eq%terms + 1
      eq%order(eq%terms) = order
      eq%coefficient(eq%terms) = coefficient
    end subroutine add_term

    subroutine refuse(has, parameter)
      logical, intent(in) :: has
      character(len=*), intent(in) :: parameter
      if (has .and. stat == 0) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        'equation: ' // trim(eq%name) // ' has no ' // parameter // ' parameter; give 0')
    end subroutine refuse

  end subroutine hfc_equation_init

  !> Largest characteristic speed |J'(v)| = |2 c v + a| over the cells v.
  pure real(wp) function equation_max_wave_speed(self, v) result(s)
    class(hfc_equation_t), intent(in) :: self
    real(wp), intent(in) :: v(:)
    if (self%quadratic == 0.0_wp) then
      s = abs(self%velocity)
    else if (self%velocity == 0.0_wp) then
      s = 2.0_wp * abs(self%quadratic) * maxval(abs(v))
    else
      s = maxval(abs(2.0_wp * self%quadratic * v + self%velocity))
    end if
  end function equation_max_wave_speed

  !> The time-step rule: cfl times the smallest of the advective limit dx / s (s the largest
  !> wave speed, e.g. the maximum over all ranks) and, for each term b_l d^l v (a PDE term of
  !> order p = l + 1), a limit on dx^p / |b_l|: for p = 2 the explicit diffusion limit
  !> dx^2 / (2 |b|); for p >= 3 1.5 dx^p / (2^p |b|) (SSP-RK3's stability radius, about 1.5
  !> on the imaginary axis, against the largest centred eigenvalue |b| (2 / dx)^p). huge()
  !> when no limit applies. The Python twin, coupler.problems.equations.Equation.stable_dt,
  !> evaluates the same expressions in the same order (the square as dx*dx, which is what
  !> gfortran makes of dx**2; higher powers by the C library's pow, as Python's **), so the
  !> two give the same bits (tests/test_equations.py).
  pure real(wp) function equation_stable_dt(self, dx, s, cfl) result(dt)
    class(hfc_equation_t), intent(in) :: self
    real(wp), intent(in) :: dx, s, cfl
    real(wp) :: b
    integer :: i, p
    dt = huge(dt)
    if (s > 0.0_wp) dt = min(dt, cfl * dx / s)
    do i = 1, self%terms
      p = self%order(i) + 1
      b = abs(self%coefficient(i))
      if (p == 2) then
        dt = min(dt, cfl * dx**2 / (2.0_wp * b))
      else
        dt = min(dt, cfl * (1.5_wp * dx**real(p, wp) / (2.0_wp**p * b)))
      end if
    end do
  end function equation_stable_dt

end module hfc_equation
