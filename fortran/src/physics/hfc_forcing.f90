!> The random forcing of Bar-Sinai et al. (2019), SI Appendix II, Eq. (S-6):
!>   f(x, t) = sum_m A_m sin(omega_m t + 2 pi l_m x / L + phi_m),
!> a source of the host applied as exact cell averages (so coarse-graining a fine-grid
!> forcing gives exactly the coarse-grid forcing). The parameters are data, drawn in Python
!> from a seed and handed over as arrays or read from a namelist file, so every host sees
!> the identical forcing.
module hfc_forcing
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan, ieee_is_nan
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_IO, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t
  use hfc_source, only: hfc_source_t
  implicit none
  private

  integer, parameter, public :: HFC_MAX_MODES = 4096
  real(wp), parameter :: TWO_PI = 2.0_wp * acos(-1.0_wp)

  !> The parameters of Eq. (S-6), one entry per mode.
  type, public :: hfc_forcing_params_t
    real(wp), allocatable :: amplitude(:), omega(:), phase(:)
    integer, allocatable :: wavenumber(:)
  end type hfc_forcing_params_t

  !> The forcing as a source. Bound to a block, modes sharing a wavenumber are summed before
  !> touching the grid: sum_m A_m sin(theta_m(t) + k_m x) = sum_k C_k(t) cos(k x) + D_k(t) sin(k x),
  !> with C_k = sum_{m: k_m = k} A_m sin(theta_m), D_k = sum A_m cos(theta_m). The cell-averaged
  !> cos(k x) and sin(k x) are tabulated once, so an evaluation costs two multiply-adds per
  !> cell and distinct wavenumber (4 for the paper's Burgers forcing, not 20 modes).
  type, extends(hfc_source_t), public :: hfc_forcing_t
    type(hfc_forcing_params_t) :: params
    integer :: n_modes = 0
    integer :: n_waves = 0                !< distinct wavenumbers
    integer, allocatable :: wave(:)       !< mode -> index of its wavenumber
    integer, allocatable :: distinct(:)   !< the distinct wavenumbers
    real(wp), allocatable :: ctab(:, :)   !< (n, n_waves): sinc(k dx/2) cos(k x_i)
    real(wp), allocatable :: stab(:, :)   !< (n, n_waves): sinc(k dx/2) sin(k x_i)
    real(wp), allocatable :: ccoef(:), scoef(:)   !< C_k(t), D_k(t) workspace
    real(wp), allocatable :: src(:)       !< S(t) on the interior cells
  contains
    procedure :: bind => forcing_bind
    procedure :: add => forcing_add
  end type hfc_forcing_t

  public :: hfc_forcing_init, hfc_forcing_eval, hfc_forcing_read

contains

  !> The forcing with amplitudes A, frequencies omega, phases phi and integer wavenumbers l
  !> (checked: equal lengths, finite). Zero modes is allowed (no forcing).
  subroutine hfc_forcing_init(f, params, stat, errmsg)
    type(hfc_forcing_t), intent(out) :: f
    type(hfc_forcing_params_t), intent(in) :: params
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: nm

    call hfc_clear(stat, errmsg)
    if (.not. (allocated(params%amplitude) .and. allocated(params%omega) .and. &
               allocated(params%phase) .and. allocated(params%wavenumber))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameters not set')
      return
    end if
    nm = size(params%amplitude)
    if (size(params%omega) /= nm .or. size(params%phase) /= nm .or. size(params%wavenumber) /= nm) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameter arrays differ in length')
      return
    end if
    if (.not. all(abs(params%amplitude) <= huge(1.0_wp) .and. abs(params%omega) <= huge(1.0_wp) &
                  .and. abs(params%phase) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameters must be finite')
      return
    end if
    f%params = params
    f%n_modes = nm
  end subroutine hfc_forcing_init

  !> Tabulate the cell-averaged waves on this block.
  subroutine forcing_bind(self, grid, stat, errmsg)
    class(hfc_forcing_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), allocatable :: x(:), wave(:)
    real(wp) :: k, s
    integer :: m, j, i, n

    call hfc_clear(stat, errmsg)
    if (grid%ndim /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: defined on 1D grids')
      return
    end if
    n = grid%n(1)
    if (allocated(self%wave)) deallocate(self%wave, self%distinct, self%ctab, self%stab, self%ccoef, self%scoef, &
                                         self%src)   ! bound before: bind again, to this block
    allocate(self%wave(self%n_modes), self%distinct(self%n_modes))
    self%n_waves = 0
    do m = 1, self%n_modes
      j = findloc(self%distinct(1:self%n_waves), self%params%wavenumber(m), dim=1)
      if (j == 0) then
        self%n_waves = self%n_waves + 1
        self%distinct(self%n_waves) = self%params%wavenumber(m)
        j = self%n_waves
      end if
      self%wave(m) = j
    end do
    allocate(self%ctab(n, self%n_waves), self%stab(n, self%n_waves))
    allocate(self%ccoef(self%n_waves), self%scoef(self%n_waves), self%src(n))
    ! Tabulated over the whole domain, then this rank's block kept: cos/sin may be
    ! vectorized, and which cells fall in the vector body depends on the array length, so
    ! only the same global loop gives the same bits on every decomposition.
    x = [(grid%x0(1) + (real(i, wp) - 0.5_wp) * grid%dx(1), i = 1, grid%n_global(1))]
    do j = 1, self%n_waves
      k = TWO_PI * real(self%distinct(j), wp) / grid%length(1)
      s = sinc(0.5_wp * k * grid%dx(1))
      wave = s * cos(k * x)
      self%ctab(:, j) = wave(grid%offset(1) + 1:grid%offset(1) + n)
      wave = s * sin(k * x)
      self%stab(:, j) = wave(grid%offset(1) + 1:grid%offset(1) + n)
    end do
  end subroutine forcing_bind

  !> dudt = dudt + f(t) on the interior cells.
  subroutine forcing_add(self, grid, t, dudt)
    class(hfc_forcing_t), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in) :: t
    real(wp), intent(inout) :: dudt(:)
    integer :: g, n
    if (self%n_modes == 0) return
    g = grid%g
    n = grid%n(1)
    call hfc_forcing_eval(self, t, self%src)
    dudt(g + 1:g + n) = dudt(g + 1:g + n) + self%src
  end subroutine forcing_add

  !> Cell averages of a bound forcing at time t on the interior cells.
  subroutine hfc_forcing_eval(f, t, src)
    type(hfc_forcing_t), intent(inout) :: f
    real(wp), intent(in) :: t
    real(wp), intent(out) :: src(:)
    real(wp) :: theta
    integer :: m, j
    f%ccoef = 0.0_wp
    f%scoef = 0.0_wp
    do m = 1, f%n_modes
      theta = f%params%omega(m) * t + f%params%phase(m)
      f%ccoef(f%wave(m)) = f%ccoef(f%wave(m)) + f%params%amplitude(m) * sin(theta)
      f%scoef(f%wave(m)) = f%scoef(f%wave(m)) + f%params%amplitude(m) * cos(theta)
    end do
    src = 0.0_wp
    do j = 1, f%n_waves
      src = src + f%ccoef(j) * f%ctab(:, j) + f%scoef(j) * f%stab(:, j)
    end do
  end subroutine hfc_forcing_eval

  !> Read forcing parameters from a namelist file (group &hfc_forcing with n_modes,
  !> amplitude, omega, phase, wavenumber), as written by coupler.problems.forcing.Forcing.write_namelist.
  subroutine hfc_forcing_read(path, params, stat, errmsg)
    character(len=*), intent(in) :: path
    type(hfc_forcing_params_t), intent(out) :: params
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: unit, ios, n_modes
    real(wp), allocatable :: amplitude(:), omega(:), phase(:)
    integer, allocatable :: wavenumber(:)
    character(len=200) :: iomsg
    namelist /hfc_forcing/ n_modes, amplitude, omega, phase, wavenumber

    call hfc_clear(stat, errmsg)
    ! values the file does not give stay NaN (or the sentinel wavenumber) and are refused below
    allocate(amplitude(HFC_MAX_MODES), omega(HFC_MAX_MODES), phase(HFC_MAX_MODES), &
             wavenumber(HFC_MAX_MODES))
    amplitude = ieee_value(1.0_wp, ieee_quiet_nan)
    omega = amplitude
    phase = amplitude
    wavenumber = -huge(1)
    n_modes = -1
    open(newunit=unit, file=path, status='old', action='read', iostat=ios, iomsg=iomsg)
    if (ios /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, 'forcing: cannot open ' // trim(path) // ': ' // trim(iomsg))
      return
    end if
    read(unit, nml=hfc_forcing, iostat=ios, iomsg=iomsg)
    close(unit)
    if (ios /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, 'forcing: bad namelist in ' // trim(path) // ': ' // trim(iomsg))
      return
    end if
    if (n_modes < 0 .or. n_modes > HFC_MAX_MODES) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, 'forcing: n_modes missing or not in [0, ' // hfc_str(HFC_MAX_MODES) // &
        '] in ' // trim(path))
      return
    end if
    ! each array must give exactly n_modes values: fewer leaves modes undefined, more means
    ! the count and the lists disagree (which of them is right is the user's to say)
    call count_given('amplitude', .not. ieee_is_nan(amplitude))
    call count_given('omega', .not. ieee_is_nan(omega))
    call count_given('phase', .not. ieee_is_nan(phase))
    call count_given('wavenumber', wavenumber /= -huge(1))
    if (stat /= HFC_OK) return
    params%amplitude = amplitude(1:n_modes)
    params%omega = omega(1:n_modes)
    params%phase = phase(1:n_modes)
    params%wavenumber = wavenumber(1:n_modes)

  contains

    !> The values given (mask) are exactly entries 1 .. n_modes.
    subroutine count_given(name, given)
      character(len=*), intent(in) :: name
      logical, intent(in) :: given(:)
      if (stat /= HFC_OK) return
      if (count(given) == n_modes .and. all(given(1:n_modes))) return
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, 'forcing: ' // trim(path) // ' gives ' // hfc_str(count(given)) // &
        ' values of ' // name // ' (entries 1 to n_modes = ' // hfc_str(n_modes) // ' needed, finite)')
    end subroutine count_given
  end subroutine hfc_forcing_read

  elemental function sinc(z) result(s)
    real(wp), intent(in) :: z
    real(wp) :: s
    if (abs(z) < 1.0e-4_wp) then
      s = 1.0_wp - z * z / 6.0_wp      ! next term z^4/120 < 1e-18
    else
      s = sin(z) / z
    end if
  end function sinc

end module hfc_forcing
