!> The random forcing of Bar-Sinai et al. (2019), SI Appendix II, Eq. (S-6):
!>   f(x, t) = sum_m A_m sin(omega_m t + 2 pi l_m x / L + phi_m),
!> applied as exact cell averages (so coarse-graining a fine-grid forcing gives exactly the
!> coarse-grid forcing). The parameters are data, drawn in Python from a seed and handed
!> over as arrays or read from a namelist file, so every host sees the identical forcing.
module hfc_forcing
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_IO, hfc_set_error
  use hfc_grid, only: hfc_grid_t
  implicit none
  private

  integer, parameter, public :: HFC_MAX_MODES = 4096
  real(wp), parameter :: TWO_PI = 2.0_wp * acos(-1.0_wp)

  !> The parameters of Eq. (S-6), one entry per mode.
  type, public :: hfc_forcing_params_t
    real(wp), allocatable :: amplitude(:), omega(:), phase(:)
    integer, allocatable :: wavenumber(:)
  end type hfc_forcing_params_t

  !> Forcing bound to a grid. Modes sharing a wavenumber are summed before touching the
  !> grid: sum_m A_m sin(theta_m(t) + k_m x) = sum_k C_k(t) cos(k x) + D_k(t) sin(k x), with
  !> C_k = sum_{m: k_m = k} A_m sin(theta_m), D_k = sum A_m cos(theta_m). The cell-averaged
  !> cos(k x) and sin(k x) are tabulated once, so an evaluation costs two multiply-adds per
  !> cell and distinct wavenumber (4 for the paper's Burgers forcing, not 20 modes).
  type, public :: hfc_forcing_t
    integer :: n_modes = 0
    integer :: n_waves = 0                !< distinct wavenumbers
    real(wp), allocatable :: amplitude(:), omega(:), phase(:)
    integer, allocatable :: wave(:)       !< mode -> index of its wavenumber
    real(wp), allocatable :: ctab(:, :)   !< (n, n_waves): sinc(k dx/2) cos(k x_i)
    real(wp), allocatable :: stab(:, :)   !< (n, n_waves): sinc(k dx/2) sin(k x_i)
    real(wp), allocatable :: ccoef(:), scoef(:)   !< C_k(t), D_k(t) workspace
  end type hfc_forcing_t

  public :: hfc_forcing_init, hfc_forcing_eval, hfc_forcing_read

contains

  !> Tabulate the forcing with amplitudes A, frequencies omega, phases phi and integer
  !> wavenumbers l on the given grid. Zero modes is allowed (no forcing).
  subroutine hfc_forcing_init(f, grid, params, stat, errmsg)
    type(hfc_forcing_t), intent(out) :: f
    type(hfc_grid_t), intent(in) :: grid
    type(hfc_forcing_params_t), intent(in) :: params
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), allocatable :: x(:), wave(:)
    real(wp) :: k, s
    integer :: m, nm, j, i
    integer, allocatable :: distinct(:)

    stat = HFC_OK
    if (.not. (allocated(params%amplitude) .and. allocated(params%omega) .and. &
               allocated(params%phase) .and. allocated(params%wavenumber))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameters not set')
      return
    end if
    associate (amplitude => params%amplitude, omega => params%omega, phase => params%phase, &
               wavenumber => params%wavenumber)
    nm = size(amplitude)
    if (size(omega) /= nm .or. size(phase) /= nm .or. size(wavenumber) /= nm) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameter arrays differ in length')
      return
    end if
    if (.not. all(abs(amplitude) <= huge(1.0_wp) .and. abs(omega) <= huge(1.0_wp) &
                  .and. abs(phase) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'forcing: parameters must be finite')
      return
    end if
    f%n_modes = nm
    f%amplitude = amplitude
    f%omega = omega
    f%phase = phase
    allocate(f%wave(nm), distinct(nm))
    f%n_waves = 0
    do m = 1, nm
      j = findloc(distinct(1:f%n_waves), wavenumber(m), dim=1)
      if (j == 0) then
        f%n_waves = f%n_waves + 1
        distinct(f%n_waves) = wavenumber(m)
        j = f%n_waves
      end if
      f%wave(m) = j
    end do
    allocate(f%ctab(grid%n, f%n_waves), f%stab(grid%n, f%n_waves))
    allocate(f%ccoef(f%n_waves), f%scoef(f%n_waves))
    ! Tabulated over the whole domain, then this rank's block kept: cos/sin may be
    ! vectorized, and which cells fall in the vector body depends on the array length, so
    ! only the same global loop gives the same bits on every decomposition.
    x = [(grid%x0 + (real(i, wp) - 0.5_wp) * grid%dx, i = 1, grid%n_global)]
    do j = 1, f%n_waves
      k = TWO_PI * real(distinct(j), wp) / grid%length
      s = sinc(0.5_wp * k * grid%dx)
      wave = s * cos(k * x)
      f%ctab(:, j) = wave(grid%offset + 1:grid%offset + grid%n)
      wave = s * sin(k * x)
      f%stab(:, j) = wave(grid%offset + 1:grid%offset + grid%n)
    end do
    end associate
  end subroutine hfc_forcing_init

  !> Cell averages of the forcing at time t.
  subroutine hfc_forcing_eval(f, t, src)
    type(hfc_forcing_t), intent(inout) :: f
    real(wp), intent(in) :: t
    real(wp), intent(out) :: src(:)
    real(wp) :: theta
    integer :: m, j
    f%ccoef = 0.0_wp
    f%scoef = 0.0_wp
    do m = 1, f%n_modes
      theta = f%omega(m) * t + f%phase(m)
      f%ccoef(f%wave(m)) = f%ccoef(f%wave(m)) + f%amplitude(m) * sin(theta)
      f%scoef(f%wave(m)) = f%scoef(f%wave(m)) + f%amplitude(m) * cos(theta)
    end do
    src = 0.0_wp
    do j = 1, f%n_waves
      src = src + f%ccoef(j) * f%ctab(:, j) + f%scoef(j) * f%stab(:, j)
    end do
  end subroutine hfc_forcing_eval

  !> Read forcing parameters from a namelist file (group &hfc_forcing with n_modes,
  !> amplitude, omega, phase, wavenumber), as written by training.forcing.
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

    stat = HFC_OK
    allocate(amplitude(HFC_MAX_MODES), omega(HFC_MAX_MODES), phase(HFC_MAX_MODES), &
             wavenumber(HFC_MAX_MODES))
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
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, 'forcing: n_modes missing or out of range in ' // trim(path))
      return
    end if
    params%amplitude = amplitude(1:n_modes)
    params%omega = omega(1:n_modes)
    params%phase = phase(1:n_modes)
    params%wavenumber = wavenumber(1:n_modes)
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
