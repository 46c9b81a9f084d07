!> Checks of an output path before a run: its folder exists and takes new files, it is not a
!> folder itself nor a file this process may not write, and it is none of the run's inputs (a model, a forcing, a restart, the
!> configuration: compared as files, so a link or another spelling is caught too). Done
!> before any work, so a mistake costs nothing and no input is ever overwritten. The system
!> calls are in hfc_files.c.
module hfc_files
  use, intrinsic :: iso_c_binding, only: c_char, c_int, c_null_char
  use hfc_kinds, only: HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_IO, hfc_set_error
  implicit none
  private
  public :: hfc_check_output

  integer, parameter :: KIND_FOLDER = 2   !< hfc_path_kind: 0 nothing, 1 a file, 2 a folder, 3 other

  interface
    integer(c_int) function c_path_kind(path) bind(C, name='hfc_path_kind')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: path(*)
    end function c_path_kind
    integer(c_int) function c_same_file(a, b) bind(C, name='hfc_same_file')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: a(*), b(*)
    end function c_same_file
    integer(c_int) function c_not_writable(path) bind(C, name='hfc_not_writable')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: path(*)
    end function c_not_writable
    integer(c_int) function c_probe_folder(folder, message, len) bind(C, name='hfc_probe_folder')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: folder(*)
      character(kind=c_char), intent(inout) :: message(*)
      integer(c_int), value :: len
    end function c_probe_folder
  end interface

contains

  !> The output `path` (the field `name` of the caller's configuration) can be written and
  !> is not one of `inputs` (blank entries are skipped). Like the hfc_checks routines, does
  !> nothing when stat already holds an error.
  subroutine hfc_check_output(name, path, inputs, stat, errmsg)
    character(len=*), intent(in) :: name, path
    character(len=*), intent(in) :: inputs(:)
    integer, intent(inout) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=:), allocatable :: file, folder
    character(kind=c_char, len=256) :: reason
    integer :: i, slash

    if (stat /= HFC_OK) return
    file = trim(path)
    if (len(file) == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, name // ' is empty: give the name of the file to write')
      return
    end if
    slash = index(file, '/', back=.true.)
    folder = '.'
    if (slash == 1) folder = '/'
    if (slash > 1) folder = file(1:slash - 1)
    if (c_path_kind(folder // c_null_char) /= KIND_FOLDER) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, name // ": the folder '" // folder // "' of '" // file // &
        "' does not exist; create it first")
      return
    end if
    if (c_path_kind(file // c_null_char) == KIND_FOLDER) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, name // " '" // file // "' is a folder; give a file name")
      return
    end if
    do i = 1, size(inputs)
      if (len_trim(inputs(i)) == 0) cycle
      if (trim(inputs(i)) == file .or. c_same_file(file // c_null_char, trim(inputs(i)) // c_null_char) == 1) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, name // " '" // file // "' is the input '" // &
          trim(inputs(i)) // "' of this run; writing it would destroy it, choose another name")
        return
      end if
    end do
    reason = ''
    if (c_probe_folder(folder // c_null_char, reason, len(reason, kind=c_int)) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, name // ": cannot create files in '" // folder // "': " // &
        trim(c_string(reason)))
    else if (c_not_writable(file // c_null_char) == 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, name // " '" // file // "' exists and may not be written")
    end if
  end subroutine hfc_check_output

  !> The text of a NUL-terminated C string held in a Fortran buffer.
  pure function c_string(buffer) result(text)
    character(len=*), intent(in) :: buffer
    character(len=:), allocatable :: text
    integer :: nul
    nul = index(buffer, c_null_char)
    text = buffer
    if (nul > 0) text = buffer(1:nul - 1)
  end function c_string

end module hfc_files
