!> Learned models from Fortran alone: load an exported ONNX model into an ONNX Runtime
!> session (through the C shim hfc_ort.c), read its metadata, and compute face fluxes from
!> halo-filled states. Every routine returns a status and a message; none stops.
!>
!> Layout: a Fortran array u(n + 2g, nbatch) is the ONNX tensor [nbatch, 1, n + 2g] and
!> flux(n + 1, nbatch) is [nbatch, 1, n + 1], so a float64 model reads and writes the
!> caller's arrays in place; a float32 model gets one rounded copy of the input.
!>
!> A model object owns its session and frees it when it goes out of scope (finalizer) or
!> on hfc_onnx_free. Do not copy model objects; pass them by reference (providers keep a
!> pointer).
module hfc_onnx
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_associated, c_char, c_int, c_int64_t, &
                                         c_null_char, c_loc, c_int8_t, c_double
  use, intrinsic :: iso_fortran_env, only: int8, int64, real32
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_PROVIDER, HFC_ERR_IO, hfc_set_error
  implicit none
  private

  integer, parameter, public :: HFC_ONNX_FLOAT32 = 1    !< ONNX element type FLOAT
  integer, parameter, public :: HFC_ONNX_FLOAT64 = 11   !< ONNX element type DOUBLE
  integer, parameter :: MSG_LEN = 1024, NAME_LEN = 256

  !> Run-time choices: intra-op threads, device (-1 CPU, k >= 0 the CUDA device k), and
  !> the ONNX Runtime library ('' = $HFC_ONNXRUNTIME_LIB, else the one found at build time).
  type, public :: hfc_onnx_config_t
    integer :: threads = 1
    integer :: device = -1
    character(len=1024) :: library = ''
  end type hfc_onnx_config_t

  type, public :: hfc_onnx_model_t
    type(c_ptr) :: handle = c_null_ptr
    integer :: dtype = 0                  !< HFC_ONNX_FLOAT32 or HFC_ONNX_FLOAT64
    integer :: halo = -1                  !< g, from the metadata
    character(len=NAME_LEN) :: input_name = '', output_name = ''
  contains
    final :: onnx_finalize
  end type hfc_onnx_model_t

  public :: hfc_onnx_open_runtime, hfc_onnx_runtime_info, hfc_onnx_load, hfc_onnx_load_bytes, &
            hfc_onnx_metadata, hfc_onnx_face_fluxes, hfc_onnx_free, hfc_onnx_loaded, hfc_onnx_timers

  interface hfc_onnx_face_fluxes
    module procedure onnx_face_fluxes_batch, onnx_face_fluxes_single
  end interface hfc_onnx_face_fluxes

  interface
    integer(c_int) function c_open(path, err, errlen) bind(C, name='hfc_ort_open')
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: path(*)
      character(kind=c_char), intent(out) :: err(*)
      integer(c_int), value :: errlen
    end function c_open

    subroutine c_info(path, pathlen, version, versionlen) bind(C, name='hfc_ort_info')
      import :: c_char, c_int
      character(kind=c_char), intent(out) :: path(*), version(*)
      integer(c_int), value :: pathlen, versionlen
    end subroutine c_info

    integer(c_int) function c_create(bytes, nbytes, threads, device, handle, err, errlen) bind(C, name='hfc_ort_create')
      import :: c_int, c_int64_t, c_int8_t, c_ptr, c_char
      integer(c_int8_t), intent(in) :: bytes(*)
      integer(c_int64_t), value :: nbytes
      integer(c_int), value :: threads, device
      type(c_ptr), intent(out) :: handle
      character(kind=c_char), intent(out) :: err(*)
      integer(c_int), value :: errlen
    end function c_create

    subroutine c_signature(handle, inputs, outputs, input_name, output_name, namelen, input_type, input_rank, &
                           output_type, output_rank) bind(C, name='hfc_ort_signature')
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: handle
      integer(c_int), intent(out) :: inputs, outputs, input_type, input_rank, output_type, output_rank
      character(kind=c_char), intent(out) :: input_name(*), output_name(*)
      integer(c_int), value :: namelen
    end subroutine c_signature

    integer(c_int) function c_metadata(handle, key, value, valuelen, found, err, errlen) bind(C, name='hfc_ort_metadata')
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: handle
      character(kind=c_char), intent(in) :: key(*)
      character(kind=c_char), intent(out) :: value(*)
      integer(c_int), value :: valuelen
      integer(c_int), intent(out) :: found
      character(kind=c_char), intent(out) :: err(*)
      integer(c_int), value :: errlen
    end function c_metadata

    integer(c_int) function c_run(handle, input, output, batch, cells, faces, err, errlen) bind(C, name='hfc_ort_run')
      import :: c_ptr, c_int, c_int64_t, c_char
      type(c_ptr), value :: handle, input, output
      integer(c_int64_t), value :: batch, cells, faces
      character(kind=c_char), intent(out) :: err(*)
      integer(c_int), value :: errlen
    end function c_run

    subroutine c_timers(handle, run_seconds, runs, reset) bind(C, name='hfc_ort_timers')
      import :: c_ptr, c_double, c_int64_t, c_int
      type(c_ptr), value :: handle
      real(c_double), intent(out) :: run_seconds
      integer(c_int64_t), intent(out) :: runs
      integer(c_int), value :: reset
    end subroutine c_timers

    subroutine c_free(handle) bind(C, name='hfc_ort_free')
      import :: c_ptr
      type(c_ptr), value :: handle
    end subroutine c_free
  end interface

contains

  !> Open the ONNX Runtime library now (else the first load does): `library` as in
  !> hfc_onnx_config_t. Later calls keep the library opened first.
  subroutine hfc_onnx_open_runtime(library, stat, errmsg)
    character(len=*), intent(in) :: library
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(kind=c_char) :: err(MSG_LEN)
    stat = HFC_OK
    if (c_open(to_c(library), err, MSG_LEN) /= 0) call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
  end subroutine hfc_onnx_open_runtime

  !> Where ONNX Runtime was found and its version ('' before it is opened).
  subroutine hfc_onnx_runtime_info(path, version)
    character(len=*), intent(out) :: path, version
    character(kind=c_char) :: cpath(4096), cversion(64)
    call c_info(cpath, size(cpath), cversion, size(cversion))
    path = from_c(cpath)
    version = from_c(cversion)
  end subroutine hfc_onnx_runtime_info

  !> Load a model file (read whole into memory, then as hfc_onnx_load_bytes).
  subroutine hfc_onnx_load(model, path, config, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    character(len=*), intent(in) :: path
    type(hfc_onnx_config_t), intent(in) :: config
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer(int8), allocatable :: bytes(:)
    integer(int64) :: size_bytes
    integer :: unit, ios

    open(newunit=unit, file=path, access='stream', form='unformatted', action='read', status='old', iostat=ios)
    if (ios /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, "cannot open the model file '" // trim(path) // "'")
      return
    end if
    inquire(unit=unit, size=size_bytes)
    allocate(bytes(max(size_bytes, 0_int64)))
    read(unit, iostat=ios) bytes
    close(unit)
    if (ios /= 0 .or. size_bytes <= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_IO, "cannot read the model file '" // trim(path) // "' (empty or unreadable)")
      return
    end if
    call hfc_onnx_load_bytes(model, bytes, config, stat, errmsg)
    if (stat /= HFC_OK) errmsg = "'" // trim(path) // "': " // errmsg
  end subroutine hfc_onnx_load

  !> Create the session from the bytes of an exported model and check its signature: one
  !> input and one output of rank 3 ([batch, 1, cells]), float or double, named as the
  !> metadata says, and a halo width in the metadata. Models with external data are refused
  !> by ONNX Runtime here (a model in memory has no folder to resolve them in).
  subroutine hfc_onnx_load_bytes(model, bytes, config, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer(int8), intent(in) :: bytes(:)
    type(hfc_onnx_config_t), intent(in) :: config
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(kind=c_char) :: err(MSG_LEN), cin(NAME_LEN), cout(NAME_LEN)
    integer(c_int) :: inputs, outputs, tin, rin, tout, rout
    character(len=NAME_LEN) :: value
    integer :: ios

    call hfc_onnx_free(model)
    stat = HFC_OK
    if (config%threads < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: threads must be >= 1')
      return
    end if
    call hfc_onnx_open_runtime(config%library, stat, errmsg)
    if (stat /= HFC_OK) return
    if (c_create(bytes, size(bytes, kind=c_int64_t), config%threads, config%device, model%handle, err, MSG_LEN) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
      return
    end if
    call c_signature(model%handle, inputs, outputs, cin, cout, NAME_LEN, tin, rin, tout, rout)
    model%input_name = from_c(cin)
    model%output_name = from_c(cout)
    if (inputs /= 1 .or. outputs /= 1 .or. rin /= 3 .or. rout /= 3) then
      call fail('onnx: expected one input and one output of rank 3 ([batch, 1, cells])')
    else if (tin /= tout .or. (tin /= HFC_ONNX_FLOAT32 .and. tin /= HFC_ONNX_FLOAT64)) then
      call fail('onnx: input and output must both be float or both double')
    end if
    if (stat /= HFC_OK) then
      call hfc_onnx_free(model)
      return
    end if
    model%dtype = tin
    call hfc_onnx_metadata(model, 'input_name', value, stat, errmsg)
    if (stat == HFC_OK .and. value /= model%input_name) call fail("onnx: the input is named '" // &
      trim(model%input_name) // "', the metadata says '" // trim(value) // "'")
    if (stat == HFC_OK) call hfc_onnx_metadata(model, 'output_name', value, stat, errmsg)
    if (stat == HFC_OK .and. value /= model%output_name) call fail("onnx: the output is named '" // &
      trim(model%output_name) // "', the metadata says '" // trim(value) // "'")
    if (stat == HFC_OK) call hfc_onnx_metadata(model, 'dtype', value, stat, errmsg)
    if (stat == HFC_OK .and. .not. (value == 'float32' .and. tin == HFC_ONNX_FLOAT32) &
        .and. .not. (value == 'float64' .and. tin == HFC_ONNX_FLOAT64)) &
      call fail("onnx: metadata dtype '" // trim(value) // "' differs from the input's element type")
    if (stat == HFC_OK) call hfc_onnx_metadata(model, 'halo', value, stat, errmsg)
    if (stat == HFC_OK) then
      read(value, *, iostat=ios) model%halo
      if (ios /= 0 .or. model%halo < 0) call fail("onnx: metadata halo '" // trim(value) // "' is not a width >= 0")
    end if
    if (stat /= HFC_OK) call hfc_onnx_free(model)

  contains

    subroutine fail(message)
      character(len=*), intent(in) :: message
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, message)
    end subroutine fail

  end subroutine hfc_onnx_load_bytes

  !> A metadata value (ONNX metadata_props); a missing key is an error naming the key.
  subroutine hfc_onnx_metadata(model, key, value, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    character(len=*), intent(in) :: key
    character(len=*), intent(out) :: value
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(kind=c_char) :: err(MSG_LEN), cvalue(4096)
    integer(c_int) :: found

    value = ''
    stat = HFC_OK
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no model loaded')
    else if (c_metadata(model%handle, to_c(key), cvalue, size(cvalue), found, err, MSG_LEN) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
    else if (found == 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "onnx: the model lacks the metadata '" // key // &
                         "'; export it with `hfc export`")
    else
      value = from_c(cvalue)
    end if
  end subroutine hfc_onnx_metadata

  logical function hfc_onnx_loaded(model)
    type(hfc_onnx_model_t), intent(in) :: model
    hfc_onnx_loaded = c_associated(model%handle)
  end function hfc_onnx_loaded

  !> Face fluxes flux(n + 1, nbatch) from halo-filled states u(n + 2g, nbatch).
  subroutine onnx_face_fluxes_batch(model, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    real(wp), intent(in), contiguous, target :: u(:, :)
    real(wp), intent(inout), contiguous, target :: flux(:, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(real32), allocatable, target :: u32(:, :), flux32(:, :)
    character(kind=c_char) :: err(MSG_LEN)
    integer(c_int64_t) :: batch, cells, faces
    integer(c_int) :: rc

    stat = HFC_OK
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no model loaded')
      return
    end if
    cells = size(u, 1)
    faces = size(flux, 1)
    batch = size(u, 2)
    if (faces /= cells - 2 * model%halo + 1 .or. faces < 2 .or. size(flux, 2) /= batch) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, &
        'onnx: need u(n + 2g, nbatch) and flux(n + 1, nbatch) with n >= 1 and g the model halo')
      return
    end if
    if (model%dtype == HFC_ONNX_FLOAT64) then
      rc = c_run(model%handle, c_loc(u), c_loc(flux), batch, cells, faces, err, MSG_LEN)
    else
      u32 = real(u, real32)         ! the one cast between the host's float64 and the model
      allocate(flux32(faces, batch))
      rc = c_run(model%handle, c_loc(u32), c_loc(flux32), batch, cells, faces, err, MSG_LEN)
      if (rc == 0) flux = real(flux32, wp)
    end if
    if (rc /= 0) call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
  end subroutine onnx_face_fluxes_batch

  !> Face fluxes flux(n + 1) of one halo-filled state u(n + 2g).
  subroutine onnx_face_fluxes_single(model, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    real(wp), intent(in), contiguous, target :: u(:)
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), pointer, contiguous :: u2(:, :), flux2(:, :)
    u2(1:size(u), 1:1) => u
    flux2(1:size(flux), 1:1) => flux
    call onnx_face_fluxes_batch(model, u2, flux2, stat, errmsg)
  end subroutine onnx_face_fluxes_single

  !> Seconds spent inside ONNX Runtime's Run and the number of runs, since the load or the
  !> last reset: what the benchmark subtracts to get the binding's own cost per call.
  subroutine hfc_onnx_timers(model, run_seconds, runs, reset)
    type(hfc_onnx_model_t), intent(in) :: model
    real(wp), intent(out) :: run_seconds
    integer(int64), intent(out) :: runs
    logical, intent(in) :: reset
    real(c_double) :: seconds
    integer(c_int64_t) :: count
    run_seconds = 0.0_wp
    runs = 0
    if (.not. hfc_onnx_loaded(model)) return
    call c_timers(model%handle, seconds, count, merge(1, 0, reset))
    run_seconds = seconds
    runs = count
  end subroutine hfc_onnx_timers

  !> Release the session (safe to call twice or on a model never loaded).
  subroutine hfc_onnx_free(model)
    type(hfc_onnx_model_t), intent(inout) :: model
    if (c_associated(model%handle)) call c_free(model%handle)
    model%handle = c_null_ptr
    model%dtype = 0
    model%halo = -1
  end subroutine hfc_onnx_free

  subroutine onnx_finalize(model)
    type(hfc_onnx_model_t), intent(inout) :: model
    call hfc_onnx_free(model)
  end subroutine onnx_finalize

  pure function to_c(text) result(c)
    character(len=*), intent(in) :: text
    character(kind=c_char, len=len_trim(text) + 1) :: c
    c = trim(text) // c_null_char
  end function to_c

  pure function from_c(c) result(text)
    character(kind=c_char), intent(in) :: c(:)
    character(len=:), allocatable :: text
    integer :: i, n
    n = size(c)
    do i = 1, size(c)
      if (c(i) == c_null_char) then
        n = i - 1
        exit
      end if
    end do
    allocate(character(len=n) :: text)
    do i = 1, n
      text(i:i) = c(i)
    end do
  end function from_c

end module hfc_onnx
