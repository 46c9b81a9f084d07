!> ONNX models from Fortran alone: load an ONNX model into an ONNX Runtime session (through
!> the C shim hfc_ort.c) and run it on Fortran arrays. General: any number of named inputs
!> and outputs, any rank, float32 or float64 elements; the graph's signature and the
!> model's metadata are read once, at load, into the model object. The finite-volume
!> meaning of a model (halo, faces) lives above this module, in the learned providers.
!>
!> Layout: a Fortran array is the ONNX tensor with the dimensions reversed, without a copy:
!> u(n, nbatch) is [nbatch, n], c(nx, ny) is [ny, nx]; hfc_tensor may add unit dimensions
!> (u(n, nbatch) as [nbatch, 1, n]). Arrays are float64 (the host's precision): for float64
!> arguments ONNX Runtime reads and writes them in place; for float32 arguments the model
!> object keeps one float32 buffer per argument, and the run casts in (rounding, the one
!> cast between host and model) and out (exact).
!>
!> A model object owns its session and frees it when it goes out of scope (finalizer) or
!> on hfc_onnx_free. Do not copy model objects; pass them by reference.
module hfc_onnx
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_associated, c_char, c_int, c_int64_t, &
                                         c_null_char, c_loc, c_int8_t, c_double, c_f_pointer
  use, intrinsic :: iso_fortran_env, only: int8, int64, real32
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_PROVIDER, HFC_ERR_IO, hfc_set_error, hfc_clear, hfc_str
  implicit none
  private

  integer, parameter, public :: HFC_ONNX_FLOAT32 = 1    !< ONNX element type FLOAT
  integer, parameter, public :: HFC_ONNX_FLOAT64 = 11   !< ONNX element type DOUBLE
  integer, parameter, public :: HFC_ONNX_MAX_RANK = 8
  integer, parameter :: MSG_LEN = 1024, NAME_LEN = 256, VALUE_LEN = 8192

  !> Run-time choices: intra-op threads, device (-1 CPU, k >= 0 the CUDA device k), and
  !> the ONNX Runtime library ('' = the rule of hfc_onnx_open_runtime).
  type, public :: hfc_onnx_config_t
    integer :: threads = 1
    integer :: device = -1
    character(len=1024) :: library = ''
  end type hfc_onnx_config_t

  !> One input or output of the graph: name, element type, dimensions in ONNX order (-1
  !> where symbolic, e.g. the batch or the number of cells).
  type, public :: hfc_onnx_arg_t
    character(len=:), allocatable :: name
    integer :: dtype = 0
    integer :: rank = 0
    integer(int64) :: dims(HFC_ONNX_MAX_RANK) = 0
  end type hfc_onnx_arg_t

  !> One custom metadata entry (ONNX metadata_props).
  type, public :: hfc_onnx_entry_t
    character(len=:), allocatable :: key, value
  end type hfc_onnx_entry_t

  type :: buffer32_t
    real(real32), allocatable :: x(:)
  end type buffer32_t

  !> A loaded model: its session, and its graph's signature and metadata read at load.
  type, public :: hfc_onnx_model_t
    type(c_ptr) :: handle = c_null_ptr
    integer(int64) :: serial = 0                           !< which load of the process (0: none)
    type(hfc_onnx_arg_t), allocatable :: inputs(:), outputs(:)
    type(hfc_onnx_entry_t), allocatable :: metadata(:)
    type(buffer32_t), allocatable, private :: scratch(:)   !< float32 copies, inputs then outputs
  contains
    final :: onnx_finalize
  end type hfc_onnx_model_t

  !> A view of a float64 array as a tensor: its address and ONNX shape (see hfc_tensor).
  type, public :: hfc_tensor_t
    type(c_ptr) :: data = c_null_ptr
    integer :: rank = 0
    integer(int64) :: shape(HFC_ONNX_MAX_RANK) = 0
    integer(int64) :: count = 0
  end type hfc_tensor_t

  public :: hfc_onnx_open_runtime, hfc_onnx_runtime_info, hfc_onnx_load, hfc_onnx_load_bytes, &
            hfc_onnx_metadata, hfc_onnx_has_metadata, hfc_onnx_run, hfc_onnx_free, hfc_onnx_loaded, &
            hfc_onnx_timers, hfc_tensor

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

    subroutine c_counts(handle, inputs, outputs, entries, serial) bind(C, name='hfc_ort_counts')
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: handle
      integer(c_int), intent(out) :: inputs, outputs, entries
      integer(c_int64_t), intent(out) :: serial
    end subroutine c_counts

    subroutine c_argument(handle, output, index, name, namelen, dtype, rank, dims) bind(C, name='hfc_ort_argument')
      import :: c_ptr, c_int, c_char, c_int64_t
      type(c_ptr), value :: handle
      integer(c_int), value :: output, index, namelen
      character(kind=c_char), intent(out) :: name(*)
      integer(c_int), intent(out) :: dtype, rank
      integer(c_int64_t), intent(out) :: dims(*)
    end subroutine c_argument

    subroutine c_entry(handle, index, key, keylen, value, valuelen) bind(C, name='hfc_ort_metadata_entry')
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: handle
      integer(c_int), value :: index, keylen, valuelen
      character(kind=c_char), intent(out) :: key(*), value(*)
    end subroutine c_entry

    integer(c_int) function c_run(handle, outputs, data, shapes, err, errlen) bind(C, name='hfc_ort_run')
      import :: c_ptr, c_int, c_int64_t, c_char
      type(c_ptr), value :: handle
      integer(c_int), value :: outputs
      type(c_ptr), intent(in) :: data(*)
      integer(c_int64_t), intent(in) :: shapes(*)
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

  !> Open the ONNX Runtime library now (else the first load does). Which library: `library`
  !> if not blank, else $HFC_ONNXRUNTIME_LIB, else the library found when libhfc was built
  !> (if it still exists), else libonnxruntime.so.1 from the dynamic loader's search path.
  !> Later calls keep the library opened first.
  subroutine hfc_onnx_open_runtime(library, stat, errmsg)
    character(len=*), intent(in) :: library
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(kind=c_char) :: err(MSG_LEN)
    call hfc_clear(stat, errmsg)
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

    call hfc_onnx_free(model)
    call hfc_clear(stat, errmsg)
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

  !> Create the session from the bytes of a model (e.g. after an MPI broadcast) and read its
  !> signature and metadata. Every input and output must be a float or double tensor.
  !> Models with external data are refused by ONNX Runtime here (a model in memory has no
  !> folder to resolve them in).
  subroutine hfc_onnx_load_bytes(model, bytes, config, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer(int8), intent(in) :: bytes(:)
    type(hfc_onnx_config_t), intent(in) :: config
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(kind=c_char) :: err(MSG_LEN), name(NAME_LEN), key(NAME_LEN), value(VALUE_LEN)
    integer(c_int) :: inputs, outputs, entries, dtype, rank
    integer(c_int64_t) :: dims(HFC_ONNX_MAX_RANK)
    integer :: i

    call hfc_onnx_free(model)
    call hfc_clear(stat, errmsg)
    if (config%threads < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: threads must be >= 1, got ' // hfc_str(config%threads))
      return
    end if
    call hfc_onnx_open_runtime(config%library, stat, errmsg)
    if (stat /= HFC_OK) return
    if (c_create(bytes, size(bytes, kind=c_int64_t), config%threads, config%device, model%handle, err, MSG_LEN) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
      return
    end if
    call c_counts(model%handle, inputs, outputs, entries, model%serial)
    allocate(model%inputs(inputs), model%outputs(outputs), model%metadata(entries), model%scratch(inputs + outputs))
    do i = 1, inputs
      call read_argument(0, i, model%inputs(i))
    end do
    do i = 1, outputs
      call read_argument(1, i, model%outputs(i))
    end do
    do i = 1, entries
      call c_entry(model%handle, i - 1, key, NAME_LEN, value, VALUE_LEN)
      model%metadata(i)%key = from_c(key)
      model%metadata(i)%value = from_c(value)
    end do
    if (stat /= HFC_OK) call hfc_onnx_free(model)

  contains

    subroutine read_argument(output, index, arg)
      integer, intent(in) :: output, index
      type(hfc_onnx_arg_t), intent(out) :: arg
      dims = 0
      call c_argument(model%handle, output, index - 1, name, NAME_LEN, dtype, rank, dims)
      arg%name = from_c(name)
      arg%dtype = dtype
      arg%rank = rank
      arg%dims = dims
      if (dtype /= HFC_ONNX_FLOAT32 .and. dtype /= HFC_ONNX_FLOAT64 .and. stat == HFC_OK) &
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "onnx: '" // arg%name // "' has ONNX element type " // &
          hfc_str(int(dtype)) // '; only float (1) and double (11) are supported')
    end subroutine read_argument

  end subroutine hfc_onnx_load_bytes

  !> Whether the model has the metadata key.
  logical function hfc_onnx_has_metadata(model, key)
    type(hfc_onnx_model_t), intent(in) :: model
    character(len=*), intent(in) :: key
    integer :: i
    hfc_onnx_has_metadata = .false.
    if (.not. allocated(model%metadata)) return
    do i = 1, size(model%metadata)
      if (model%metadata(i)%key == key) then
        hfc_onnx_has_metadata = .true.
        return
      end if
    end do
  end function hfc_onnx_has_metadata

  !> A metadata value (read at load); a missing key is an error naming the key.
  subroutine hfc_onnx_metadata(model, key, value, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    character(len=*), intent(in) :: key
    character(len=*), intent(out) :: value
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: i

    value = ''
    call hfc_clear(stat, errmsg)
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no model loaded')
      return
    end if
    do i = 1, size(model%metadata)
      if (model%metadata(i)%key == key) then
        value = model%metadata(i)%value
        return
      end if
    end do
    call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "onnx: the model lacks the metadata '" // key // &
                       "'; export it with `hfc export`")
  end subroutine hfc_onnx_metadata

  !> Whether the model object holds a session.
  logical function hfc_onnx_loaded(model)
    type(hfc_onnx_model_t), intent(in) :: model
    hfc_onnx_loaded = c_associated(model%handle)
  end function hfc_onnx_loaded

  !> Run the model: one tensor per graph input and one per output asked for (the first
  !> size(outputs) >= 1 of the graph's outputs), in the graph's order; the rest are not
  !> copied out (ONNX Runtime still computes what the asked ones need). Ranks and the graph's fixed dimensions are checked first (a mismatch names the
  !> argument, the dimension, what was found and what the graph has); ONNX Runtime checks
  !> the rest (symbolic dimensions that must agree, the output shapes it computes).
  subroutine hfc_onnx_run(model, inputs, outputs, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout), target :: model
    type(hfc_tensor_t), intent(in) :: inputs(:), outputs(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(c_ptr) :: data(size(inputs) + size(outputs))
    integer(c_int64_t) :: shapes(HFC_ONNX_MAX_RANK, size(inputs) + size(outputs))
    character(kind=c_char) :: err(MSG_LEN)
    real(wp), pointer :: x(:)
    integer :: i, nin

    call hfc_clear(stat, errmsg)
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no model loaded')
      return
    end if
    nin = size(model%inputs)
    if (size(inputs) /= nin .or. size(outputs) < 1 .or. size(outputs) > size(model%outputs)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: the model has ' // hfc_str(nin) // ' inputs and ' // &
        hfc_str(size(model%outputs)) // ' outputs, the call gives ' // hfc_str(size(inputs)) // ' inputs and ' // &
        hfc_str(size(outputs)) // ' outputs (1 to all of them)')
      return
    end if
    do i = 1, nin
      call check_shape('input', model%inputs(i), inputs(i))
    end do
    do i = 1, size(outputs)
      call check_shape('output', model%outputs(i), outputs(i))
    end do
    if (stat /= HFC_OK) return
    do i = 1, nin
      call bind(model%inputs(i), inputs(i), i)
    end do
    do i = 1, size(outputs)
      call bind(model%outputs(i), outputs(i), nin + i)
    end do
    if (c_run(model%handle, int(size(outputs), c_int), data, shapes, err, MSG_LEN) /= 0) then
      call hfc_set_error(stat, errmsg, HFC_ERR_PROVIDER, from_c(err))
      return
    end if
    do i = 1, size(outputs)
      if (model%outputs(i)%dtype == HFC_ONNX_FLOAT32) then
        call c_f_pointer(outputs(i)%data, x, [outputs(i)%count])
        call widen(model%scratch(nin + i)%x, x)
      end if
    end do

  contains

    !> Argument `slot` (inputs first): the caller's array, or its float32 copy.
    subroutine bind(arg, tensor, slot)
      type(hfc_onnx_arg_t), intent(in) :: arg
      type(hfc_tensor_t), intent(in) :: tensor
      integer, intent(in) :: slot
      shapes(:, slot) = tensor%shape
      if (arg%dtype == HFC_ONNX_FLOAT64) then
        data(slot) = tensor%data
        return
      end if
      if (allocated(model%scratch(slot)%x)) then
        if (size(model%scratch(slot)%x, kind=int64) /= tensor%count) deallocate(model%scratch(slot)%x)
      end if
      if (.not. allocated(model%scratch(slot)%x)) allocate(model%scratch(slot)%x(tensor%count))
      if (slot <= nin) then
        call c_f_pointer(tensor%data, x, [tensor%count])
        call narrow(x, model%scratch(slot)%x)           ! the one cast between the host's float64 and the model
      end if
      data(slot) = c_loc(model%scratch(slot)%x)
    end subroutine bind

    subroutine check_shape(kind, arg, tensor)
      character(len=*), intent(in) :: kind
      type(hfc_onnx_arg_t), intent(in) :: arg
      type(hfc_tensor_t), intent(in) :: tensor
      integer :: d
      if (stat /= HFC_OK) return
      if (.not. c_associated(tensor%data)) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no usable array for ' // kind // " '" // &
          arg%name // "' (empty, strided, or of more than 8 dimensions; give a contiguous array)")
      else if (product(tensor%shape(1:tensor%rank)) /= tensor%count) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: the array given for ' // kind // " '" // arg%name // &
          "' has " // hfc_str(tensor%count) // ' values, its shape ' // shape_text(tensor%shape(1:tensor%rank)) // &
          ' needs ' // hfc_str(product(tensor%shape(1:tensor%rank))))
      else if (tensor%rank /= arg%rank) then
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: ' // kind // " '" // arg%name // "' has rank " // &
          hfc_str(arg%rank) // ' in the graph, the array given has rank ' // hfc_str(tensor%rank) // ' (' // &
          shape_text(tensor%shape(1:tensor%rank)) // ')')
      else
        do d = 1, arg%rank
          if (arg%dims(d) >= 0 .and. arg%dims(d) /= tensor%shape(d)) then
            call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: ' // kind // " '" // arg%name // &
              "' has shape " // shape_text(arg%dims(1:arg%rank)) // ' in the graph, the array given ' // &
              shape_text(tensor%shape(1:tensor%rank)) // ' (ONNX order)')
            return
          end if
        end do
      end if
    end subroutine check_shape

  end subroutine hfc_onnx_run

  !> a = real(b) as float32, in one pass (separate dummies: no aliasing, no temporary).
  subroutine narrow(b, a)
    real(wp), intent(in) :: b(:)
    real(real32), intent(out) :: a(:)
    a = real(b, real32)
  end subroutine narrow

  !> b = a widened to float64 (exact), in one pass.
  subroutine widen(a, b)
    real(real32), intent(in) :: a(:)
    real(wp), intent(out) :: b(:)
    b = real(a, wp)
  end subroutine widen

  !> '[2, 1, ?]' for dims 2, 1, -1.
  function shape_text(dims) result(text)
    integer(int64), intent(in) :: dims(:)
    character(len=:), allocatable :: text
    integer :: d
    text = '['
    do d = 1, size(dims)
      if (dims(d) < 0) then
        text = text // '?'
      else
        text = text // hfc_str(dims(d))
      end if
      if (d < size(dims)) text = text // ', '
    end do
    text = text // ']'
  end function shape_text

  !> The tensor of an array at `data` with Fortran shape `fortran_shape`; a null `data`
  !> (a strided array) or more than HFC_ONNX_MAX_RANK dims is refused by hfc_onnx_run.
  function make_tensor(data, fortran_shape, dims) result(tensor)
    type(c_ptr), intent(in) :: data
    integer, intent(in) :: fortran_shape(:)
    integer, intent(in), optional :: dims(:)
    type(hfc_tensor_t) :: tensor
    integer :: d
    tensor%data = data
    tensor%count = product(int(fortran_shape, int64))
    if (present(dims)) then
      if (size(dims) > HFC_ONNX_MAX_RANK) then
        tensor%data = c_null_ptr
        return
      end if
      tensor%rank = size(dims)
      tensor%shape(1:size(dims)) = dims
    else
      tensor%rank = size(fortran_shape)
      tensor%shape(1:tensor%rank) = [(int(fortran_shape(tensor%rank + 1 - d), int64), d = 1, tensor%rank)]
    end if
  end function make_tensor

  !> hfc_tensor(x [, dims]): the float64 array x (any rank, `target`, alive and unmoved until
  !> the run) as a tensor of ONNX shape `dims` (default: x's dimensions reversed); dims must
  !> describe as many elements as x has. The tensor views x's own memory, so x must be
  !> contiguous: a strided section is refused by hfc_onnx_run (copy it first). The dummy is not `contiguous` (a compiler would
  !> pass a temporary copy of a strided actual, and the tensor would point at freed memory):
  !> a strided x gives a null address, which hfc_onnx_run refuses. An output array is written
  !> through that address, which the compiler does not see: read it in another procedure
  !> than the one that set it before the run, or declare it `volatile` (gfortran -O2 kept a
  !> zero it had just stored; the library's providers write into their callers' dummies).
  function hfc_tensor(x, dims) result(tensor)
    real(wp), intent(in), target :: x(..)
    integer, intent(in), optional :: dims(:)
    type(hfc_tensor_t) :: tensor
    type(c_ptr) :: p
    p = c_null_ptr
    if (is_contiguous(x) .and. size(x) > 0) p = c_loc(x)
    tensor = make_tensor(p, shape(x), dims)
  end function hfc_tensor

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
    model%serial = 0
    if (allocated(model%inputs)) deallocate(model%inputs)
    if (allocated(model%outputs)) deallocate(model%outputs)
    if (allocated(model%metadata)) deallocate(model%metadata)
    if (allocated(model%scratch)) deallocate(model%scratch)
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
