!> The learned flux provider of the Fortran host for 1D models: face fluxes from an
!> exported ONNX model (one input u [batch, 1, n + 2g] of cell averages with g halo cells,
!> one output flux [batch, 1, n + 1]) run by ONNX Runtime in this process (module hfc_onnx),
!> no Python involved.
!>
!> The provider keeps a pointer to the caller's model, which must outlive it; a model
!> object freed or loaded again since the provider was made is refused (the provider keeps
!> the load's serial number), never silently used. On a block with a wider halo than the
!> model's g it hands the model the g cells next to the interior (an offset, no copy): every
!> block with halo >= g gives the same fluxes.
module hfc_learned
  use, intrinsic :: iso_fortran_env, only: int64
  use hfc_kinds, only: wp, HFC_OK, HFC_ERR_ARGUMENT, HFC_ERR_NONFINITE, hfc_set_error, hfc_clear, hfc_str
  use hfc_grid, only: hfc_grid_t
  use hfc_equation, only: hfc_equation_t
  use hfc_provider, only: hfc_flux_provider, hfc_aux_t
  use hfc_onnx, only: hfc_onnx_model_t, hfc_onnx_run, hfc_onnx_loaded, hfc_tensor
  use hfc_model_meta, only: hfc_model_meta_t, hfc_meta_read, hfc_meta_check_equation, hfc_meta_check_grid
  implicit none
  private

  !> The learned provider of a loaded 1D model; make it with hfc_learned_init.
  type, extends(hfc_flux_provider), public :: hfc_learned_flux
    type(hfc_onnx_model_t), pointer :: model => null()
    integer(int64) :: serial = 0            !< the model's load this provider was made for
    type(hfc_model_meta_t) :: meta
  contains
    procedure :: compute => learned_compute
    procedure :: halo_width => learned_halo_width
    procedure :: name => learned_name
    procedure :: check_grid => learned_check_grid
  end type hfc_learned_flux

  public :: hfc_learned_init, hfc_learned_batch

contains

  !> Bind a loaded model to a host solving eq, after checking its metadata against the
  !> graph (names, dtype, halo), its signature (one rank-3 input and output), and that it
  !> was trained for this equation and viscosity. The grid (dimensions, dx) is checked when
  !> a host or coupler is created with the provider (check_grid).
  subroutine hfc_learned_init(p, model, eq, stat, errmsg)
    type(hfc_learned_flux), intent(out) :: p
    type(hfc_onnx_model_t), intent(in), target :: model
    type(hfc_equation_t), intent(in) :: eq
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg

    call hfc_clear(stat, errmsg)
    if (.not. hfc_onnx_loaded(model)) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: no model loaded')
      return
    end if
    call hfc_meta_read(model, p%meta, stat, errmsg)
    if (stat /= HFC_OK) return
    if (size(model%inputs) /= 1 .or. size(model%outputs) /= 1) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: a 1D model has one input and one output, ' &
        // 'this one ' // hfc_str(size(model%inputs)) // ' and ' // hfc_str(size(model%outputs)))
      return
    end if
    if (model%inputs(1)%rank /= 3 .or. model%outputs(1)%rank /= 3) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: expected input and output of rank 3 ' // &
        '([batch, 1, cells]), found ' // hfc_str(model%inputs(1)%rank) // ' and ' // hfc_str(model%outputs(1)%rank))
      return
    end if
    call hfc_meta_check_equation(p%meta, eq, stat, errmsg)
    if (stat /= HFC_OK) then
      errmsg = 'learned provider: ' // errmsg
      return
    end if
    p%model => model
    p%serial = model%serial
  end subroutine hfc_learned_init

  !> The provider's model is still the one it was made for.
  logical function bound(self, stat, errmsg)
    class(hfc_learned_flux), intent(in) :: self
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call hfc_clear(stat, errmsg)
    bound = associated(self%model)
    if (bound) bound = self%model%serial == self%serial .and. self%serial > 0
    if (.not. bound) call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: not initialised, ' // &
      'or its model was freed or loaded again since (make the provider anew with hfc_learned_init)')
  end function bound

  subroutine learned_check_grid(self, grid, stat, errmsg)
    class(hfc_learned_flux), intent(in) :: self
    type(hfc_grid_t), intent(in) :: grid
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    if (.not. bound(self, stat, errmsg)) return
    call hfc_meta_check_grid(self%meta, grid, stat, errmsg)
    if (stat /= HFC_OK) errmsg = 'learned provider: ' // errmsg
  end subroutine learned_check_grid

  pure integer function learned_halo_width(self) result(g)
    class(hfc_learned_flux), intent(in) :: self
    g = self%meta%halo
  end function learned_halo_width

  pure function learned_name(self) result(text)
    class(hfc_learned_flux), intent(in) :: self
    character(len=:), allocatable :: text
    text = 'learned provider'
  end function learned_name

  subroutine learned_compute(self, grid, u, aux, t, dt, flux, stat, errmsg)
    class(hfc_learned_flux), intent(inout) :: self
    type(hfc_grid_t), intent(in) :: grid
    real(wp), intent(in), contiguous, target :: u(:)
    type(hfc_aux_t), intent(in) :: aux(:)
    real(wp), intent(in) :: t, dt
    real(wp), intent(inout), contiguous, target :: flux(:)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    real(wp), pointer, contiguous :: u2(:, :), flux2(:, :)
    integer :: n, g, first

    if (.not. bound(self, stat, errmsg)) return
    n = grid%n(1)
    g = self%meta%halo
    first = grid%g - g          ! cells the block's halo holds beyond the model's
    u2(1:n + 2 * g, 1:1) => u(first + 1:first + n + 2 * g)
    flux2(1:n + 1, 1:1) => flux
    call run_batch(self%model, g, u2, flux2, stat, errmsg)   ! face_fluxes checks the result
  end subroutine learned_compute

  !> Face fluxes flux(n + 1, nbatch) of halo-filled states u(n + 2g, nbatch) in one run of
  !> the model (g its halo): the tensors [nbatch, 1, n + 2g] and [nbatch, 1, n + 1].
  !> Non-finite fluxes fail with HFC_ERR_NONFINITE (the fluxes are returned as computed).
  subroutine hfc_learned_batch(model, g, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer, intent(in) :: g
    real(wp), intent(in), contiguous, target :: u(:, :)
    real(wp), intent(inout), contiguous, target :: flux(:, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    call run_batch(model, g, u, flux, stat, errmsg)
    if (stat == HFC_OK .and. .not. all(abs(flux) <= huge(1.0_wp))) call hfc_set_error(stat, errmsg, &
      HFC_ERR_NONFINITE, 'learned provider returned non-finite fluxes')
  end subroutine hfc_learned_batch

  !> hfc_learned_batch without the finiteness check.
  subroutine run_batch(model, g, u, flux, stat, errmsg)
    type(hfc_onnx_model_t), intent(inout) :: model
    integer, intent(in) :: g
    real(wp), intent(in), contiguous, target :: u(:, :)
    real(wp), intent(inout), contiguous, target :: flux(:, :)
    integer, intent(out) :: stat
    character(len=*), intent(inout) :: errmsg
    integer :: cells, faces, batch

    call hfc_clear(stat, errmsg)
    cells = size(u, 1)
    faces = size(flux, 1)
    batch = size(u, 2)
    if (faces /= cells - 2 * g + 1 .or. faces < 2 .or. size(flux, 2) /= batch) then
      call hfc_set_error(stat, errmsg, HFC_ERR_ARGUMENT, 'learned provider: need u(n + 2g, nbatch) and ' // &
        'flux(n + 1, nbatch) with n >= 1 and g = ' // hfc_str(g) // '; got u(' // hfc_str(cells) // ', ' // &
        hfc_str(batch) // ') and flux(' // hfc_str(faces) // ', ' // hfc_str(size(flux, 2)) // ')')
      return
    end if
    call hfc_onnx_run(model, [hfc_tensor(u, [batch, 1, cells])], [hfc_tensor(flux, [batch, 1, faces])], stat, errmsg)
  end subroutine run_batch

end module hfc_learned
