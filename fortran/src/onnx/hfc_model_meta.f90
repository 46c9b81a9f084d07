!> The hfc metadata of an exported flux model (the schema of coupler/schema.py, written by
!> `hfc export`), read once from a loaded model into a typed record and checked against the
!> graph; and the check of a model against a host's equation and grid, usable on its own
!> ("is this model valid for my grid?") before any provider is built.
module hfc_model_meta
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_metadata, hfc_onnx_has_metadata, hfc_onnx_loaded, HFC_ONNX_FLOAT32, &
    HFC_ONNX_FLOAT64
  implicit none
  private

  !> Schema versions this code reads.
  character(len=*), parameter :: SCHEMA_VERSIONS = '1'
  integer, parameter, public :: HFC_META_KEYS = 10
  !> The keys every hfc model carries (coupler.schema.REQUIRED, held equal by the tests).
  character(len=20), parameter, public :: HFC_META_REQUIRED(HFC_META_KEYS) = [character(len=20) :: &
    'hfc_schema_version', 'equation', 'space_dimensions', 'halo', 'dx', 'length', 'viscosity', 'input_name', &
    'output_name', 'dtype']

  !> The hfc metadata of one model, typed (coupler.schema.ModelMetadata in Python).
  type, public :: hfc_model_meta_t
    character(len=16) :: schema_version = ''
    character(len=16) :: equation = ''
    integer :: space_dimensions = 0
    integer :: halo = -1                 !< g: halo cells per side the model reads
    real(wp) :: dx = 0.0_wp              !< grid spacing it was trained for (along x)
    real(wp) :: dy = 0.0_wp              !< along y (2D models: the key 'dy')
    real(wp) :: length = 0.0_wp          !< its training domain
    real(wp) :: viscosity = 0.0_wp
    character(len=256) :: input_names = ''    !< comma-separated, in graph order
    character(len=256) :: output_names = ''
    character(len=16) :: dtype = ''
    !> Optional: the host method the model was trained through ('euler', 'ssprk3', 'imex';
    !> '' for a model of the time derivative, any explicit method) and the largest Courant
    !> number it was trained for (HFC_CLASSICAL_COURANT when the metadata has none).
    character(len=16) :: time_stepping = ''
    real(wp) :: courant = 0.0_wp
  end type hfc_model_meta_t

  !> The Courant number a learned model may run at unless its metadata `courant` says more
  !> (coupler.schema.CLASSICAL_COURANT).
  real(wp), parameter, public :: HFC_CLASSICAL_COURANT = 1.0_wp

  public :: hfc_meta_read, hfc_meta_check_equation, hfc_meta_check_grid, hfc_meta_check_time, hfc_model_check

contains

  !> Read and check the metadata of a loaded model: names and dtype against the graph, halo
  !> a width >= 0, schema version supported, numbers that parse.
  subroutine hfc_meta_read(model, meta, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    type(hfc_model_meta_t), intent(out) :: meta
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=256) :: value
    integer :: i

    call hfc_clear(stat, errmsg)
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: no model loaded')
      return
    end if
    call hfc_onnx_metadata(model, 'input_name', meta%input_names, stat, errmsg)
    if (stat /= HFC_OK) return
    if (meta%input_names /= joined(0)) then
      call fail("onnx: the input is named '" // joined(0) // "', the metadata says '" // trim(meta%input_names) // "'")
      return
    end if
    call hfc_onnx_metadata(model, 'output_name', meta%output_names, stat, errmsg)
    if (stat /= HFC_OK) return
    if (meta%output_names /= joined(1)) then
      call fail("onnx: the output is named '" // joined(1) // "', the metadata says '" // trim(meta%output_names) // "'")
      return
    end if
    call hfc_onnx_metadata(model, 'dtype', meta%dtype, stat, errmsg)
    if (stat /= HFC_OK) return
    do i = 1, size(model%inputs)
      if (.not. (meta%dtype == 'float32' .and. model%inputs(i)%dtype == HFC_ONNX_FLOAT32) .and. &
          .not. (meta%dtype == 'float64' .and. model%inputs(i)%dtype == HFC_ONNX_FLOAT64)) then
        call fail("onnx: metadata dtype '" // trim(meta%dtype) // "' differs from the input's element type")
        return
      end if
    end do
    call hfc_onnx_metadata(model, 'halo', value, stat, errmsg)
    if (stat /= HFC_OK) return
    if (.not. integer_of(value, meta%halo) .or. meta%halo < 0) then
      call fail("onnx: metadata halo '" // trim(value) // "' is not a width >= 0")
      return
    end if
    call hfc_onnx_metadata(model, 'hfc_schema_version', meta%schema_version, stat, errmsg)
    if (stat /= HFC_OK) return
    if (index(SCHEMA_VERSIONS, trim(meta%schema_version)) == 0 .or. len_trim(meta%schema_version) == 0) then
      call fail("onnx: metadata schema version '" // trim(meta%schema_version) // "' is not supported (expected " // &
                SCHEMA_VERSIONS // ')')
      return
    end if
    call hfc_onnx_metadata(model, 'equation', meta%equation, stat, errmsg)
    if (stat /= HFC_OK) return
    call hfc_onnx_metadata(model, 'space_dimensions', value, stat, errmsg)
    if (stat /= HFC_OK) return
    if (.not. integer_of(value, meta%space_dimensions) .or. meta%space_dimensions < 1) then
      call fail("onnx: metadata space_dimensions '" // trim(value) // "' is not a positive integer")
      return
    end if
    call number('dx', meta%dx)
    if (stat == HFC_OK) call number('length', meta%length)
    if (stat == HFC_OK) call number('viscosity', meta%viscosity)
    if (stat == HFC_OK .and. meta%space_dimensions == 2) call number('dy', meta%dy)
    meta%courant = HFC_CLASSICAL_COURANT
    if (stat == HFC_OK .and. hfc_onnx_has_metadata(model, 'courant')) call number('courant', meta%courant)
    if (stat == HFC_OK .and. hfc_onnx_has_metadata(model, 'time_stepping')) &
      call hfc_onnx_metadata(model, 'time_stepping', meta%time_stepping, stat, errmsg)

  contains

    !> The names of the graph's inputs (0) or outputs (1), comma-separated.
    function joined(output) result(text)
      integer, intent(in) :: output
      character(len=:), allocatable :: text
      integer :: k
      text = ''
      if (output == 0) then
        do k = 1, size(model%inputs)
          text = text // merge(',', ' ', k > 1) // model%inputs(k)%name
        end do
      else
        do k = 1, size(model%outputs)
          text = text // merge(',', ' ', k > 1) // model%outputs(k)%name
        end do
      end if
      text = trim(adjustl(text))
    end function joined

    subroutine number(key, x)
      character(len=*), intent(in) :: key
      real(wp), intent(out) :: x
      character(len=8) :: rest
      integer :: ios
      x = 0.0_wp
      call hfc_onnx_metadata(model, key, value, stat, errmsg)
      if (stat /= HFC_OK) return
      read(value, *, iostat=ios) x, rest        ! a second item means text after the number
      if (ios == 0 .or. .not. is_iostat_end(ios) .or. .not. abs(x) <= huge(x)) &
        call fail('onnx: metadata ' // key // " = '" // trim(value) // "' is not a finite number")
    end subroutine number

    !> The whole of text is one integer.
    logical function integer_of(text, k)
      character(len=*), intent(in) :: text
      integer, intent(out) :: k
      character(len=8) :: rest
      integer :: ios
      k = 0
      read(text, *, iostat=ios) k, rest
      integer_of = is_iostat_end(ios) .and. verify(trim(adjustl(text)), '+-0123456789') == 0
    end function integer_of

    subroutine fail(message)
      character(len=*), intent(in) :: message
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, message)
    end subroutine fail

  end subroutine hfc_meta_read

  !> The model was trained for this equation (and its viscosity, relative 1e-12).
  subroutine hfc_meta_check_equation(meta, eq, stat, errmsg)
    type(hfc_model_meta_t), intent(in) :: meta
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (meta%equation /= eq%name) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata equation = ' // trim(meta%equation) // &
        ', the host solves ' // trim(eq%name))
    else if (.not. abs(meta%viscosity - eq%viscosity) <= 1.0e-12_wp * abs(eq%viscosity)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata viscosity = ' // hfc_str(meta%viscosity) // &
        ', the host has ' // hfc_str(eq%viscosity))
    end if
  end subroutine hfc_meta_check_equation

  !> The model was trained for this grid: its space dimensions and spacing (relative 1e-9).
  subroutine hfc_meta_check_grid(meta, grid, stat, errmsg)
    type(hfc_model_meta_t), intent(in) :: meta
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (meta%space_dimensions /= grid%ndim) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata space_dimensions = ' // &
        hfc_str(meta%space_dimensions) // ', the host grid has ' // hfc_str(grid%ndim))
    else if (.not. abs(meta%dx - grid%dx(1)) <= 1.0e-9_wp * grid%dx(1)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata dx = ' // hfc_str(meta%dx) // &
        ', the host has dx = ' // hfc_str(grid%dx(1)) // '; use a grid with the model''s spacing')
    else if (grid%ndim == 2) then
      if (.not. abs(meta%dy - grid%dx(2)) <= 1.0e-9_wp * grid%dx(2)) call hfc_set_error(stat, errmsg, &
        HFC_ERR_ARGUMENT, 'model metadata dy = ' // hfc_str(meta%dy) // ', the host has dy = ' // &
        hfc_str(grid%dx(2)) // '; use a grid with the model''s spacing')
    end if
  end subroutine hfc_meta_check_grid

  !> The host's explicit time stepping suits the model: the method it was trained through
  !> (if it declares one; `method` is 'euler' or 'ssprk3') and a Courant number `cfl` (0 for
  !> a fixed step: not checked) no larger than the model's.
  subroutine hfc_meta_check_time(meta, method, cfl, stat, errmsg)
    type(hfc_model_meta_t), intent(in) :: meta
    character(len=*), intent(in) :: method
    real(wp), intent(in) :: cfl
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (len_trim(meta%time_stepping) > 0 .and. meta%time_stepping /= method) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata time_stepping = ' // &
        trim(meta%time_stepping) // ', the host steps with ' // method // '; run it with ' // trim(meta%time_stepping))
    else if (cfl > meta%courant * (1.0_wp + 1.0e-12_wp)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'model metadata courant = ' // hfc_str(meta%courant) // &
        ', the host asks for cfl = ' // hfc_str(cfl) // '; use a Courant number up to the model''s')
    end if
  end subroutine hfc_meta_check_time

  !> Is this loaded model valid for a host solving eq on grid? Reads the metadata and
  !> checks equation, viscosity, dimensions and spacing; builds nothing.
  subroutine hfc_model_check(model, eq, grid, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    type(hfc_equation_t), intent(in) :: eq
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    type(hfc_model_meta_t) :: meta
    call hfc_meta_read(model, meta, stat, errmsg)
    if (stat == HFC_OK) call hfc_meta_check_equation(meta, eq, stat, errmsg)
    if (stat == HFC_OK) call hfc_meta_check_grid(meta, grid, stat, errmsg)
  end subroutine hfc_model_check

end module hfc_model_meta
