!> Neural-IVP solutions in a finite-volume host: a Neural-IVP evaluator is an ONNX model
!> u(x, theta) (inputs x [npoints, dims] and theta [parameters], output u [npoints,
!> components]; exported by `hfc neural-ivp`) whose parameters theta(t) come from the
!> solution's trajectory file. This module reads the evaluator's metadata and turns one
!> theta into the cell averages of a grid by tensor-product Gauss-Legendre quadrature:
!> what an FV host takes as its initial state or compares with as a reference.
module hfc_ivp_evaluator
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, hfc_set_error, hfc_clear, hfc_str
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_metadata, hfc_onnx_run, hfc_tensor, hfc_onnx_loaded
  use hfc_quadrature, only: hfc_gauss_legendre, HFC_GAUSS_MAX
  implicit none
  private

  character(len=*), parameter, public :: HFC_IVP_KIND = 'neural-ivp-evaluator'   !< metadata model_kind
  integer, parameter :: MAX_POINTS = 2**20        !< quadrature points per ONNX run (bounds the scratch memory)

  !> What a host needs of an evaluator: its space dimensions, the length of theta, and the
  !> components of u.
  type, public :: hfc_ivp_evaluator_t
    integer :: dims = 0
    integer :: parameters = 0
    integer :: components = 0
  end type hfc_ivp_evaluator_t

  public :: hfc_ivp_read, hfc_ivp_cell_averages

contains

  !> The evaluator's description from a loaded model's metadata (model_kind, space_dimensions,
  !> parameters, components); a flux model or a foreign one is refused by name.
  subroutine hfc_ivp_read(model, evaluator, stat, errmsg)
    type(hfc_onnx_model_t), intent(in) :: model
    type(hfc_ivp_evaluator_t), intent(out) :: evaluator
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    character(len=256) :: value

    call hfc_onnx_metadata(model, 'model_kind', value, stat, errmsg)
    if (stat /= HFC_OK) return
    if (value /= HFC_IVP_KIND) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, "onnx: the model is a '" // trim(value) // &
        "' model, not a Neural-IVP evaluator; export one with `hfc neural-ivp`")
      return
    end if
    call positive('space_dimensions', evaluator%dims, 3)
    call positive('parameters', evaluator%parameters, huge(1))
    call positive('components', evaluator%components, huge(1))
    if (stat == HFC_OK .and. (size(model%inputs) /= 2 .or. size(model%outputs) /= 1)) &
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: a Neural-IVP evaluator has the inputs x, theta ' // &
        'and the output u; this model has ' // hfc_str(size(model%inputs)) // ' inputs and ' // &
        hfc_str(size(model%outputs)) // ' outputs')

  contains

    subroutine positive(key, k, largest)
      character(len=*), intent(in) :: key
      integer, intent(out) :: k
      integer, intent(in) :: largest
      integer :: ios
      k = 0
      if (stat /= HFC_OK) return
      call hfc_onnx_metadata(model, key, value, stat, errmsg)
      if (stat /= HFC_OK) return
      read(value, *, iostat=ios) k
      if (ios /= 0 .or. verify(trim(adjustl(value)), '0123456789') /= 0 .or. k < 1 .or. k > largest) &
        call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'onnx: metadata ' // key // " = '" // trim(value) // &
          "' is not an integer in [1, " // hfc_str(largest) // ']')
    end subroutine positive

  end subroutine hfc_ivp_read

  !> averages(c, i, j) = the average of component c of u(., theta) over cell (i, j) of the
  !> grid whose first cell's lower corner is `lower` and whose cells are width(1) x width(2)
  !> (1D: j = 1, width(2) unused), by q x q Gauss-Legendre points per cell (q = order; exact
  !> for polynomials of degree 2q - 1 per axis). The points go to ONNX Runtime in runs of at
  !> most MAX_POINTS.
  subroutine hfc_ivp_cell_averages(model, evaluator, theta, lower, width, order, averages, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    type(hfc_ivp_evaluator_t), intent(in) :: evaluator
    real(wp), intent(in), target :: theta(:)
    real(wp), intent(in) :: lower(:), width(:)
    integer, intent(in) :: order
    real(wp), intent(out) :: averages(:, :, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp) :: nodes(HFC_GAUSS_MAX), weights(HFC_GAUSS_MAX)
    real(wp), allocatable, target :: x(:, :), u(:, :)
    real(wp), allocatable :: w(:)                       ! each point's weight (summing to 4 per cell)
    integer, allocatable :: ci(:), cj(:)                ! each point's cell
    integer :: d, nx, ny, per_cell, cells_per_run, first, last, cell, i, j, a, b, k, qy

    call hfc_clear(stat, errmsg)
    averages = 0.0_wp
    d = evaluator%dims
    nx = size(averages, 2)
    ny = size(averages, 3)
    if (.not. hfc_onnx_loaded(model) .or. d < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: no evaluator loaded')
    else if (d > 2) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: cell averages are for 1D and 2D grids; the ' // &
        'evaluator is ' // hfc_str(d) // 'D')
    else if (size(theta) /= evaluator%parameters) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: theta has ' // hfc_str(size(theta)) // &
        ' values, the evaluator takes ' // hfc_str(evaluator%parameters))
    else if (size(averages, 1) /= evaluator%components .or. (d == 1 .and. ny /= 1) .or. nx < 1 .or. ny < 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: averages must be (' // &
        hfc_str(evaluator%components) // ', nx, ' // merge('1 ', 'ny', d == 1) // ')')
    else if (size(lower) < d .or. size(width) < d) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: lower and width need ' // hfc_str(d) // ' values')
    else if (any(.not. width(:d) > 0.0_wp) .or. any(.not. abs(width(:d)) <= huge(1.0_wp)) .or. &
             any(.not. abs(lower(:d)) <= huge(1.0_wp))) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: the cell widths must be positive and finite ' // &
        'and the lower corner finite')
    else if (order < 1 .or. order > HFC_GAUSS_MAX) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'neural-ivp: the quadrature order must be in [1, ' // &
        hfc_str(HFC_GAUSS_MAX) // '], got ' // hfc_str(order))
    end if
    if (stat /= HFC_OK) return

    call hfc_gauss_legendre(order, nodes(:order), weights(:order))
    qy = merge(order, 1, d == 2)
    per_cell = order * qy
    cells_per_run = max(1, min(nx * ny, MAX_POINTS / per_cell))
    do first = 1, nx * ny, cells_per_run                 ! cells numbered x fastest
      last = min(nx * ny, first + cells_per_run - 1)
      if (allocated(x)) then
        if (size(x, 2) /= (last - first + 1) * per_cell) deallocate(x, u, w, ci, cj)
      end if
      if (.not. allocated(x)) then
        k = (last - first + 1) * per_cell
        allocate(x(d, k), u(evaluator%components, k), w(k), ci(k), cj(k))
      end if
      k = 0
      do cell = first, last
        i = mod(cell - 1, nx) + 1
        j = (cell - 1) / nx + 1
        do b = 1, qy
          do a = 1, order
            k = k + 1
            ci(k) = i
            cj(k) = j
            x(1, k) = lower(1) + width(1) * (i - 0.5_wp + 0.5_wp * nodes(a))
            w(k) = weights(a) * 2.0_wp
            if (d == 2) then
              x(2, k) = lower(2) + width(2) * (j - 0.5_wp + 0.5_wp * nodes(b))
              w(k) = weights(a) * weights(b)
            end if
          end do
        end do
      end do
      call hfc_onnx_run(model, [hfc_tensor(x), hfc_tensor(theta)], [hfc_tensor(u)], stat, errmsg)
      if (stat /= HFC_OK) return
      do k = 1, size(w)
        averages(:, ci(k), cj(k)) = averages(:, ci(k), cj(k)) + w(k) * u(:, k)
      end do
    end do
    averages = averages / 4.0_wp                          ! the weights sum to 2 per axis

  end subroutine hfc_ivp_cell_averages

end module hfc_ivp_evaluator
