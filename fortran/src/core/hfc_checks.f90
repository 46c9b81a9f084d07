!> Checks of configuration values a user gave (a namelist, command-line arguments), each
!> naming the field and its range in the message, so a program can say which input is wrong
!> and what would be right; and the namelist reader that names the line at fault. A range
!> check does nothing when stat already holds an error: a program runs its checks in a row
!> after the read and tests stat once, and the first failure is reported.
module hfc_checks
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_IO, hfc_set_error, hfc_clear, hfc_str
  implicit none
  private

  public :: hfc_check_range, hfc_read_namelist

  integer, parameter, public :: HFC_LINE_LEN = 1024   !< the longest namelist line read

  abstract interface
    !> The caller's read of its namelist group from the records `lines` (an internal file):
    !> `read(lines, nml=group, iostat=ios, iomsg=iomsg)`. Fortran cannot pass a namelist
    !> group, so the program gives this one-line routine.
    subroutine read_group_iface(lines, ios, iomsg)
      character(len=*), intent(in) :: lines(:)
      integer, intent(out) :: ios
      character(len=*), intent(inout) :: iomsg
    end subroutine read_group_iface
  end interface
  public :: read_group_iface

  !> lo <= value <= hi (reals: finite too; above = .true. makes the lower bound strict).
  interface hfc_check_range
    module procedure range_real, range_int
  end interface hfc_check_range

contains

  subroutine range_real(name, value, lo, hi, stat, errmsg, above)
    character(len=*), intent(in) :: name
    real(wp), intent(in) :: value, lo, hi
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
    logical, intent(in), optional :: above
    logical :: strict, ok
    character(len=:), allocatable :: bounds

    if (stat /= HFC_OK) return
    strict = .false.
    if (present(above)) strict = above
    ok = abs(value) <= huge(value) .and. value <= hi .and. (value > lo .or. (.not. strict .and. value >= lo))
    if (ok) return
    if (hi >= huge(hi) .and. strict) then
      bounds = 'finite and > ' // hfc_str(lo)
    else if (hi >= huge(hi)) then
      bounds = 'finite and >= ' // hfc_str(lo)
    else
      bounds = 'in ' // merge('(', '[', strict) // hfc_str(lo) // ', ' // hfc_str(hi) // ']'
    end if
    call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, name // ' must be ' // bounds // ', got ' // hfc_str(value))
  end subroutine range_real

  subroutine range_int(name, value, lo, hi, stat, errmsg)
    character(len=*), intent(in) :: name
    integer, intent(in) :: value, lo, hi
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg

    if (stat /= HFC_OK .or. (value >= lo .and. value <= hi)) return
    call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, name // ' must be an integer in [' // hfc_str(lo) // ', ' // &
      hfc_str(hi) // '], got ' // hfc_str(value))
  end subroutine range_int

  !> Read the namelist group `group` from the file `path` with read_group. On failure the
  !> message names the line at fault: each field line of the group (a line with '=' between
  !> `&group` and `/`) is read alone, so a user learns which field has a wrong name or a
  !> value of the wrong type. Lines longer than HFC_LINE_LEN are refused, not cut.
  subroutine hfc_read_namelist(path, group, read_group, stat, errmsg)
    character(len=*), intent(in) :: path, group
    procedure(read_group_iface) :: read_group
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=HFC_LINE_LEN), allocatable :: lines(:)
    character(len=HFC_LINE_LEN + 1) :: line   ! one more: a longer line shows
    character(len=HFC_LINE_LEN + 1) :: alone(3)   ! (a named array: gfortran 12 passes a typed
                                              ! array constructor with the wrong length)
    character(len=256) :: iomsg, whole_msg
    integer :: unit, ios, k, count, whole
    logical :: inside, found

    call hfc_clear(stat, errmsg)
    open(newunit=unit, file=path, status='old', action='read', iostat=ios, iomsg=iomsg)
    if (ios /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, "cannot open the configuration file '" // trim(path) // "': " // &
        trim(iomsg))
      return
    end if
    count = 0
    found = .false.
    do
      read(unit, '(a)', iostat=ios) line
      if (ios /= 0) exit
      count = count + 1
      found = found .or. starts_group(line)
      if (len_trim(line) > HFC_LINE_LEN) then
        close(unit)
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, trim(path) // ', line ' // hfc_str(count) // &
          ' is longer than ' // hfc_str(HFC_LINE_LEN) // ' characters')
        return
      end if
    end do
    if (.not. found) then   ! gfortran skips other groups silently and reads nothing
      close(unit)
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'no &' // group // ' namelist group in ' // trim(path))
      return
    end if
    rewind(unit)
    allocate(lines(count))
    do k = 1, count
      read(unit, '(a)') lines(k)
    end do
    close(unit)
    whole_msg = ''
    call read_group(lines, whole, whole_msg)
    if (whole == 0) return
    inside = .false.
    do k = 1, count
      line = adjustl(lines(k))
      if (starts_group(line)) then
        inside = .true.
        line = adjustl(line(len(group) + 2:))    ! fields may follow the group name
      end if
      if (.not. inside) cycle
      if (line(1:1) == '/') inside = .false.
      if (index(line, '=') == 0 .or. line(1:1) == '!') cycle   ! a continuation or a comment
      alone(1) = '&' // group
      alone(2) = line
      alone(3) = '/'
      call read_group(alone, ios, iomsg)
      if (ios /= 0) then
        if (ios < 0) iomsg = 'a value of the wrong type'   ! gfortran reports a bad value as the end of file
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, trim(path) // ', line ' // hfc_str(k) // ' (' // &
          trim(adjustl(lines(k))) // '): ' // trim(iomsg))
        return
      end if
    end do
    if (whole < 0) whole_msg = 'no complete &' // group // ' ... / group'
    call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'bad &' // group // ' namelist in ' // trim(path) // ': ' // &
      trim(whole_msg))

  contains

    !> The line opens &group (names compared in lower case, as namelist names are).
    logical function starts_group(text)
      character(len=*), intent(in) :: text
      character(len=:), allocatable :: word
      word = lower(trim(adjustl(text)))
      starts_group = word == '&' // lower(group) .or. index(word, '&' // lower(group) // ' ') == 1
    end function starts_group
  end subroutine hfc_read_namelist

  pure function lower(text) result(low)
    character(len=*), intent(in) :: text
    character(len=len(text)) :: low
    integer :: i, c
    low = text
    do i = 1, len(text)
      c = ichar(text(i:i))
      if (c >= ichar('A') .and. c <= ichar('Z')) low(i:i) = char(c + 32)
    end do
  end function lower

end module hfc_checks
